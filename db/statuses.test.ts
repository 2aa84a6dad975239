import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomWamid } from '../dev/meta-payloads';
import { adminSql, createTenant, type TenantFixture } from '../test/fixtures';
import { customerPhone, insertOutbound } from '../test/meta-webhooks';
import { asTenant, connect, type Database } from './client';
import { OUTCOME_UNKNOWN, recordStatus, type StatusReport } from './statuses';

describe('recordStatus: binding a provider id we never recorded (biz_opaque_callback_data)', () => {
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    sql = adminSql();
    ({ db, close: closeDb } = connect(inject('databaseUrl')));
    t = await createTenant(sql, 'Binding');
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
  });

  const whatsapp = () => t.accounts.whatsapp.id;

  function report(providerMessageId: string, extra: Partial<StatusReport> = {}): StatusReport {
    return {
      providerMessageId,
      providerStatus: extra.status ?? 'delivered',
      status: 'delivered',
      timestamp: new Date(),
      ...extra,
    };
  }

  const record = (r: StatusReport, account = whatsapp()) =>
    asTenant(db, t.tenantId, (ctx) => recordStatus(ctx, account, r));

  /** An outbound message of ours with no provider id, in the given state. */
  async function unrecorded(status: string, errorCode: string | null = null) {
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: null,
      status,
    });
    await sql`update messages set error_code = ${errorCode}, error_reason = ${errorCode ? 'why' : null}
      where id = ${message.id}`;
    await sql`insert into send_attempts (tenant_id, message_id, attempt, outcome, started_at, error_code)
      values (${t.tenantId}, ${message.id}, 1, ${status === 'failed' ? 'failed' : 'sending'}, now(), ${errorCode})`;
    return message.id as string;
  }

  async function stored(id: string) {
    const [row] = await sql<
      {
        status: string;
        error_code: string | null;
        error_reason: string | null;
        provider_message_id: string | null;
      }[]
    >`select status, error_code, error_reason, provider_message_id from messages where id = ${id}`;
    const attempts =
      await sql`select outcome, provider_message_id from send_attempts where message_id = ${id}`;
    return { ...row!, attempts };
  }

  it('binds a message still sending: provider id stored, sent, and the status applied', async () => {
    const id = await unrecorded('sending');
    const wamid = randomWamid();
    expect(await record(report(wamid, { callbackData: id }))).toBe('applied');
    expect(await stored(id)).toEqual({
      status: 'delivered',
      error_code: null,
      error_reason: null,
      provider_message_id: wamid,
      attempts: [{ outcome: 'sent', provider_message_id: wamid }],
    });
    // Later statuses find it by the provider id, with or without the callback data.
    expect(await record(report(wamid, { status: 'read', providerStatus: 'read' }))).toBe('applied');
    expect((await stored(id)).status).toBe('read');
  });

  it('binds a message failed with an unknown outcome: it did go out, so the error is cleared', async () => {
    const id = await unrecorded('failed', OUTCOME_UNKNOWN);
    const wamid = randomWamid();
    const sent = report(wamid, { status: 'sent', providerStatus: 'sent', callbackData: id });
    expect(await record(sent)).toBe('applied');
    expect(await stored(id)).toEqual({
      status: 'sent',
      error_code: null,
      error_reason: null,
      provider_message_id: wamid,
      attempts: [{ outcome: 'sent', provider_message_id: wamid }],
    });
  });

  it("applies Meta's own failure after binding (accepted, then undeliverable)", async () => {
    const id = await unrecorded('sending');
    const wamid = randomWamid();
    const failed = report(wamid, {
      status: 'failed',
      providerStatus: 'failed',
      callbackData: id,
      error: { code: '131026', reason: 'Message undeliverable.' },
    });
    expect(await record(failed)).toBe('applied');
    expect(await stored(id)).toMatchObject({
      status: 'failed',
      error_code: '131026',
      error_reason: 'Message undeliverable.',
      provider_message_id: wamid,
    });
  });

  it('binds nothing else: other failures, queued messages, ids already held, other accounts, junk', async () => {
    const refusedByMeta = await unrecorded('failed', '131047');
    const queued = await unrecorded('queued');
    const sending = await unrecorded('sending');
    const { message: alreadySent } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: randomWamid(),
    });
    for (const callbackData of [refusedByMeta, queued, alreadySent.id as string]) {
      expect(await record(report(randomWamid(), { callbackData }))).toBe('pending');
    }
    // Our message, but the status came for another account; then callback data that is not an id.
    expect(
      await record(report(randomWamid(), { callbackData: sending }), t.accounts.messenger.id),
    ).toBe('pending');
    expect(await record(report(randomWamid(), { callbackData: 'order-42' }))).toBe('pending');
    expect(await record(report(randomWamid(), { callbackData: null }))).toBe('pending');
    for (const id of [refusedByMeta, queued, sending]) {
      expect((await stored(id)).provider_message_id).toBeNull();
    }
    expect((await stored(refusedByMeta)).error_code).toBe('131047');
    expect((await stored(sending)).status).toBe('sending');
  });
});
