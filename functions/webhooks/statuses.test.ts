import { describe, expect } from 'vitest';
import { graphErrorReason } from '../../core/messaging/graph-errors';
import { asTenant } from '../../db/client';
import { applyPendingStatuses } from '../../db/statuses';
import { randomWamid, whatsappStatusBody } from '../../dev/meta-payloads';
import { TEST_GRAPH_TOKEN, type TenantFixture } from '../../test/fixtures';
import type { Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import {
  customerPhone,
  insertOutbound,
  postWebhook,
  secondsAgo,
  statusOf,
  waNumber,
} from '../../test/meta-webhooks';

describe('WhatsApp delivery statuses', () => {
  const status = (
    h: Harness,
    t: TenantFixture,
    messageId: string,
    value: 'sent' | 'delivered' | 'read' | 'failed' | 'played',
    extra: Partial<Parameters<typeof whatsappStatusBody>[0]> = {},
  ) =>
    postWebhook(
      h,
      whatsappStatusBody({
        ...waNumber(t),
        messageId,
        status: value,
        recipientId: '34600000000',
        timestamp: secondsAgo(10),
        ...extra,
      }),
    );

  it('only move forward: read is never overwritten by a late delivered or sent', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const wamid = randomWamid();
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: wamid,
    });
    expect((await status(h, t, wamid, 'read')).status).toBe(200);
    expect((await status(h, t, wamid, 'delivered')).status).toBe(200);
    expect((await status(h, t, wamid, 'sent')).status).toBe(200);
    expect(await statusOf(sql, message.id)).toEqual({
      status: 'read',
      error_code: null,
      error_reason: null,
    });
    const audit =
      await sql`select provider_status, applied_at is not null as applied from message_status_events
      where provider_message_id = ${wamid} order by created_at`;
    expect(audit).toEqual([
      { provider_status: 'read', applied: true },
      { provider_status: 'delivered', applied: true },
      { provider_status: 'sent', applied: true },
    ]);
  });

  it('played (a voice note was listened to) counts as read; a repeated status is recorded once', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const wamid = randomWamid();
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: wamid,
    });
    await status(h, t, wamid, 'delivered');
    await status(h, t, wamid, 'played');
    await status(h, t, wamid, 'played', { timestamp: secondsAgo(5) });
    expect((await statusOf(sql, message.id))?.status).toBe('read');
    const rows =
      await sql`select provider_status, status from message_status_events where provider_message_id = ${wamid} order by provider_status`;
    expect(rows).toEqual([
      { provider_status: 'delivered', status: 'delivered' },
      { provider_status: 'played', status: 'read' },
    ]);
  });

  it('failed carries the code and a plain-language reason, and beats sent but not delivered or read', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const wamid = randomWamid();
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: wamid,
    });
    await status(h, t, wamid, 'failed', {
      errors: [
        { code: 131047, title: 'Re-engagement message', details: 'More than 24 hours have passed' },
      ],
    });
    await status(h, t, wamid, 'sent');
    expect(await statusOf(sql, message.id)).toEqual({
      status: 'failed',
      error_code: '131047',
      error_reason: graphErrorReason(131047),
    });
    const [event] =
      await sql`select error_code, error_title, error_details from message_status_events
      where provider_message_id = ${wamid} and provider_status = 'failed'`;
    expect(event).toEqual({
      error_code: '131047',
      error_title: 'Re-engagement message',
      error_details: 'More than 24 hours have passed',
    });

    // Meta does not order statuses: a delivered after failed means the customer got it.
    const late = randomWamid();
    const other = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: late,
    });
    await status(h, t, late, 'delivered');
    await status(h, t, late, 'failed', {
      errors: [{ code: 131026, title: 'Message undeliverable' }],
    });
    expect(await statusOf(sql, other.message.id)).toEqual({
      status: 'delivered',
      error_code: null,
      error_reason: null,
    });
  });

  it('a failure with a code Meta did not document falls back to Meta’s own words', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const wamid = randomWamid();
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: wamid,
    });
    await status(h, t, wamid, 'failed', {
      errors: [{ code: 999999, title: 'Something odd', details: 'details here' }],
    });
    expect(await statusOf(sql, message.id)).toEqual({
      status: 'failed',
      error_code: '999999',
      error_reason: 'Meta refused the message: Something odd: details here',
    });
  });

  it('a status for a message nobody has recorded yet waits, and applyPendingStatuses applies it', async ({
    harness: h,
    sql,
    db,
    tenant: t,
  }) => {
    const wamid = randomWamid();
    await status(h, t, wamid, 'delivered');
    await status(h, t, wamid, 'read');
    const pending = await sql`select provider_status from message_status_events
      where provider_message_id = ${wamid} and applied_at is null order by provider_status`;
    expect(pending.map((p) => p.provider_status)).toEqual(['delivered', 'read']);
    // The send job records the provider id, then applies what waited (in its own transaction).
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: customerPhone(),
      providerMessageId: null,
      status: 'sending',
    });
    await sql`update messages set provider_message_id = ${wamid}, status = 'sent' where id = ${message.id}`;
    const applied = await asTenant(db, t.tenantId, (ctx) =>
      applyPendingStatuses(ctx, t.accounts.whatsapp.id, wamid),
    );
    expect(applied).toBe(2);
    expect((await statusOf(sql, message.id))?.status).toBe('read');
    const left =
      await sql`select count(*)::int as n from message_status_events where provider_message_id = ${wamid} and applied_at is null`;
    expect(left[0]?.n).toBe(0);
  });

  it('end to end with the Graph stand-in: its statuses arrive before the id is recorded and still land', async ({
    harness: h,
    sql,
    db,
    tenant: t,
  }) => {
    const phone = customerPhone();
    const { message } = await insertOutbound(sql, t, {
      channel: 'whatsapp',
      customer: phone,
      providerMessageId: null,
      status: 'sending',
    });
    const graph = must(h.graph, 'the Graph stand-in');
    const res = await fetch(`${graph.url}/v23.0/${t.accounts.whatsapp.externalId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_GRAPH_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        messaging_product: 'whatsapp',
        to: phone,
        type: 'text',
        text: { body: 'hi' },
      }),
    });
    const { messages } = (await res.json()) as { messages: Array<{ id: string }> };
    const wamid = must(messages[0], 'the message the Graph stand-in accepted').id;
    await graph.flushWebhooks();
    expect(
      graph.webhooks.filter((w) => JSON.stringify(w.body).includes(wamid)).map((w) => w.status),
    ).toEqual([200, 200, 200]);
    expect((await statusOf(sql, message.id))?.status).toBe('sending');
    await sql`update messages set provider_message_id = ${wamid}, status = 'sent' where id = ${message.id}`;
    await asTenant(db, t.tenantId, (ctx) =>
      applyPendingStatuses(ctx, t.accounts.whatsapp.id, wamid),
    );
    expect((await statusOf(sql, message.id))?.status).toBe('read');
  });
});
