import { SignJWT } from 'jose';
import type postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SendRefusedError } from '../../core/errors';
import { SEND_REASONS } from '../../core/messaging/send-reasons';
import { asTenant, connect, type Database } from '../../db/client';
import { type QueueOutboundInput, queueOutboundMessage } from '../../db/outbound';
import {
  instagramMessageBody,
  messengerMessageBody,
  type WhatsAppMessagesValue,
  type WhatsAppWebhookBody,
  whatsappStatusBody,
} from '../../dev/meta-payloads';
import {
  type MetaAccount,
  type MetaGraphStandIn,
  startMetaGraph,
} from '../../dev/stand-ins/meta-graph';
import { createConversation, manualClock } from '../../test/conversations';
import { downDatabase } from '../../test/down-database';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../../test/fixtures';
import {
  createHarness,
  type Harness,
  TEST_APP_SECRET,
  TEST_PUBLIC_BASE_URL,
} from '../../test/harness';
import { postWebhook, waNumber } from '../../test/meta-webhooks';
import { must } from '../../test/must';
import type { Clock } from '../context';
import { parseEnv } from '../env';
import { SEND_OUTCOME_UNKNOWN_REASON } from '../lib/graph';
import { markCustomerMessageRead } from '../lib/graph-accounts';
import { publishJobs } from '../lib/jobs';
import { createServices } from '../services';
import { createSendJob, MAX_TRANSIENT_FAILURES, retryDelayMs, type SendJobOptions } from './send';

const HOUR = 60 * 60 * 1000;

/** Queues messages the way the AI agent will: in one tenant transaction, published after commit. */
async function queueAndPublish(
  h: Harness,
  db: Database,
  clock: Clock,
  tenant: TenantFixture,
  conversationId: string,
  messages: unknown[],
  options: Partial<QueueOutboundInput> = {},
) {
  const queued = await asTenant(db, tenant.tenantId, async (ctx) => {
    const out = [];
    for (const message of messages) {
      out.push(
        await queueOutboundMessage(ctx, {
          conversationId,
          sender: 'agent',
          message,
          now: clock.now(),
          ...options,
        }),
      );
    }
    return out;
  });
  const env = parseEnv(h.bindings);
  const { services, close } = createServices(env);
  await publishJobs(
    services,
    env,
    queued.map((q) => q.job),
  );
  await close();
  return queued;
}

/** A QStash-signed delivery of a job, as QStash would make it (for replays). */
async function deliverJob(h: Harness, kind: string, body: string) {
  const url = `${TEST_PUBLIC_BASE_URL}/jobs/${kind}`;
  const now = Math.floor(Date.now() / 1000);
  const hash = Buffer.from(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
  ).toString('base64url');
  const signature = await new SignJWT({ body: hash })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Upstash')
    .setSubject(url)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(h.bindings.QSTASH_CURRENT_SIGNING_KEY!));
  return h.request(url, {
    method: 'POST',
    body,
    headers: { 'upstash-signature': signature, 'content-type': 'application/json' },
  });
}

const deliverSendJob = (h: Harness, body: string) => deliverJob(h, 'send', body);

/** The send job's QStash message for one of our messages (the first one published). */
function sendJobBody(h: Harness, messageId: string): string {
  const job = h
    .qstash!.messages()
    .find((m) => m.url.endsWith('/jobs/send') && m.body.includes(messageId));
  if (!job) throw new Error(`no send job published for ${messageId}`);
  return job.body;
}

const graphSends = (h: Harness) =>
  h.graph!.requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path.endsWith('/messages') &&
      (r.body as { status?: unknown; sender_action?: unknown }).status === undefined &&
      (r.body as { sender_action?: unknown }).sender_action === undefined,
  );

describe('retryDelayMs', () => {
  it('backs off exponentially, and 4^X seconds for pair-rate limiting', () => {
    expect([0, 1, 2, 3].map((n) => retryDelayMs({}, { transient: n, pairRate: 0 }))).toEqual([
      5_000, 10_000, 20_000, 40_000,
    ]);
    expect(retryDelayMs({}, { transient: 20, pairRate: 0 })).toBe(600_000);
    expect(
      [0, 1, 2, 3].map((x) =>
        retryDelayMs({ backoff: 'pair-rate' }, { transient: x, pairRate: x }),
      ),
    ).toEqual([1_000, 4_000, 16_000, 64_000]);
  });
});

