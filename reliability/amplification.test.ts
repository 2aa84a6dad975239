import { describe, expect, inject, onTestFinished } from 'vitest';
import {
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../dev/meta-payloads';
import { startPooler } from '../dev/pooler';
import { agentTurnJob } from '../functions/jobs/agent-turn';
import { graphSends, providerSeconds, replyWith, scriptedModels } from '../test/agent';
import type { TenantFixture } from '../test/fixtures';
import { createHarness } from '../test/harness';
import { it } from '../test/it';
import { customerPhone, postWebhook, waNumber } from '../test/meta-webhooks';
import { jobStats, secondsSince, summary, Tally } from './report';
import { captureLogs } from './secrets';
import { size } from './sizes';

/**
 * Issue 15, amplification: what one customer or one body can make the system do.
 * - one signed body of `amplificationBatch` messages of one customer (Meta batches up to 1,000);
 * - `amplificationSameSecond` webhooks of one customer, all stamped with the same second, at once;
 * - one body naming `amplificationUnknownAccounts` accounts nobody has.
 * The app reaches the database through the local pooler (dev/pooler.ts), as `npm start` runs it
 * and as Hyperdrive stands in front of Postgres in production: each request opens its own client
 * connection, the pooler serves them from a bounded set of server connections.
 * Holds: each a 200 (its time is on the summary line, not asserted); every message stored once;
 * one agent turn and one reply per conversation; the unknown accounts' body dead with its reason
 * and no row; no log line of a refused or failed database connection; after the jobs have run
 * (QStash stand-in clock moved over every delay), no retry at all, so no wave of retries.
 */
const script = scriptedModels(
  Array.from({ length: 20 }, () => replyWith('Enseguida le atendemos.')),
);
it.override('harnessOptions', { jobs: [agentTurnJob({ models: script.resolver })] });
const logs = captureLogs();

/** Connection trouble of any kind, as postgres.js and Postgres report it. */
const CONNECTION_TROUBLE =
  /53300|too many clients|remaining connection slots|ECONNREFUSED|ECONNRESET|CONNECT_TIMEOUT|CONNECTION_CLOSED|could not be stored/i;

function batchBody(t: TenantFixture, from: string, count: number, prefix: string) {
  const number = waNumber(t);
  const timestamp = providerSeconds();
  return whatsappWebhook(
    number.wabaId,
    whatsappMessagesChange({
      phoneNumberId: number.phoneNumberId,
      displayPhoneNumber: number.displayPhoneNumber,
      contacts: [whatsappContact({ from, name: 'Ana' })],
      messages: Array.from({ length: count }, (_, i) =>
        whatsappInboundMessage({
          from,
          id: `wamid.${prefix}${i}-${crypto.randomUUID()}`,
          timestamp,
          message: { type: 'text', text: `mensaje ${i + 1}` },
        }),
      ),
    }),
  );
}

/** Peak server connections the pooler held while `work` ran (sampled every 10 ms). */
async function peakConnections(
  stats: () => { serverConnections: number },
  work: () => Promise<void>,
) {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, stats().serverConnections);
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return peak;
}

