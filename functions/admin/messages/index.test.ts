import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

/** A failed outbound message of tenant B, with one attempt. */
async function foreignFailedMessage(sql: postgres.Sql, b: TenantFixture) {
  const conv = await createConversation(sql, b);
  const id = crypto.randomUUID();
  await sql`insert into messages (id, tenant_id, conversation_id, channel_account_id, direction, sender, type, content, payload, provider_timestamp, status, error_code)
    values (${id}, ${b.tenantId}, ${conv.conversationId}, ${b.accounts.whatsapp.id}, 'outbound', 'operator', 'text', 'x',
            ${sql.json({ message: { type: 'text', text: 'x' } })}, now(), 'failed', '131026')`;
  await sql`insert into send_attempts (tenant_id, message_id, attempt, outcome, started_at) values (${b.tenantId}, ${id}, 1, 'failed', now())`;
  return id;
}

describeOperatorSecurity({
  method: 'POST',
  path: '/admin/messages/:foreignId/retry',
  foreignId: foreignFailedMessage,
});
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/messages/:foreignId/attempts',
  foreignId: foreignFailedMessage,
});

it.override('harnessOptions', { statusProgression: false });

const graph = (h: Harness) => must(h.graph, 'the Graph stand-in');

describe('POST /admin/messages/{id}/retry', () => {
  it.beforeEach(({ harness }) => graph(harness).reset());

  const sends = (h: Harness) =>
    graph(h).requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));

  async function failedMessage(h: Harness, sql: postgres.Sql, t: TenantFixture) {
    const conv = await createConversation(sql, t);
    graph(h).failNext({
      code: 131026,
      message: '(#131026) Message undeliverable',
      details: 'Message undeliverable.',
    });
    const res = await h.asUser(t.agent, '/admin/whatsapp/send', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: conv.conversationId, message: 'Are you there?' }),
    });
    const { id } = ((await res.json()) as { message: { id: string } }).message;
    await h.settle();
    const [row] = await sql`select status, error_code from messages where id = ${id}`;
    expect(row).toEqual({ status: 'failed', error_code: '131026' });
    return { id, conv };
  }

  it('really sends a failed message again, as a new attempt of the same message', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { id } = await failedMessage(h, sql, t);
    const res = await h.asUser(t.agent, `/admin/messages/${id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { message: { id: string; status: string; error: unknown } };
    expect(body.message).toMatchObject({ id, status: 'queued', error: null });
    await h.settle();
    const [first, second] = sends(h);
    expect(sends(h)).toHaveLength(2);
    expect(must(second, 'the second send').body).toEqual(must(first, 'the first send').body);
    const [row] =
      await sql`select status, error_code, provider_message_id from messages where id = ${id}`;
    expect(row?.status).toBe('sent');
    expect(row?.error_code).toBeNull();

    const attempts = await h.asUser(t.agent, `/admin/messages/${id}/attempts`);
    expect(attempts.status).toBe(200);
    const items = ((await attempts.json()) as { items: Array<Record<string, unknown>> }).items;
    expect(items.map((a) => [a.attempt, a.outcome])).toEqual([
      [2, 'sent'],
      [1, 'failed'],
    ]);
    expect(items[1]).toMatchObject({
      error: { code: '131026', reason: expect.stringContaining('could not deliver') },
      http_status: 400,
      request: first?.body,
    });
  });

  it('refuses to retry a message that is not failed (409), or when the window has closed (422)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { id, conv } = await failedMessage(h, sql, t);
    await sql`update conversations set last_inbound_at = now() - interval '2 days' where id = ${conv.conversationId}`;
    const closed = await h.asUser(t.agent, `/admin/messages/${id}/retry`, { method: 'POST' });
    expect(closed.status).toBe(422);
    await sql`update conversations set last_inbound_at = now() where id = ${conv.conversationId}`;
    expect(
      (await h.asUser(t.agent, `/admin/messages/${id}/retry`, { method: 'POST' })).status,
    ).toBe(202);
    const again = await h.asUser(t.agent, `/admin/messages/${id}/retry`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain(
      'Only failed messages can be retried',
    );
    await h.settle();
  });

  it('refuses to send a staff approval card again once its draft is decided (409)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const [draft] =
      await sql`insert into agent_drafts (tenant_id, conversation_id, correlation_id, message, preview)
      values (${t.tenantId}, ${conv.conversationId}, 'turn-x', ${sql.json({ type: 'text', text: 'See you at 5' })}, 'See you at 5')
      returning id`;
    const draftId = must(draft, 'the draft').id as string;
    const card = {
      type: 'buttons',
      body: 'Draft reply to Ana on WhatsApp:\n\nSee you at 5',
      buttons: ['approve', 'edit', 'cancel'].map((action) => ({
        id: `msg:${draftId}:${action}`,
        title: action,
      })),
    };
    const id = crypto.randomUUID();
    await sql`insert into messages (id, tenant_id, conversation_id, channel_account_id, direction, sender, type, content, payload, provider_timestamp, status, error_code)
      values (${id}, ${t.tenantId}, ${conv.conversationId}, ${t.accounts.whatsapp.id}, 'outbound', 'system', 'buttons', ${card.body},
              ${sql.json({ message: card })}, now(), 'failed', '131026')`;
    await sql`update agent_drafts set status = 'approved', decided_at = now() where id = ${draftId}`;

    const res = await h.asUser(t.agent, `/admin/messages/${id}/retry`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'This approval card asks about a draft that is already approved; it is not sent again.',
    );
    const [row] = await sql`select status from messages where id = ${id}`;
    expect(row?.status).toBe('failed');
    expect(sends(h)).toHaveLength(0);

    // While the draft waits, the card is sent again as any failed message is.
    await sql`update agent_drafts set status = 'pending', decided_at = null where id = ${draftId}`;
    expect(
      (await h.asUser(t.agent, `/admin/messages/${id}/retry`, { method: 'POST' })).status,
    ).toBe(202);
    await h.settle();
  });
});