describe('send job (/jobs/send) against the Graph stand-in', () => {
  const clock = manualClock();
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    h = await createHarness({ clock, statusProgression: false });
    sql = adminSql();
    ({ db, close: closeDb } = connect(h.bindings.DATABASE_URL!));
    t = await createTenant(sql, 'Sender');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
    await h.close();
  });
  beforeEach(() => {
    clock.set(new Date());
    h.graph!.reset();
  });

  const queue = (
    tenant: TenantFixture,
    conversationId: string,
    messages: unknown[],
    options: Partial<QueueOutboundInput> = {},
  ) => queueAndPublish(h, db, clock, tenant, conversationId, messages, options);

  const sends = () =>
    h.graph!.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
  const texts = () => sends().map((r) => (r.body as { text?: { body: string } }).text?.body);

  async function messageRow(id: string) {
    const [row] =
      await sql`select status, error_code, error_reason, provider_message_id from messages where id = ${id}`;
    return row;
  }
  async function attempts(id: string) {
    return sql`select attempt, outcome, error_code, http_status, started_at, retry_at, provider_message_id
      from send_attempts where message_id = ${id} order by attempt`;
  }

  const deliver = (body: string) => deliverSendJob(h, body);

  it('spaces a burst of 10 replies by the tenant spacing and sends them in their order', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const start = clock.now();
    const replies = Array.from({ length: 10 }, (_, i) => `reply ${i + 1}`);
    const queued = await queue(t, conv.conversationId, replies);

    const outbox =
      await sql`select not_before, flow_control_key, flow_control_parallelism, payload->>'messageId' as message_id
      from job_outbox where payload->>'messageId' in ${sql(queued.map((q) => q.message.id))}`;
    const slotOf = new Map(
      outbox.map((r) => [r.message_id as string, (r.not_before as Date).getTime()]),
    );
    expect(queued.map((q) => slotOf.get(q.message.id)! - start.getTime())).toEqual(
      Array.from({ length: 10 }, (_, i) => i * 4000),
    );
    expect(new Set(outbox.map((r) => r.flow_control_key))).toEqual(
      new Set([`conv-${conv.conversationId}`]),
    );
    expect(outbox.every((r) => r.flow_control_parallelism === 1)).toBe(true);
    const [c] = await sql`select next_send_at from conversations where id = ${conv.conversationId}`;
    expect((c!.next_send_at as Date).getTime() - start.getTime()).toBe(40_000);
    // What QStash was asked: not before each slot, one at a time per conversation.
    const published = h
      .qstash!.messages()
      .filter((m) => queued.some((q) => m.body.includes(q.message.id)));
    expect(published.map((m) => m.flowControlKey)).toEqual(
      replies.map(() => `conv-${conv.conversationId}`),
    );
    expect(published.map((m) => m.notBefore)).toEqual(
      queued.map((q) => Math.ceil(slotOf.get(q.message.id)! / 1000) * 1000),
    );

    await h.settle();
    expect(texts()).toEqual(replies);
    const statuses =
      await sql`select status from messages where id in ${sql(queued.map((q) => q.message.id))}`;
    expect(statuses.map((s) => s.status)).toEqual(replies.map(() => 'sent'));
  });

  it('a new message after a burst waits for the slot after the last one', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const start = clock.now();
    await queue(t, conv.conversationId, ['one', 'two']);
    clock.advance(1000);
    const [third] = await queue(t, conv.conversationId, ['three']);
    expect(third!.notBefore.getTime() - start.getTime()).toBe(8000);
    await h.settle();
    expect(texts()).toEqual(['one', 'two', 'three']);
  });

  it('retries a 5xx and a 130429 with backoff, as new attempts of the same message', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.failNext({ status: 500, code: 2, message: 'An unexpected error has occurred.' });
    h.graph!.failNext({ status: 429, code: 130429, message: '(#130429) Rate limit hit' });
    const [q] = await queue(t, conv.conversationId, ['persistent']);
    await h.settle();
    expect(texts()).toEqual(['persistent', 'persistent', 'persistent']);
    const rows = await attempts(q!.message.id);
    expect(rows.map((a) => [a.attempt, a.outcome, a.error_code, a.http_status])).toEqual([
      [1, 'retry', '2', 500],
      [2, 'retry', '130429', 429],
      [3, 'sent', null, null],
    ]);
    // 5 s, then 10 s after the failure, never sooner than the next free slot.
    expect((rows[0]!.retry_at as Date).getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(
      5000,
    );
    expect((rows[1]!.retry_at as Date).getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(
      10_000,
    );
    const row = await messageRow(q!.message.id);
    expect(row).toMatchObject({ status: 'sent', error_code: null, error_reason: null });
    expect(row?.provider_message_id).toMatch(/^wamid\./);
  });

  it('never retries a permanent error (131047): failed with the code and a plain reason', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.failNext({
      code: 131047,
      message: '(#131047) Re-engagement message',
      details:
        'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    });
    const [q] = await queue(t, conv.conversationId, ['too late']);
    await h.settle();
    expect(sends()).toHaveLength(1);
    expect(await messageRow(q!.message.id)).toMatchObject({
      status: 'failed',
      error_code: '131047',
      error_reason: expect.stringContaining('Send a template instead'),
    });
    expect((await attempts(q!.message.id)).map((a) => a.outcome)).toEqual(['failed']);
  });

  it('keeps the order when an earlier message is being retried', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.failNext({ status: 503, code: 131000, message: 'Something went wrong' });
    await queue(t, conv.conversationId, ['first', 'second', 'third']);
    await h.settle();
    expect(texts()).toEqual(['first', 'first', 'second', 'third']);
  });

  it('backs off 4^X seconds on pair-rate errors (131056)', async () => {
    const burst = await createTenant(sql, 'Pair rate');
    h.registerTenant(burst);
    await sql`update tenant_settings set send_spacing_seconds = 0 where tenant_id = ${burst.tenantId}`;
    const conv = await createConversation(sql, burst, { now: clock.now() });
    h.graph!.failNext({ code: 131056, message: '(#131056) Pair rate limit hit', times: 3 });
    const [q] = await queue(burst, conv.conversationId, ['hello']);
    await h.settle();
    const rows = await attempts(q!.message.id);
    expect(rows.map((a) => a.outcome)).toEqual(['retry', 'retry', 'retry', 'sent']);
    expect(
      rows
        .slice(0, 3)
        .map((a) => (a.retry_at as Date).getTime() - (a.started_at as Date).getTime()),
    ).toEqual([1_000, 4_000, 16_000]);
  });

  it(`gives up after ${MAX_TRANSIENT_FAILURES} transient failures, with the last reason`, async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.failNext({ status: 500, code: 2, message: 'down', times: MAX_TRANSIENT_FAILURES });
    const [q] = await queue(t, conv.conversationId, ['never']);
    await h.settle();
    expect(sends()).toHaveLength(MAX_TRANSIENT_FAILURES);
    expect(await messageRow(q!.message.id)).toMatchObject({
      status: 'failed',
      error_code: '2',
      error_reason: expect.stringMatching(/^Gave up after 8 attempts/),
    });
  });

  it('a duplicated job delivery sends once (replayed after, and two at the same time)', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const [q] = await queue(t, conv.conversationId, ['only once']);
    const job = h.qstash!.messages().find((m) => m.body.includes(q!.message.id))!;
    const [a, b] = await Promise.all([deliver(job.body), deliver(job.body)]);
    expect([a!.status, b!.status].sort()).toContainEqual(200);
    await h.settle();
    const replay = await deliver(job.body);
    expect(replay.status).toBe(200);
    expect(texts()).toEqual(['only once']);
    expect((await attempts(q!.message.id)).map((x) => x.outcome)).toEqual(['sent']);
  });

  it('cancels a bot message when the conversation was locked between queueing and sending', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const [q] = await queue(t, conv.conversationId, ['bot says hi']);
    await sql`update conversations set is_locked = true, locked_by = 'operator' where id = ${conv.conversationId}`;
    await h.settle();
    expect(sends()).toEqual([]);
    expect(await messageRow(q!.message.id)).toMatchObject({
      status: 'cancelled',
      error_code: 'conversation_locked',
      error_reason: SEND_REASONS.conversation_locked,
    });
  });

  it("still sends an operator's message in a locked conversation", async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    await sql`update conversations set is_locked = true, locked_by = 'operator' where id = ${conv.conversationId}`;
    await queue(t, conv.conversationId, ['human here'], { sender: 'operator' });
    await h.settle();
    expect(texts()).toEqual(['human here']);
  });

  it('refuses at send time when the WhatsApp window closed after queueing', async () => {
    const conv = await createConversation(sql, t, {
      now: clock.now(),
      lastInboundAt: new Date(clock.now().getTime() - 23.5 * HOUR),
    });
    const [q] = await queue(t, conv.conversationId, ['almost in time']);
    clock.advance(HOUR);
    await h.settle();
    expect(sends()).toEqual([]);
    expect(await messageRow(q!.message.id)).toMatchObject({
      status: 'failed',
      error_code: 'window_closed',
      error_reason: expect.stringContaining('Send an approved template instead'),
    });
  });

  it('Messenger: a bot reply is never sent with HUMAN_AGENT after 24 h', async () => {
    const conv = await createConversation(sql, t, {
      channel: 'messenger',
      now: clock.now(),
      lastInboundAt: new Date(clock.now().getTime() - 30 * HOUR),
    });
    await expect(queue(t, conv.conversationId, ['bot late'])).rejects.toSatisfy(
      (e) => e instanceof SendRefusedError && e.reasonCode === 'window_closed',
    );
    // Queued in time, sent after the 24 h: refused at send time too.
    const fresh = await createConversation(sql, t, {
      channel: 'messenger',
      now: clock.now(),
      lastInboundAt: new Date(clock.now().getTime() - 23.9 * HOUR),
    });
    const [q] = await queue(t, fresh.conversationId, ['bot almost late']);
    clock.advance(HOUR);
    await h.settle();
    expect(sends()).toEqual([]);
    expect(await messageRow(q!.message.id)).toMatchObject({
      status: 'failed',
      error_code: 'window_closed',
    });
  });

  it('recovers a claim a crash left in sending, and never resends one with a provider id', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const [stuck, done, fresh] = await queue(t, conv.conversationId, ['stuck', 'done', 'fresh']);
    // Crash simulations: the first died mid-send long ago; the second died after Meta accepted it;
    // the third is being sent right now by another worker.
    for (const [q, startedAgo, providerId] of [
      [stuck!, 10 * 60_000, null],
      [done!, 10 * 60_000, 'wamid.ALREADY'],
      [fresh!, 5_000, null],
    ] as const) {
      await sql`update messages set status = 'sending', provider_message_id = ${providerId} where id = ${q.message.id}`;
      await sql`insert into send_attempts (tenant_id, message_id, attempt, outcome, started_at)
        values (${t.tenantId}, ${q.message.id}, 1, 'sending', ${new Date(clock.now().getTime() - startedAgo)})`;
    }
    const jobOf = (id: string) => h.qstash!.messages().find((m) => m.body.includes(id))!.body;
    const busy = await deliver(jobOf(fresh!.message.id));
    expect(busy.status).toBe(503);

    expect((await deliver(jobOf(stuck!.message.id))).status).toBe(200);
    expect((await deliver(jobOf(done!.message.id))).status).toBe(200);
    expect(texts()).toEqual(['stuck']);
    expect((await attempts(stuck!.message.id)).map((a) => a.outcome)).toEqual([
      'abandoned',
      'sent',
    ]);
    expect(await messageRow(done!.message.id)).toMatchObject({
      status: 'sent',
      provider_message_id: 'wamid.ALREADY',
    });

    // Once the fresh claim is old enough it is taken over too.
    clock.advance(2 * 60_000);
    expect((await deliver(jobOf(fresh!.message.id))).status).toBe(200);
    expect(texts()).toEqual(['stuck', 'fresh']);
    await h.settle();
    expect(texts()).toEqual(['stuck', 'fresh']);
  });

  it('marks a customer message read with the typing indicator (WhatsApp and Messenger)', async () => {
    const env = parseEnv(h.bindings);
    const { services, close } = createServices(env);
    const wa = await createConversation(sql, t, { now: clock.now() });
    const ms = await createConversation(sql, t, { channel: 'messenger', now: clock.now() });
    expect(
      await markCustomerMessageRead(services, env, {
        tenantId: t.tenantId,
        messageId: wa.inbound.id,
        typing: true,
      }),
    ).toBe('marked');
    expect(
      await markCustomerMessageRead(services, env, {
        tenantId: t.tenantId,
        messageId: ms.inbound.id,
      }),
    ).toBe('marked');
    const off = { ...env, WHATSAPP_ALLOW_LIVE_SEND: false };
    expect(
      await markCustomerMessageRead(services, off, {
        tenantId: t.tenantId,
        messageId: wa.inbound.id,
      }),
    ).toBe('skipped');
    await close();
    expect(h.graph!.requests.map((r) => [r.path, r.body])).toEqual([
      [
        `/v23.0/${t.accounts.whatsapp.externalId}/messages`,
        {
          messaging_product: 'whatsapp',
          status: 'read',
          message_id: wa.inbound.providerMessageId,
          typing_indicator: { type: 'text' },
        },
      ],
      [
        `/v23.0/${t.accounts.messenger.externalId}/messages`,
        { recipient: { id: ms.externalUserId }, sender_action: 'mark_seen' },
      ],
    ]);
  });

  it('holds a number to its throughput cap, on the app clock: over it, the send waits instead of being dropped', async () => {
    const slow = await createTenant(sql, 'Slow number');
    h.registerTenant(slow);
    await sql`update channel_accounts set throughput_per_second = 1 where id = ${slow.accounts.whatsapp.id}`;
    // Half-way through a second of the app clock, so one second later the previous second's send
    // no longer counts (the sliding window weighs it by the half still overlapping: floor(0.5)).
    clock.set(new Date(Math.floor(clock.now().getTime() / 1000) * 1000 + 500));
    const names = ['to one', 'to two', 'to three', 'to four'];
    const queued: Array<Awaited<ReturnType<typeof queue>>[number]> = [];
    for (const name of names) {
      const conversation = await createConversation(sql, slow, { now: clock.now() });
      const [q] = await queue(slow, conversation.conversationId, [name]);
      queued.push(must(q, `the queued message ${name}`));
    }
    const qstash = must(h.qstash, 'the QStash stand-in');
    // Four sends due together, delivered concurrently; then, every second of the app clock, QStash
    // delivers each waiting send once more (its clock moved to their not-before, which the
    // conversation's send spacing pushes on per requeue). At 1 message per second, exactly one
    // goes out per second of the app clock, however fast or slow this machine is.
    const sentPerRound: number[] = [];
    for (let round = 0; round < names.length + 1; round++) {
      const waiting = qstash.messages().filter((m) => m.state === 'pending');
      qstash.advanceClockTo(Math.max(0, ...waiting.map((m) => m.notBefore)));
      await qstash.deliverDue();
      sentPerRound.push(texts().length);
      clock.advance(1_000);
    }
    expect(sentPerRound).toEqual([1, 2, 3, 4, 4]);
    expect(new Set(texts())).toEqual(new Set(names));
    // The one sent in the k-th second was refused and requeued at least k times (more when QStash
    // already counts a requeue as due within the same second), the first not at all.
    const waits = await Promise.all(
      texts().map(async (text) => {
        const q = must(queued[names.indexOf(text ?? '')], `the queued message ${text}`);
        return (await attempts(q.message.id)).filter((x) => x.error_code === 'throughput_cap');
      }),
    );
    expect(waits[0]).toEqual([]);
    for (const [k, w] of waits.entries()) expect(w.length).toBeGreaterThanOrEqual(k);
    expect(waits.flat().every((x) => x.outcome === 'retry')).toBe(true);
    for (const q of queued) expect((await messageRow(q.message.id))?.status).toBe('sent');
    // Five rounds of QStash deliveries through the app and the database: seconds alone, longer
    // on a loaded 2-core machine; the default 30 s would fail it for the load, not the code.
  }, 120_000);
});

