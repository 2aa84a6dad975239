import { describe, expect } from 'vitest';
import { randomWamid } from '../dev/meta-payloads';
import { it as base, must } from '../test/it';
import { customerPhone, insertOutbound } from '../test/meta-webhooks';
import { asTenant } from './client';
import { OUTCOME_UNKNOWN, recordStatus, type StatusReport } from './statuses';

function report(providerMessageId: string, extra: Partial<StatusReport> = {}): StatusReport {
  return {
    providerMessageId,
    providerStatus: extra.status ?? 'delivered',
    status: 'delivered',
    timestamp: new Date(),
    ...extra,
  };
}

const it = base
  /** Records a status for the tenant, on its WhatsApp account unless told otherwise. */
  .extend('record', { scope: 'file' }, ({ db, tenant: t }) => {
    return (r: StatusReport, account = t.accounts.whatsapp.id) =>
      asTenant(db, t.tenantId, (ctx) => recordStatus(ctx, account, r));
  })
  /** An outbound message of ours with no provider id, in the given state. */
  .extend('unrecorded', { scope: 'file' }, ({ sql, tenant: t }) => {
    return async (status: string, errorCode: string | null = null) => {
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
    };
  })
  /** A message's status, error and provider id, with its send attempts. */
  .extend('stored', { scope: 'file' }, ({ sql }) => {
    return async (id: string) => {
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
      return { ...must(row, `message ${id}`), attempts };
    };
  });

describe('recordStatus: binding a provider id we never recorded (biz_opaque_callback_data)', () => {
  it('binds a message still sending: provider id stored, sent, and the status applied', async ({
    record,
    unrecorded,
    stored,
  }) => {
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

  it('binds a message failed with an unknown outcome: it did go out, so the error is cleared', async ({
    record,
    unrecorded,
    stored,
  }) => {
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

  it("applies Meta's own failure after binding (accepted, then undeliverable)", async ({
    record,
    unrecorded,
    stored,
  }) => {
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

  it('binds nothing else: other failures, queued messages, ids already held, other accounts, junk', async ({
    sql,
    tenant: t,
    record,
    unrecorded,
    stored,
  }) => {
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