describe('reliability: amplification', () => {
  it('a 1,000-message body, same-second bursts and 1,000 unknown accounts: one reply per conversation, nothing refused', async ({
    sql,
    tenant: t,
  }) => {
    const started = performance.now();
    // One server connection in front of the embedded database, as dev/start.ts does (PGlite has
    // one backend behind all its connections); ten in front of a Postgres server.
    const pooler = await startPooler({
      targetUrl: inject('databaseUrl'),
      maxServerConnections: inject('databaseKind') === 'embedded' ? 1 : 10,
    });
    const h = await createHarness({
      jobs: [agentTurnJob({ models: script.resolver })],
      bindings: { DATABASE_URL: pooler.url },
    });
    h.registerTenant(t);
    onTestFinished(async () => {
      await h.close();
      await pooler.close();
    });
    const answers = new Tally();
    const timings: Record<string, number> = {};
    const batchCustomer = customerPhone();
    const burstCustomer = customerPhone();
    const [before] = await sql`select count(*)::int as n from webhook_events`;
    const [messagesBefore] = await sql`select count(*)::int as n from messages`;

    const peak = await peakConnections(
      () => pooler.stats(),
      async () => {
        // One body of a whole batch from one customer.
        let t0 = performance.now();
        const batch = await postWebhook(
          h,
          batchBody(t, batchCustomer, size.amplificationBatch, 'BATCH'),
        );
        timings.batchMs = Math.round(performance.now() - t0);
        answers.add(`batch-${batch.status}`);

        // Same-second webhooks of another customer, all at once.
        t0 = performance.now();
        const burst = await Promise.all(
          Array.from({ length: size.amplificationSameSecond }, (_, i) =>
            postWebhook(h, batchBody(t, burstCustomer, 1, `BURST${i}-`)),
          ),
        );
        timings.burstMs = Math.round(performance.now() - t0);
        for (const res of burst) answers.add(`burst-${res.status}`);

        // One body naming many accounts nobody has (and nothing else).
        const unknown = {
          object: 'whatsapp_business_account',
          entry: Array.from({ length: size.amplificationUnknownAccounts }, (_, i) => ({
            id: `9${String(i).padStart(14, '0')}`,
            changes: [
              whatsappMessagesChange({
                phoneNumberId: `8${String(i).padStart(14, '0')}`,
                displayPhoneNumber: '15550000000',
                contacts: [whatsappContact({ from: '34600000000' })],
                messages: [
                  whatsappInboundMessage({
                    from: '34600000000',
                    id: `wamid.UNKNOWN${i}`,
                    message: { type: 'text', text: 'hola' },
                  }),
                ],
              }),
            ],
          })),
        };
        t0 = performance.now();
        const unknownRes = await postWebhook(h, unknown);
        timings.unknownAccountsMs = Math.round(performance.now() - t0);
        answers.add(`unknown-accounts-${unknownRes.status}`);
        const { event_id } = (await unknownRes.json()) as { event_id: string };

        // The large bodies are processed by their jobs after the 200.
        await h.settle();
        const [event] =
          await sql`select outcome, reason from webhook_events where id = ${event_id}`;
        answers.add(`unknown-accounts-${event?.outcome}`);
        if (!event?.reason || !/no whatsapp channel account/.test(event.reason as string)) {
          answers.add('unknown-accounts-without-reason');
        }
      },
    );

    const perConversation = await sql`select c.phone,
        (select count(*)::int from messages m where m.conversation_id = cv.id and m.direction = 'inbound') as inbound,
        (select count(*)::int from job_outbox j where j.kind = 'agent-turn'
           and j.payload->>'conversationId' = cv.id::text) as turns,
        (select count(*)::int from agent_runs r where r.conversation_id = cv.id) as runs,
        (select count(*)::int from messages m where m.conversation_id = cv.id
           and m.direction = 'outbound' and m.sender = 'agent') as replies
      from conversations cv join contacts c on c.id = cv.contact_id
      where cv.tenant_id = ${t.tenantId} order by c.phone`;
    const [doubled] =
      await sql`select count(*)::int as n from (select provider_message_id from messages
      where tenant_id = ${t.tenantId} group by provider_message_id having count(*) > 1) d`;
    const [unknownRows] =
      await sql`select count(*)::int as n from messages where provider_message_id like 'wamid.UNKNOWN%'`;
    const [after] = await sql`select count(*)::int as n from webhook_events`;
    const [messagesAfter] = await sql`select count(*)::int as n from messages`;
    const sends = graphSends(h).filter((s) => s.to === batchCustomer || s.to === burstCustomer);
    const jobs = jobStats(h.qstash?.messages() ?? []);
    const connectionLines = logs.lines.filter((l) => CONNECTION_TROUBLE.test(l));
    const byPhone = new Map(perConversation.map((c) => [c.phone as string, c]));
    const batchConv = byPhone.get(batchCustomer);
    const burstConv = byPhone.get(burstCustomer);

    summary('amplification', {
      sent: 2 + size.amplificationSameSecond,
      batchMessages: size.amplificationBatch,
      sameSecond: size.amplificationSameSecond,
      unknownAccounts: size.amplificationUnknownAccounts,
      answers: answers.toString(),
      messagesStored: (messagesAfter?.n as number) - (messagesBefore?.n as number),
      lost:
        size.amplificationBatch +
        size.amplificationSameSecond -
        ((batchConv?.inbound ?? 0) as number) -
        ((burstConv?.inbound ?? 0) as number),
      doubled: doubled?.n as number,
      unknownAccountRows: unknownRows?.n as number,
      conversations: perConversation.length,
      turns: perConversation.map((c) => c.turns).join('+'),
      replies: perConversation.map((c) => c.replies).join('+'),
      graphSends: sends.length,
      jobs: jobs.published.toString(),
      jobRetries: jobs.retries,
      dlq: jobs.dlq,
      poolerServerConnections: `${peak}/${pooler.maxServerConnections}`,
      connectionErrors: connectionLines.length,
      eventsStored: (after?.n as number) - (before?.n as number),
      ...timings,
      seconds: secondsSince(started),
    });
    for (const line of new Set(
      connectionLines.map((l) => l.replace(/"(time|requestId|eventId)":"[^"]*",?/g, '')),
    )) {
      process.stdout.write(
        `[reliability] amplification connection trouble: ${line.slice(0, 400)}\n`,
      );
    }

    expect(answers.get('batch-200')).toBe(1);
    expect(answers.get('burst-200')).toBe(size.amplificationSameSecond);
    expect(answers.get('unknown-accounts-200')).toBe(1);
    expect(answers.get('unknown-accounts-dead')).toBe(1);
    expect(answers.get('unknown-accounts-without-reason')).toBe(0);
    expect(batchConv?.inbound).toBe(size.amplificationBatch);
    expect(burstConv?.inbound).toBe(size.amplificationSameSecond);
    expect(doubled?.n).toBe(0);
    expect(unknownRows?.n).toBe(0);
    expect(perConversation).toHaveLength(2);
    for (const c of perConversation) {
      expect({ turns: c.turns, runs: c.runs, replies: c.replies }).toEqual({
        turns: 1,
        runs: 1,
        replies: 1,
      });
    }
    expect(sends).toHaveLength(2);
    expect(jobs.retries).toBe(0);
    expect(jobs.dlq).toBe(0);
    expect(jobs.waiting).toBe(0);
    expect(connectionLines).toEqual([]);
  });
});