describe('send job with Meta status webhooks', () => {
  let h: Harness;
  let sql: postgres.Sql;
  let t: TenantFixture;
  beforeAll(async () => {
    h = await createHarness({ statusProgression: true });
    sql = adminSql();
    t = await createTenant(sql, 'Statuses');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await sql.end();
    await h.close();
  });

  it('ends at read: statuses posted right after the send are applied, even before the id is stored', async () => {
    const conv = await createConversation(sql, t);
    const res = await h.asUser(t.agent, '/admin/whatsapp/send', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: conv.conversationId, message: 'Track me' }),
    });
    const { id } = ((await res.json()) as { message: { id: string } }).message;
    await h.settle();
    const [row] = await sql`select status, provider_message_id from messages where id = ${id}`;
    expect(row?.status).toBe('read');
    const events =
      await sql`select provider_status, applied_at from message_status_events where provider_message_id = ${row!.provider_message_id}`;
    expect(events.map((e) => e.provider_status).sort()).toEqual(['delivered', 'read', 'sent']);
    expect(events.every((e) => e.applied_at !== null)).toBe(true);
  });
});

/**
 * A harness whose send job uses a database that is down wherever `jobOptions` hands out `down`:
 * each suite below studies one step of the send failing on it. Its parts are set before the
 * suite's own hooks run.
 */
