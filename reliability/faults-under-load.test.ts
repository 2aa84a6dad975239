import postgres from 'postgres';
import { describe, expect, inject, onTestFinished } from 'vitest';
import {
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../dev/meta-payloads';
import { startPooler } from '../dev/pooler';
import { parseEnv } from '../functions/env';
import { agentTurnJob } from '../functions/jobs/agent-turn';
import { sweepOutbox } from '../functions/lib/jobs';
import { replayStaleEvents, sweepStuckSends } from '../functions/lib/sweepers';
import { createServices } from '../functions/services';
import { providerSeconds, replyWith, scriptedModels } from '../test/agent';
import { createHarness, type Harness } from '../test/harness';
import { it } from '../test/it';
import { customerPhone, postWebhook, waNumber } from '../test/meta-webhooks';
import { startFaultProxy } from './fault-proxy';
import { jobStats, secondsSince, summary, Tally } from './report';
import { captureLogs } from './secrets';
import { size } from './sizes';

/**
 * Issue 15, faults under load: `faultsMessages` customer messages (one per customer) posted at an
 * even pace over `faultsSeconds`, while the run is cut into six slices:
 *   1. nothing wrong (the baseline);
 *   2. Redis unreachable (a TCP proxy in front of the Upstash stand-in cuts every connection);
 *   3. QStash refusing, then back (the same in front of the QStash stand-in: publishes fail);
 *   4. the Graph API answering 500, then 429, to as many sends as the slice has messages (the
 *      Graph stand-in's `failNext`; those sends trail their messages by the debounce);
 *   5. the Worker restarted (a new app instance takes the requests, halfway through the slice);
 *   6. the database's connections exhausted (every server connection of the pooler held by
 *      sleeping transactions; a request waits at most `POOLER_WAIT_MS`, then fails as
 *      Hyperdrive would).
 * QStash delivers due jobs all along, on its real clock. Then the faults end, and what Meta and
 * the cron would do happens: every webhook not answered 200 is posted again (Meta retries until
 * a 200), the cron's sweeps run (outbox, stale `received` bodies, stuck sends), and the QStash
 * stand-in runs everything left, moving its clock over retries and delays.
 * Holds: every webhook is 200 in the end and every message stored once; every conversation has
 * exactly one reply, sent to Meta exactly once (no double send whatever failed); nothing left
 * `received`, `queued`, `sending` or pending; no conversation handed to a person; no job in the
 * DLQ. The counts by outcome, including what failed on the way, are on the summary line.
 */
const script = scriptedModels(
  Array.from({ length: size.faultsMessages * 2 }, (_, i) => replyWith(`Respuesta ${i}`)),
);
const logs = captureLogs();

/** How long a request waits for a database connection while they are all held. */
const POOLER_WAIT_MS = 1_500;

const SLICES = ['none', 'redis', 'qstash', 'graph', 'restart', 'database'] as const;
type Slice = (typeof SLICES)[number];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the cron's recoveries once, as the Worker's `scheduled` handler does (without grace). */
async function runCron(h: Harness) {
  const env = parseEnv(h.bindings);
  const { services, close } = createServices(env);
  try {
    const published = await sweepOutbox(services, env, { olderThanSeconds: 0 });
    const replayed = await replayStaleEvents(services, env, { olderThanSeconds: 0 });
    const stuck = await sweepStuckSends(services, env, { olderThanSeconds: 0 });
    return published + replayed.replayed + stuck.requeued + stuck.failed;
  } finally {
    await close();
  }
}

describe('reliability: faults under load', () => {
  it(`${size.faultsMessages} messages over ${size.faultsSeconds} s with Redis, QStash, Graph, a restart and the database failing: nothing lost, nothing sent twice`, async ({
    sql,
    tenant: t,
  }) => {
    const started = performance.now();
    const embedded = inject('databaseKind') === 'embedded';
    const pooler = await startPooler({
      targetUrl: inject('databaseUrl'),
      maxServerConnections: embedded ? 1 : 10,
      queueTimeoutMs: POOLER_WAIT_MS,
    });
    const h = await createHarness({
      jobs: [agentTurnJob({ models: script.resolver })],
      bindings: { DATABASE_URL: pooler.url },
      statusProgression: false,
    });
    h.registerTenant(t);
    // A one-second debounce: each reply is sent about a second after its message, so the faults
    // of a slice meet the sends of that slice, not of an earlier one.
    await sql`update tenant_settings set debounce_seconds = 1 where tenant_id = ${t.tenantId}`;
    const redis = await startFaultProxy(h.bindings.UPSTASH_REDIS_REST_URL as string);
    const qstash = await startFaultProxy(h.bindings.QSTASH_URL as string);
    h.rebind({ UPSTASH_REDIS_REST_URL: redis.url, QSTASH_URL: qstash.url });
    const hog = postgres(pooler.url, { max: pooler.maxServerConnections, onnotice: () => {} });
    onTestFinished(async () => {
      await h.close();
      await Promise.all([redis.close(), qstash.close(), hog.end()]);
      await pooler.close();
    });
    const graph = h.graph;
    const standIn = h.qstash;
    if (!graph || !standIn) throw new Error('the harness started no stand-ins');

    // QStash delivers whatever falls due, on its real clock, the whole time.
    let delivering = true;
    const deliveries = (async () => {
      while (delivering) {
        await standIn.deliverDue().catch(() => 0);
        await sleep(100);
      }
    })();

    const number = waNumber(t);
    const customers = Array.from({ length: size.faultsMessages }, () => customerPhone());
    const bodies = customers.map((from, i) => {
      const id = `wamid.FAULTS${i}-${crypto.randomUUID()}`;
      const body = whatsappWebhook(
        number.wabaId,
        whatsappMessagesChange({
          phoneNumberId: number.phoneNumberId,
          displayPhoneNumber: number.displayPhoneNumber,
          contacts: [whatsappContact({ from, name: 'Cliente' })],
          messages: [
            whatsappInboundMessage({
              from,
              id,
              timestamp: providerSeconds(),
              message: { type: 'text', text: `hola ${i}` },
            }),
          ],
        }),
      );
      return { id, body };
    });

    /** First answers by the slice they were posted in, e.g. `redis-200`, `database-503`. */
    const firstAnswers = new Tally();
    const notAccepted: number[] = [];
    let hogs: Promise<unknown>[] = [];
    const startSlice = (slice: Slice) => {
      if (slice === 'redis') {
        redis.refuse(true);
        redisDown = true;
      }
      if (slice === 'qstash') qstash.refuse(true);
      if (slice === 'graph') {
        // The slice's share of sends fails, whenever those sends come (they trail the messages by
        // the debounce and the queue): half with 500, then half with 429.
        const isSend = (r: { method: string; path: string }) =>
          r.method === 'POST' && r.path.endsWith('/messages');
        const times = Math.ceil(perSlice / 2);
        graph.failNext({
          status: 500,
          code: 2,
          message: 'Service temporarily unavailable',
          times,
          match: isSend,
        });
        graph.failNext({
          status: 429,
          code: 130429,
          message: '(#130429) Rate limit hit',
          times,
          match: isSend,
        });
      }
      if (slice === 'database') {
        // Hold every server connection for the slice: a request waits, then is refused.
        const ms = Math.max((size.faultsSeconds * 1000) / SLICES.length, 2 * POOLER_WAIT_MS);
        hogs = Array.from({ length: pooler.maxServerConnections }, () =>
          hog.begin((tx) => tx`select pg_sleep(${ms / 1000})`).catch(() => {}),
        );
      }
    };
    // Redis is asked only by sends, which trail their messages: it stays unreachable past its
    // slice until a few sends have met it (or the burst ends).
    let redisDown = false;
    const REDIS_CUTS = 5;
    const endSlice = (slice: Slice) => {
      if (slice === 'qstash') qstash.refuse(false);
    };

    const pace = (size.faultsSeconds * 1000) / bodies.length;
    const perSlice = Math.ceil(bodies.length / SLICES.length);
    const posts: Promise<void>[] = [];
    let slice: Slice = 'none';
    for (const [i, { body }] of bodies.entries()) {
      const now = SLICES[Math.floor(i / perSlice)] ?? 'database';
      if (now !== slice) {
        endSlice(slice);
        slice = now;
        startSlice(slice);
      }
      if (redisDown && slice !== 'redis' && redis.cut() >= REDIS_CUTS) {
        redis.refuse(false);
        redisDown = false;
      }
      // Halfway through its slice, the Worker restarts.
      if (slice === 'restart' && i === Math.floor(perSlice * 4.5)) h.restart();
      const postedIn = slice;
      posts.push(
        postWebhook(h, body).then(
          (res) => {
            firstAnswers.add(`${postedIn}-${res.status}`);
            if (res.status !== 200) notAccepted.push(i);
          },
          () => {
            firstAnswers.add(`${postedIn}-threw`);
            notAccepted.push(i);
          },
        ),
      );
      await sleep(pace);
    }
    await Promise.all(posts);
    endSlice(slice);
    redis.refuse(false);
    await Promise.all(hogs);
    const burstSeconds = secondsSince(started);

    // Meta retries every delivery not answered 200 until it is.
    const retryAnswers = new Tally();
    let retryRounds = 0;
    for (let pending = [...notAccepted]; pending.length > 0 && retryRounds < 5; retryRounds++) {
      const answers = await Promise.all(pending.map((i) => postWebhook(h, bodies[i]?.body)));
      for (const res of answers) retryAnswers.add(res.status);
      pending = pending.filter((_, k) => answers[k]?.status !== 200);
      if (pending.length > 0) await sleep(1000);
    }

    delivering = false;
    await deliveries;
    // The cron and QStash until nothing moves any more.
    let cronActions = 0;
    for (let round = 0; round < 10; round++) {
      await h.settle(200);
      const acted = await runCron(h);
      cronActions += acted;
      if (acted === 0) break;
    }
    await h.settle(200);

    const ids = bodies.map((b) => b.id);
    const stored = await sql`select provider_message_id as id, count(*)::int as n from messages
      where tenant_id = ${t.tenantId} and direction = 'inbound' group by provider_message_id`;
    const count = new Map(stored.map((r) => [r.id as string, r.n as number]));
    const lost = ids.filter((id) => !count.has(id)).length;
    const doubled = [...count.values()].filter((n) => n > 1).length;
    const conversations = await sql`select c.phone, cv.id,
        cv.is_locked as handed_off,
        (select count(*)::int from messages m where m.conversation_id = cv.id
           and m.direction = 'outbound' and m.sender = 'agent') as replies
      from conversations cv join contacts c on c.id = cv.contact_id
      where cv.tenant_id = ${t.tenantId}`;
    const notOneReply = conversations.filter((c) => c.replies !== 1).length;
    const handedOff = conversations.filter((c) => c.handed_off).length;
    const [stuck] = await sql`select
        (select count(*)::int from messages where tenant_id = ${t.tenantId}
           and direction = 'outbound' and status in ('queued', 'sending')) as sends,
        (select count(*)::int from messages where tenant_id = ${t.tenantId}
           and direction = 'outbound' and status = 'failed') as failed,
        (select count(*)::int from job_outbox where tenant_id = ${t.tenantId}
           and status = 'pending') as jobs,
        (select count(*)::int from webhook_events where outcome = 'received'
           and raw_body like ${`%${number.phoneNumberId}%`}) as events`;
    // Sends Meta accepted (an injected failure is not a send), per customer.
    const accepted = new Tally();
    let graphFailures = 0;
    for (const r of graph.requests) {
      if (r.method !== 'POST' || !r.path.endsWith('/messages')) continue;
      if (r.injected?.failure) graphFailures++;
      else accepted.add(String((r.body as { to?: string }).to));
    }
    const customersNotSentOnce = customers.filter((c) => accepted.get(c) !== 1).length;
    const sentTwice = customers.filter((c) => accepted.get(c) > 1).length;
    const jobs = jobStats(standIn.messages());
    const fiveXx = [...firstAnswers.toString().matchAll(/-5\d\d:(\d+)/g)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
    const errorLines = logs.lines.filter((l) => /"level":"error"/.test(l)).length;

    summary('faults-under-load', {
      sent: bodies.length,
      seconds: size.faultsSeconds,
      slices: SLICES.join('>'),
      firstAnswers: firstAnswers.toString(),
      first5xx: fiveXx,
      retried: notAccepted.length,
      retryAnswers: retryAnswers.toString(),
      retryRounds,
      messages: count.size,
      lost,
      doubled,
      conversations: conversations.length,
      notOneReply,
      handedOff,
      graphFailuresInjected: graphFailures,
      graphSendsAccepted: [...customers].reduce((n, c) => n + accepted.get(c), 0),
      customersNotSentOnce,
      sentTwice,
      stuckSends: stuck?.sends as number,
      failedSends: stuck?.failed as number,
      pendingJobs: stuck?.jobs as number,
      receivedEvents: stuck?.events as number,
      redisCut: redis.cut(),
      qstashCut: qstash.cut(),
      jobs: jobs.published.toString(),
      jobRetries: jobs.retries,
      dlq: jobs.dlq,
      cronActions,
      errorLogLines: errorLines,
      burstSeconds,
      totalSeconds: secondsSince(started),
    });

    for (const m of standIn.dlq().slice(0, 5)) {
      process.stdout.write(
        `[reliability] faults-under-load DLQ: ${new URL(m.url).pathname} after ${m.attempts} attempts: ${m.lastResponse?.status ?? ''} ${(m.lastResponse?.body ?? m.lastError ?? '').slice(0, 300)}\n`,
      );
    }

    const failedRows = await sql`select error_code, error_reason from messages
      where tenant_id = ${t.tenantId} and direction = 'outbound' and status = 'failed' limit 5`;
    for (const r of failedRows) {
      process.stdout.write(
        `[reliability] faults-under-load failed send: ${r.error_code}: ${r.error_reason}\n`,
      );
    }

    // Every first answer was a 200 or a refusal Meta retries; none other.
    expect(firstAnswers.toString()).not.toMatch(/-(?!200|503)\d+:/);
    expect(retryAnswers.get(200)).toBe(notAccepted.length);
    expect(count.size).toBe(bodies.length);
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(conversations).toHaveLength(customers.length);
    expect(notOneReply).toBe(0);
    expect(handedOff).toBe(0);
    expect(sentTwice).toBe(0);
    expect(customersNotSentOnce).toBe(0);
    expect(stuck).toEqual({ sends: 0, failed: 0, jobs: 0, events: 0 });
    expect(jobs.dlq).toBe(0);
    expect(jobs.waiting).toBe(0);
    // The faults did happen (the probe would prove nothing otherwise).
    expect(redis.cut()).toBeGreaterThan(0);
    expect(qstash.cut()).toBeGreaterThan(0);
    expect(firstAnswers.get('database-503')).toBeGreaterThan(0);
    expect(graphFailures).toBeGreaterThan(0);
  });
});
