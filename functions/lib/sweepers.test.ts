import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { SEND_REASONS } from '../../core/messaging/send-reasons';
import { asTenant } from '../../db/client';
import { queueOutboundMessage } from '../../db/outbound';
import { MAX_SWEEPS } from '../../db/outbound/stuck';
import { MAX_SWEEPER_REPLAYS, recordWebhookEvent } from '../../db/webhook-events';
import { encodeMetaBody, whatsappMessageBody } from '../../dev/meta-payloads';
import { createConversation } from '../../test/conversations';
import type { Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import { customerPhone, waNumber } from '../../test/meta-webhooks';
import { parseEnv } from '../env';
import { createServices } from '../services';
import { replayStaleEvents, sweepStuckSends } from './sweepers';

it.override('harnessOptions', { statusProgression: false });

/** Runs one sweep with services built from the harness's bindings (or others: QStash down). */
async function withServices<T>(
  h: Harness,
  run: (
    s: ReturnType<typeof createServices>['services'],
    env: ReturnType<typeof parseEnv>,
  ) => Promise<T>,
  bindings = h.bindings,
): Promise<T> {
  const env = parseEnv(bindings);
  const { services, close } = createServices(env);
  try {
    return await run(services, env);
  } finally {
    await close();
  }
}

/**
 * Moves a message's last change an hour back. The database stamps `updated_at` on every write
 * (a trigger), so the stamp is skipped for this one transaction.
 */
async function ageMessage(sql: postgres.Sql, messageId: string, status?: string) {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update messages set updated_at = now() - interval '1 hour',
      status = coalesce(${status ?? null}::message_status, status) where id = ${messageId}`;
  });
}

/**
 * Marks a test's never-published jobs published: the database is shared by the test files, and
 * another file's outbox sweep would otherwise publish them to its own harness.
 */
async function forgetJobs(sql: postgres.Sql, messageIds: string[]) {
  await sql`update job_outbox set status = 'published'
    where payload->>'messageId' in ${sql(messageIds)} and status = 'pending'`;
}

const textSendsOf = (h: Harness, body: string) =>
  must(h.graph, 'the Graph stand-in').requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path.endsWith('/messages') &&
      (r.body as { text?: { body?: string } }).text?.body === body,
  );

describe('the stuck-send sweeper', () => {
  /** A reply queued with its job, never published (the job was lost), both an hour old. */
  const queueLost = async (
    {
      db,
      sql,
      tenant,
    }: {
      db: Parameters<typeof asTenant>[0];
      sql: postgres.Sql;
      tenant: import('../../test/fixtures').TenantFixture;
    },
    text: string,
  ) => {
    const conv = await createConversation(sql, tenant);
    const queued = await asTenant(db, tenant.tenantId, (ctx) =>
      queueOutboundMessage(ctx, {
        conversationId: conv.conversationId,
        sender: 'agent',
        message: text,
        now: new Date(),
      }),
    );
    await sql`update job_outbox set created_at = now() - interval '1 hour', not_before = now() - interval '1 hour',
      status = 'published' where id = ${queued.job.id}`;
    await ageMessage(sql, queued.message.id);
    return { conv, messageId: queued.message.id as string };
  };

  it('gives a send whose job was lost a new one: sent once, and the next sweep leaves it alone', async ({
    harness: h,
    db,
    sql,
    tenant,
  }) => {
    const text = `lost ${crypto.randomUUID()}`;
    const { messageId } = await queueLost({ db, sql, tenant }, text);
    const first = await withServices(h, sweepStuckSends);
    expect(first.requeued).toBeGreaterThanOrEqual(1);
    await h.settle();
    const [row] = await sql`select status from messages where id = ${messageId}`;
    expect(row?.status).toBe('sent');
    expect(textSendsOf(h, text)).toHaveLength(1);
    await withServices(h, sweepStuckSends);
    await h.settle();
    expect(textSendsOf(h, text)).toHaveLength(1);
  });

  it('leaves sends with a job still due alone: a fresh one, and one held for quiet hours', async ({
    harness: h,
    db,
    sql,
    tenant,
  }) => {
    const conv = await createConversation(sql, tenant);
    const queue = (text: string) =>
      asTenant(db, tenant.tenantId, (ctx) =>
        queueOutboundMessage(ctx, {
          conversationId: conv.conversationId,
          sender: 'agent',
          message: text,
          now: new Date(),
        }),
      );
    const fresh = await queue('fresh');
    const held = await queue('held until morning');
    // Its message is old, but its job is due tomorrow (a follow-up held by quiet hours).
    await ageMessage(sql, fresh.message.id);
    await ageMessage(sql, held.message.id);
    await sql`update job_outbox set created_at = now() - interval '1 hour', not_before = now() + interval '10 hours'
      where id = ${held.job.id}`;
    await withServices(h, sweepStuckSends);
    const jobs = await sql`select count(*)::int as n from job_outbox
      where payload->>'messageId' in ${sql([fresh.message.id, held.message.id])} and dedupe_key like 'sweep-send:%'`;
    expect(jobs[0]?.n).toBe(0);
    const rows =
      await sql`select status from messages where id in ${sql([fresh.message.id, held.message.id])}`;
    expect(rows.map((r) => r.status)).toEqual(['queued', 'queued']);
    await forgetJobs(sql, [fresh.message.id, held.message.id]);
  });

  it(`fails a queued send lost again after ${MAX_SWEEPS} recoveries with its reason, and the conversation moves on`, async ({
    harness: h,
    db,
    sql,
    tenant,
  }) => {
    const text = `lost again ${crypto.randomUUID()}`;
    const { messageId } = await queueLost({ db, sql, tenant }, text);
    const qstashDown = { ...h.bindings, QSTASH_URL: 'http://127.0.0.1:9' };
    for (let sweep = 1; sweep <= MAX_SWEEPS; sweep++) {
      const counts = await withServices(h, sweepStuckSends, qstashDown);
      expect(counts.requeued).toBeGreaterThanOrEqual(1);
      // Its new job was lost too: aged past the grace period, and marked published so that no
      // other test file's outbox sweep (the database is shared) delivers it meanwhile.
      await sql`update job_outbox set created_at = now() - interval '1 hour', not_before = null,
        status = 'published' where payload->>'messageId' = ${messageId}`;
      await ageMessage(sql, messageId);
    }
    const last = await withServices(h, sweepStuckSends, qstashDown);
    expect(last.failed).toBeGreaterThanOrEqual(1);
    const [row] =
      await sql`select status, error_code, error_reason from messages where id = ${messageId}`;
    expect(row).toMatchObject({
      status: 'failed',
      error_code: 'send_stuck',
      error_reason: SEND_REASONS.send_stuck,
    });
    const attempts =
      await sql`select outcome, error_code from send_attempts where message_id = ${messageId}`;
    expect(attempts.map((a) => [a.outcome, a.error_code])).toEqual([['failed', 'send_stuck']]);
    expect(textSendsOf(h, text)).toHaveLength(0);
    await forgetJobs(sql, [messageId]);
  });

  it('fails a send left `sending` after its recoveries as outcome unknown, never sending it blind', async ({
    harness: h,
    db,
    sql,
    tenant,
  }) => {
    const text = `claimed ${crypto.randomUUID()}`;
    const { messageId } = await queueLost({ db, sql, tenant }, text);
    await ageMessage(sql, messageId, 'sending');
    for (let n = 1; n <= MAX_SWEEPS; n++) {
      await sql`insert into job_outbox (tenant_id, kind, payload, dedupe_key, status, created_at)
        values (${tenant.tenantId}, 'send', ${sql.json({ messageId })}, ${`sweep-send:${messageId}:${n}`},
                'published', now() - interval '1 hour')`;
    }
    const counts = await withServices(h, sweepStuckSends);
    expect(counts.failed).toBeGreaterThanOrEqual(1);
    await h.settle();
    const [row] = await sql`select status, error_code from messages where id = ${messageId}`;
    expect(row).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    expect(textSendsOf(h, text)).toHaveLength(0);
  });

  it("does not touch another tenant's view: each recovery runs under the message's own tenant", async ({
    harness: h,
    db,
    sql,
    tenant,
    otherTenant,
  }) => {
    const mine = await queueLost({ db, sql, tenant }, `mine ${crypto.randomUUID()}`);
    const theirs = await queueLost(
      { db, sql, tenant: otherTenant },
      `theirs ${crypto.randomUUID()}`,
    );
    await withServices(h, sweepStuckSends);
    const jobs = await sql`select tenant_id, payload->>'messageId' as message_id from job_outbox
      where dedupe_key like 'sweep-send:%' and payload->>'messageId' in ${sql([mine.messageId, theirs.messageId])}`;
    const tenantOf = new Map(jobs.map((j) => [j.message_id as string, j.tenant_id as string]));
    expect(tenantOf.get(mine.messageId)).toBe(tenant.tenantId);
    expect(tenantOf.get(theirs.messageId)).toBe(otherTenant.tenantId);
    await h.settle();
  });
});

describe('the received-event sweeper', () => {
  /** A body as the webhook keeps it when its processing failed: `received`, ten minutes old. */
  const keepReceived = async (
    db: Parameters<typeof asTenant>[0],
    sql: postgres.Sql,
    body: unknown,
    signedFor: string[] | null,
  ) => {
    const id = crypto.randomUUID();
    await db.transaction((tx) =>
      recordWebhookEvent(
        { tx },
        {
          id,
          provider: 'meta',
          object: 'whatsapp_business_account',
          rawBody: encodeMetaBody(body),
          signedFor,
        },
      ),
    );
    await sql`update webhook_events set received_at = now() - interval '10 minutes' where id = ${id}`;
    return id;
  };

  it('replays a body left `received`: its message is stored once, the event processed', async ({
    harness: h,
    db,
    sql,
    tenant,
  }) => {
    const wamid = `wamid.SWEEP${crypto.randomUUID()}`;
    const id = await keepReceived(
      db,
      sql,
      whatsappMessageBody({
        ...waNumber(tenant),
        from: customerPhone(),
        id: wamid,
        message: { type: 'text', text: 'hello?' },
      }),
      null,
    );
    const counts = await withServices(h, replayStaleEvents);
    expect(counts.replayed).toBeGreaterThanOrEqual(1);
    const [event] = await sql`select outcome, tenant_id from webhook_events where id = ${id}`;
    expect(event).toMatchObject({ outcome: 'processed', tenant_id: tenant.tenantId });
    await withServices(h, replayStaleEvents);
    const stored = await sql`select id from messages where provider_message_id = ${wamid}`;
    expect(stored).toHaveLength(1);
    await h.settle();
  });

  it("replays a body signed with an account's own secret for that account only", async ({
    harness: h,
    db,
    sql,
    tenant,
    otherTenant,
  }) => {
    const wamid = `wamid.SWEEP${crypto.randomUUID()}`;
    // Signed for the other tenant's account, but it speaks for this tenant's number.
    const id = await keepReceived(
      db,
      sql,
      whatsappMessageBody({
        ...waNumber(tenant),
        from: customerPhone(),
        id: wamid,
        message: { type: 'text', text: 'sneaky' },
      }),
      [otherTenant.accounts.whatsapp.id],
    );
    await withServices(h, replayStaleEvents);
    const [event] = await sql`select outcome, reason from webhook_events where id = ${id}`;
    expect(event?.outcome).toBe('dead');
    expect(String(event?.reason)).toContain('not signed with its app secret');
    expect(await sql`select id from messages where provider_message_id = ${wamid}`).toHaveLength(0);
  });

  it(`counts replays that fail again, and leaves the event dead after ${MAX_SWEEPER_REPLAYS}`, async ({
    sql,
  }) => {
    const id = crypto.randomUUID();
    await sql`select app.record_webhook_event(${id}::uuid, 'meta', null, '{}', null)`;
    for (let n = 1; n < MAX_SWEEPER_REPLAYS; n++) {
      await sql`select app.note_failed_replay(${id}::uuid, 'replay by the sweeper failed: Error', ${MAX_SWEEPER_REPLAYS})`;
    }
    const [before] = await sql`select outcome, attempts from webhook_events where id = ${id}`;
    expect(before).toMatchObject({ outcome: 'received', attempts: MAX_SWEEPER_REPLAYS - 1 });
    await sql`select app.note_failed_replay(${id}::uuid, 'replay by the sweeper failed: Error', ${MAX_SWEEPER_REPLAYS})`;
    const [after] = await sql`select outcome, reason from webhook_events where id = ${id}`;
    expect(after).toMatchObject({ outcome: 'dead', reason: 'replay by the sweeper failed: Error' });
  });
});