function outageSuite(
  tenantName: string,
  clock: () => Clock,
  jobOptions: (down: Database) => SendJobOptions,
) {
  const suite = {} as { h: Harness; sql: postgres.Sql; db: Database; t: TenantFixture };
  const closers: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const down = await downDatabase();
    closers.push(() => down.close().catch(() => {}));
    suite.h = await createHarness({
      clock: clock(),
      statusProgression: false,
      jobs: [createSendJob(jobOptions(down.db))],
    });
    closers.push(() => suite.h.close());
    suite.sql = adminSql();
    closers.push(() => suite.sql.end());
    const { db, close } = connect(suite.h.bindings.DATABASE_URL!);
    suite.db = db;
    closers.push(close);
    suite.t = await createTenant(suite.sql, tenantName);
    suite.h.registerTenant(suite.t);
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });
  return suite;
}

describe('send job: a head message whose send keeps failing before Meta is called', () => {
  // The app runs on the QStash stand-in's clock, so waits and retries are seen as they would be.
  const clock: Clock = { now: () => new Date(suite.h?.qstash?.now() ?? Date.now()) };
  /** The message whose send is planned on a database that is down (every delivery). */
  let failing: string | null = null;
  const suite = outageSuite(
    'Head outage',
    () => clock,
    (down) => ({
      planDb: (services, messageId) => (messageId === failing ? down : services.db),
    }),
  );
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let t: TenantFixture;
  beforeAll(() => {
    ({ h, sql, db, t } = suite);
  });

  it('fails it with the reason after its bounded retries; the later ones go out in order after a handful of polls', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const [head, second, third] = await queueAndPublish(h, db, clock, t, conv.conversationId, [
      'head',
      'second',
      'third',
    ]);
    failing = head!.message.id;
    await h.settle();

    const sent = graphSends(h).map((r) => (r.body as { text?: { body?: string } }).text?.body);
    expect(sent).toEqual(['second', 'third']);
    const rows = await sql`select id, status, error_code, error_reason from messages
      where id in ${sql([head!.message.id, second!.message.id, third!.message.id])}`;
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    expect(byId.get(head!.message.id)).toMatchObject({
      status: 'failed',
      error_code: 'send_job_failed',
      error_reason: SEND_REASONS.send_job_failed,
    });
    expect(byId.get(second!.message.id)?.status).toBe('sent');
    expect(byId.get(third!.message.id)?.status).toBe('sent');
    // The head's retries took ~2.5 minutes; its followers looked again with a growing wait, not
    // every 4 s (that was 20 send jobs each, 8 now).
    const polls = (id: string) =>
      h.qstash!.messages().filter((m) => m.url.endsWith('/jobs/send') && m.body.includes(id))
        .length;
    expect(polls(second!.message.id)).toBeLessThanOrEqual(10);
    expect(polls(third!.message.id)).toBeLessThanOrEqual(10);
  });
});

describe('send job: the database fails after the claim, before Meta is called', () => {
  // The app's clock stands still: a claim left held would never go stale, so only a claim given
  // back lets the next delivery send.
  const clock = manualClock();
  /** How many of the next access-token reads go to the database that is down. */
  let failingReads = 0;
  const suite = outageSuite(
    'Blip before Meta',
    () => clock,
    (down) => ({
      recordRetryDelaysMs: [0, 0],
      tokenDb: (services) => {
        if (failingReads <= 0) return services.db;
        failingReads -= 1;
        return down;
      },
    }),
  );
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let t: TenantFixture;
  beforeAll(() => {
    ({ h, sql, db, t } = suite);
  });

  for (const channel of ['whatsapp', 'messenger'] as const) {
    it(`${channel}: the claim is given back, and the next delivery sends it once`, async () => {
      clock.set(new Date());
      h.graph!.reset();
      const conv = await createConversation(sql, t, { channel, now: clock.now() });
      failingReads = 1;
      const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['interrupted']);
      await h.settle();
      expect(failingReads).toBe(0);
      expect(graphSends(h)).toHaveLength(1);
      const [row] = await sql`select status from messages where id = ${q!.message.id}`;
      expect(row?.status).toBe('sent');
      const attempts = await sql`select outcome, error_code from send_attempts
        where message_id = ${q!.message.id} order by attempt`;
      expect(attempts.map((a) => [a.outcome, a.error_code])).toEqual([
        ['retry', 'send_interrupted'],
        ['sent', null],
      ]);
      expect(h.qstash!.dlq()).toEqual([]);
    });
  }
});

describe('send job: the database fails right after Meta accepted the message', () => {
  const clock = manualClock();
  /** How many of the next writes of Meta's answer go to the database that is down. */
  let failingWrites = 0;
  const suite = outageSuite(
    'Database blip',
    () => clock,
    (down) => ({
      recordRetryDelaysMs: [0, 0],
      recordDb: (services) => {
        if (failingWrites <= 0) return services.db;
        failingWrites -= 1;
        return down;
      },
    }),
  );
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let t: TenantFixture;
  beforeAll(() => {
    ({ h, sql, db, t } = suite);
  });
  beforeEach(() => {
    clock.set(new Date());
    h.graph!.reset();
    failingWrites = 0;
  });

  async function stored(id: string) {
    const [row] = await sql`select status, provider_message_id from messages where id = ${id}`;
    const attempts =
      await sql`select outcome, provider_message_id from send_attempts where message_id = ${id} order by attempt`;
    return { row, attempts };
  }

  it('one failed write is retried in-process: sent once, provider id stored', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    failingWrites = 1;
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['blip']);
    await h.settle();
    expect(failingWrites).toBe(0);
    expect(graphSends(h)).toHaveLength(1);
    const { row, attempts } = await stored(q!.message.id);
    expect(row).toMatchObject({
      status: 'sent',
      provider_message_id: expect.stringMatching(/^wamid\./),
    });
    expect(attempts).toEqual([{ outcome: 'sent', provider_message_id: row!.provider_message_id }]);
    expect(h.qstash!.messages().filter((m) => m.url.endsWith('/jobs/send-accepted'))).toEqual([]);
  });

  it('Meta answers a transient error and the requeue cannot be written: the claim is given back, sent once on the next delivery', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.failNext({ status: 500, code: 2, message: 'Service temporarily unavailable' });
    failingWrites = 3;
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['refused once']);
    await h.settle();
    expect(failingWrites).toBe(0);
    const requests = graphSends(h);
    expect(requests).toHaveLength(2);
    expect(h.graph!.requests.filter((r) => r.injected?.failure)).toHaveLength(1);
    const { row, attempts } = await stored(q!.message.id);
    expect(row?.status).toBe('sent');
    expect(attempts.map((a) => a.outcome)).toEqual(['retry', 'sent']);
    const [first] = await sql`select error_code from send_attempts
      where message_id = ${q!.message.id} order by attempt limit 1`;
    expect(first?.error_code).toBe('send_interrupted');
    expect(h.qstash!.dlq()).toEqual([]);
  });

  it('a write that keeps failing hands the provider id to send-accepted; the message is never resent', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    failingWrites = 3;
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['outage']);
    await h.settle();
    expect(failingWrites).toBe(0);
    expect(graphSends(h)).toHaveLength(1);
    // The send job finished (QStash does not redeliver it); the hand-off recorded the id.
    const job = h
      .qstash!.messages()
      .find((m) => m.url.endsWith('/jobs/send') && m.body.includes(q!.message.id))!;
    expect(job).toMatchObject({ state: 'delivered', attempts: 1 });
    const handOff = h.qstash!.messages().filter((m) => m.url.endsWith('/jobs/send-accepted'));
    expect(handOff).toHaveLength(1);
    expect(handOff[0]).toMatchObject({ state: 'delivered' });
    const { row, attempts } = await stored(q!.message.id);
    expect(row).toMatchObject({
      status: 'sent',
      provider_message_id: expect.stringMatching(/^wamid\./),
    });
    expect(JSON.parse(handOff[0]!.body).payload.providerMessageId).toBe(row!.provider_message_id);
    expect(attempts).toEqual([{ outcome: 'sent', provider_message_id: row!.provider_message_id }]);

    // A repeated hand-off changes nothing; any later delivery of the send job, long after the
    // claim went stale, sends nothing.
    expect((await deliverJob(h, 'send-accepted', handOff[0]!.body)).status).toBe(200);
    clock.advance(10 * 60_000);
    expect((await deliverSendJob(h, sendJobBody(h, q!.message.id))).status).toBe(200);
    await h.settle();
    expect(graphSends(h)).toHaveLength(1);
    expect(await stored(q!.message.id)).toEqual({ row, attempts });
  });
});

describe('send job: Meta does not answer in time', () => {
  const clock = manualClock();
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    // A short Graph timeout instead of 20 s; the stand-in holds its answer far longer.
    h = await createHarness({
      clock,
      statusProgression: false,
      jobs: [createSendJob({ graphTimeoutMs: 300 })],
    });
    sql = adminSql();
    ({ db, close: closeDb } = connect(h.bindings.DATABASE_URL!));
    t = await createTenant(sql, 'Slow Meta');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
    await h.close();
  });
  beforeEach(() => {
    clock.set(new Date());
    h.graph!.reset();
  });

  it('fails it as "outcome unknown" without sending it again; an operator can retry it', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.delayNext(60_000);
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['are you there?']);
    await h.settle();
    expect(graphSends(h)).toHaveLength(1);
    const [row] =
      await sql`select status, error_code, error_reason, provider_message_id from messages where id = ${q!.message.id}`;
    expect(row).toEqual({
      status: 'failed',
      error_code: 'outcome_unknown',
      error_reason: SEND_OUTCOME_UNKNOWN_REASON,
      provider_message_id: null,
    });
    expect(SEND_OUTCOME_UNKNOWN_REASON).toContain('it was not sent again to avoid a duplicate');
    const attempts =
      await sql`select outcome, error_code from send_attempts where message_id = ${q!.message.id}`;
    expect(attempts).toEqual([{ outcome: 'failed', error_code: 'outcome_unknown' }]);

    // Neither a late redelivery nor the takeover of an old claim sends it again.
    clock.advance(10 * 60_000);
    expect((await deliverSendJob(h, sendJobBody(h, q!.message.id))).status).toBe(200);
    await h.settle();
    expect(graphSends(h)).toHaveLength(1);

    // The operator, having checked the conversation, retries it: it goes out as a new attempt.
    const retry = await h.asUser(t.agent, `/admin/messages/${q!.message.id}/retry`, {
      method: 'POST',
    });
    expect(retry.status).toBe(202);
    await h.settle();
    expect(graphSends(h)).toHaveLength(2);
    const [after] = await sql`select status from messages where id = ${q!.message.id}`;
    expect(after?.status).toBe('sent');
  });
});

describe('send job: statuses carrying our message id bind a provider id we never recorded', () => {
  const clock = manualClock();
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    h = await createHarness({
      clock,
      statusProgression: true,
      jobs: [createSendJob({ graphTimeoutMs: 300 })],
    });
    sql = adminSql();
    ({ db, close: closeDb } = connect(h.bindings.DATABASE_URL!));
    t = await createTenant(sql, 'Bound by status');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
    await h.close();
  });
  beforeEach(() => {
    clock.set(new Date());
    h.graph!.reset();
  });

  /** [wamid, biz_opaque_callback_data] of every status webhook the stand-in posted. */
  function statusIds() {
    return h.graph!.webhooks.flatMap((w) =>
      w.body.object === 'whatsapp_business_account'
        ? (w.body as WhatsAppWebhookBody).entry.flatMap((e) =>
            e.changes.flatMap((c) =>
              ((c.value as WhatsAppMessagesValue).statuses ?? []).map((s) => [
                s.id,
                s.biz_opaque_callback_data,
              ]),
            ),
          )
        : [],
    );
  }

  it('a send whose answer never came (recordSent never ran) ends with the provider id, at read', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    h.graph!.delayNext(60_000);
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['no answer']);
    await h.settle();
    expect(graphSends(h)).toHaveLength(1);
    const ids = statusIds();
    expect(ids).toHaveLength(3);
    const wamid = ids[0]![0]!;
    expect(ids).toEqual(ids.map(() => [wamid, q!.message.id]));
    const [row] =
      await sql`select status, error_code, provider_message_id from messages where id = ${q!.message.id}`;
    expect(row).toEqual({ status: 'read', error_code: null, provider_message_id: wamid });
    const attempts =
      await sql`select outcome, provider_message_id from send_attempts where message_id = ${q!.message.id}`;
    expect(attempts).toEqual([{ outcome: 'sent', provider_message_id: wamid }]);
    const events =
      await sql`select message_id from message_status_events where provider_message_id = ${wamid}`;
    expect(events.map((e) => e.message_id)).toEqual([q!.message.id, q!.message.id, q!.message.id]);
  });

  it('a claim a crash left behind after Meta accepted it is bound by the status, so no takeover resends it', async () => {
    const conv = await createConversation(sql, t, { now: clock.now() });
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['crashed']);
    // The worker claimed it, Meta accepted it, and the worker died before writing anything more.
    await sql`update messages set status = 'sending' where id = ${q!.message.id}`;
    await sql`insert into send_attempts (tenant_id, message_id, attempt, outcome, started_at)
      values (${t.tenantId}, ${q!.message.id}, 1, 'sending', ${clock.now()})`;
    const wamid = `wamid.CRASHED${Date.now()}`;
    const status = (value: 'sent' | 'delivered', callbackData: string) =>
      postWebhook(
        h,
        whatsappStatusBody({
          ...waNumber(t),
          messageId: wamid,
          status: value,
          recipientId: conv.externalUserId,
          bizOpaqueCallbackData: callbackData,
        }),
      );
    // Someone else's callback data (any app on the number may set it) binds nothing.
    expect((await status('sent', 'not-one-of-ours')).status).toBe(200);
    const [unbound] =
      await sql`select provider_message_id from messages where id = ${q!.message.id}`;
    expect(unbound?.provider_message_id).toBeNull();
    expect((await status('delivered', q!.message.id)).status).toBe(200);

    clock.advance(10 * 60_000);
    await h.settle();
    expect((await deliverSendJob(h, sendJobBody(h, q!.message.id))).status).toBe(200);
    expect(graphSends(h)).toHaveLength(0);
    const [row] =
      await sql`select status, provider_message_id from messages where id = ${q!.message.id}`;
    // Both statuses applied: the earlier one was waiting for the id.
    expect(row).toEqual({ status: 'delivered', provider_message_id: wamid });
    const pending =
      await sql`select count(*)::int as n from message_status_events where provider_message_id = ${wamid} and applied_at is null`;
    expect(pending[0]?.n).toBe(0);
  });
});

describe('send job: a Messenger/Instagram claim a crash left behind is not sent again blind', () => {
  const clock = manualClock();
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    h = await createHarness({ clock, statusProgression: false });
    sql = adminSql();
    ({ db, close: closeDb } = connect(h.bindings.DATABASE_URL!));
    t = await createTenant(sql, 'Crashed messaging');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
    await h.close();
  });

  /** A reply whose worker claimed it and died before Meta's answer was written. */
  async function crashedClaim(channel: 'messenger' | 'instagram', text: string) {
    const conv = await createConversation(sql, t, { channel, now: clock.now() });
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, [text]);
    await sql`update messages set status = 'sending' where id = ${q!.message.id}`;
    await sql`insert into send_attempts (tenant_id, message_id, attempt, outcome, started_at)
      values (${t.tenantId}, ${q!.message.id}, 1, 'sending', ${clock.now()})`;
    clock.advance(10 * 60_000);
    return { conv, messageId: q!.message.id as string };
  }

  const row = async (id: string) =>
    must(
      (await sql`select status, error_code, provider_message_id from messages where id = ${id}`)[0],
      'the message',
    );

  it('a Messenger send names our message in `metadata`, for its echo', async () => {
    h.graph!.reset();
    const conv = await createConversation(sql, t, { channel: 'messenger', now: clock.now() });
    const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['named']);
    await h.settle();
    const sent = must(graphSends(h)[0], 'the send');
    expect((sent.body as { message?: { metadata?: string } }).message?.metadata).toBe(
      q!.message.id,
    );
  });

  it.each(['messenger', 'instagram'] as const)(
    '%s: the takeover fails it as outcome unknown and sends nothing',
    async (channel) => {
      h.graph!.reset();
      const { messageId } = await crashedClaim(channel, `crashed on ${channel}`);
      expect((await deliverSendJob(h, sendJobBody(h, messageId))).status).toBe(200);
      expect(graphSends(h)).toHaveLength(0);
      expect(await row(messageId)).toMatchObject({
        status: 'failed',
        error_code: 'outcome_unknown',
      });
      const outcomes = await sql`select outcome, error_code from send_attempts
        where message_id = ${messageId} order by attempt`;
      expect(outcomes.map((a) => [a.outcome, a.error_code])).toEqual([
        ['failed', 'outcome_unknown'],
      ]);
    },
  );

  it("Messenger: our own send's echo, naming the message, binds it as sent after all", async () => {
    h.graph!.reset();
    const { conv, messageId } = await crashedClaim('messenger', 'did it go out?');
    await deliverSendJob(h, sendJobBody(h, messageId));
    const echo = (metadata: string, mid: string) =>
      postWebhook(
        h,
        messengerMessageBody({
          pageId: t.accounts.messenger.externalId,
          psid: conv.externalUserId,
          mid,
          text: 'did it go out?',
          isEcho: true,
          appId: must(h.bindings.META_APP_ID, 'the app id'),
          metadata,
        }),
      );
    // Metadata that is not one of our message ids binds nothing.
    expect((await echo('not-ours', `m_OTHER${Date.now()}`)).status).toBe(200);
    expect(await row(messageId)).toMatchObject({ status: 'failed', provider_message_id: null });
    const mid = `m_ECHO${Date.now()}`;
    expect((await echo(messageId, mid)).status).toBe(200);
    expect(await row(messageId)).toMatchObject({ status: 'sent', provider_message_id: mid });
    const outcomes = await sql`select outcome from send_attempts where message_id = ${messageId}`;
    expect(outcomes.map((a) => a.outcome)).toEqual(['sent']);
    expect(graphSends(h)).toHaveLength(0);
    // The conversation was not locked by our own echo.
    const [c] = await sql`select is_locked from conversations where id = ${conv.conversationId}`;
    expect(c?.is_locked).toBe(false);
  });
  it("Instagram: our own send's echo (no metadata) binds it by its customer and text", async () => {
    h.graph!.reset();
    const text = `did it go out on Instagram? ${crypto.randomUUID()}`;
    const { conv, messageId } = await crashedClaim('instagram', text);
    await deliverSendJob(h, sendJobBody(h, messageId));
    expect(await row(messageId)).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    const echo = (igsid: string, echoed: string, mid: string) =>
      postWebhook(
        h,
        instagramMessageBody({
          igId: t.accounts.instagram.externalId,
          igsid,
          mid,
          text: echoed,
          isEcho: true,
          appId: must(h.bindings.META_APP_ID, 'the app id'),
        }),
      );
    // Another text, or the same text to another customer, binds nothing.
    expect((await echo(conv.externalUserId, 'something else', `m_A${Date.now()}`)).status).toBe(
      200,
    );
    expect((await echo('17840000000000999', text, `m_B${Date.now()}`)).status).toBe(200);
    expect(await row(messageId)).toMatchObject({ status: 'failed', provider_message_id: null });
    const mid = `m_IGECHO${Date.now()}`;
    expect((await echo(conv.externalUserId, text, mid)).status).toBe(200);
    expect(await row(messageId)).toMatchObject({ status: 'sent', provider_message_id: mid });
    const outcomes = await sql`select outcome from send_attempts where message_id = ${messageId}`;
    expect(outcomes.map((a) => a.outcome)).toEqual(['sent']);
    expect(graphSends(h)).toHaveLength(0);
    const [c] = await sql`select is_locked from conversations where id = ${conv.conversationId}`;
    expect(c?.is_locked).toBe(false);
  });
});

describe('send job: an echo of our own send arrives before its provider id is recorded', () => {
  const clock = manualClock();
  const accounts: MetaAccount[] = [];
  let h: Harness;
  let echoingGraph: MetaGraphStandIn;
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    // Meta posts the echo before answering, without our app id (so it is not recognised as ours).
    echoingGraph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      webhookUrl: `${TEST_PUBLIC_BASE_URL}/webhooks/meta`,
      deliverWebhook: (request) => h.request(request),
      accounts,
      statusProgression: false,
      messagingEchoes: {},
    });
    h = await createHarness({ clock, bindings: { GRAPH_API_BASE_URL: echoingGraph.url } });
    sql = adminSql();
    ({ db, close: closeDb } = connect(h.bindings.DATABASE_URL!));
    t = await createTenant(sql, 'Echo first');
    accounts.push(
      { channel: 'messenger', pageId: t.accounts.messenger.externalId },
      { channel: 'instagram', igId: t.accounts.instagram.externalId },
    );
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
    await h.close();
    await echoingGraph.close();
  });

  it.each(['messenger', 'instagram'] as const)(
    '%s: one message row, the conversation not locked, sent once',
    async (channel) => {
      echoingGraph.reset();
      const conv = await createConversation(sql, t, { channel, now: clock.now() });
      const [q] = await queueAndPublish(h, db, clock, t, conv.conversationId, ['hello, human']);
      await h.settle();
      const sent = echoingGraph.requests.filter((r) => r.method === 'POST');
      expect(sent).toHaveLength(1);
      const echoes = echoingGraph.webhooks.filter((w) => w.status === 200);
      expect(echoes).toHaveLength(1);
      const outbound =
        await sql`select id, sender, status, provider_message_id from messages where conversation_id = ${conv.conversationId} and direction = 'outbound'`;
      expect(outbound).toEqual([
        {
          id: q!.message.id,
          sender: 'agent',
          status: 'sent',
          provider_message_id: expect.stringMatching(/^m_/),
        },
      ]);
      const [c] =
        await sql`select is_locked, locked_by from conversations where id = ${conv.conversationId}`;
      expect(c).toEqual({ is_locked: false, locked_by: null });
      const history =
        await sql`select locked, source from conversation_lock_events where conversation_id = ${conv.conversationId} order by at, locked desc`;
      // The echo locked it (through the lock function, so the history says so), and recording
      // our send recognised the echo as ours and released that lock again.
      expect(history).toEqual([
        { locked: true, source: 'echo' },
        { locked: false, source: 'echo' },
      ]);

      clock.advance(10 * 60_000);
      expect((await deliverSendJob(h, sendJobBody(h, q!.message.id))).status).toBe(200);
      await h.settle();
      expect(echoingGraph.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    },
  );

  it('an echo of a reply a person sent from the Page inbox still locks the conversation', async () => {
    echoingGraph.reset();
    const conv = await createConversation(sql, t, { channel: 'messenger', now: clock.now() });
    const res = await postWebhook(
      h,
      messengerMessageBody({
        pageId: t.accounts.messenger.externalId,
        psid: conv.externalUserId,
        text: 'typed in the Page inbox',
        isEcho: true,
      }),
    );
    expect(res.status).toBe(200);
    const [c] =
      await sql`select is_locked, locked_by from conversations where id = ${conv.conversationId}`;
    expect(c).toEqual({ is_locked: true, locked_by: 'echo' });
  });
});
