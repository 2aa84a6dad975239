import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { randomWamid, whatsappMessageBody } from '../../../dev/meta-payloads';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { postWebhook, waNumber } from '../../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../../test/operator-security';

const foreignConversation = async (sql: postgres.Sql, b: TenantFixture) =>
  (await createConversation(sql, b)).conversationId;

describeOperatorSecurity({
  method: 'GET',
  path: '/admin/conversations/:foreignId',
  foreignId: foreignConversation,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/conversations/:foreignId/human-override',
  body: { locked: true },
  foreignId: foreignConversation,
});
describeOperatorSecurity({
  method: 'PUT',
  path: '/admin/conversations/:foreignId/bot',
  body: { enabled: false },
  foreignId: foreignConversation,
});

type State = {
  is_locked: boolean;
  locked_by: string | null;
  locked_by_user_id: string | null;
  locked_at: string | null;
  lock_reason: string | null;
  window: { open: boolean; closes_at: string | null; human_agent_until: string | null };
  lock_history: Array<{
    locked: boolean;
    source: string;
    user_id: string | null;
    reason: string | null;
  }>;
};

describe('conversations: human override and window', () => {
  const override = (h: Harness, t: TenantFixture, id: string, body: unknown) =>
    h.asUser(t.agent, `/admin/conversations/${id}/human-override`, {
      method: 'POST',
      body: JSON.stringify(body),
    });

  it('locks with who, when and why, and unlocks without replaying anything to the bot', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const locked = await override(h, t, conv.conversationId, {
      locked: true,
      reason: 'VIP customer',
    });
    expect(locked.status).toBe(200);
    const state = (await locked.json()) as State;
    expect(state).toMatchObject({
      is_locked: true,
      locked_by: 'operator',
      locked_by_user_id: t.agent.id,
      lock_reason: 'VIP customer',
    });
    expect(state.locked_at).toBeTruthy();
    const [row] =
      await sql`select is_locked, locked_by, locked_by_user_id, lock_reason from conversations where id = ${conv.conversationId}`;
    expect(row).toEqual({
      is_locked: true,
      locked_by: 'operator',
      locked_by_user_id: t.agent.id,
      lock_reason: 'VIP customer',
    });

    const [jobsBefore] =
      await sql`select count(*)::int as n from job_outbox where tenant_id = ${t.tenantId}`;
    const unlocked = await override(h, t, conv.conversationId, { locked: false });
    expect(unlocked.status).toBe(200);
    const after = (await unlocked.json()) as State;
    expect(after).toMatchObject({ is_locked: false, locked_by: null, lock_reason: null });
    expect(after.lock_history).toEqual([
      {
        locked: false,
        source: 'operator',
        user_id: t.agent.id,
        reason: null,
        at: expect.any(String),
      },
      {
        locked: true,
        source: 'operator',
        user_id: t.agent.id,
        reason: 'VIP customer',
        at: expect.any(String),
      },
    ]);
    const [jobsAfter] =
      await sql`select count(*)::int as n from job_outbox where tenant_id = ${t.tenantId}`;
    expect(jobsAfter?.n).toBe(jobsBefore?.n);
  });

  it('shows the window state and closing time', async ({ harness: h, sql, tenant: t }) => {
    const lastInboundAt = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const wa = await createConversation(sql, t, { lastInboundAt });
    const res = await h.asUser(t.agent, `/admin/conversations/${wa.conversationId}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as State).window).toEqual({
      open: true,
      closes_at: new Date(lastInboundAt.getTime() + 24 * 60 * 60 * 1000).toISOString(),
      human_agent_until: null,
    });
    const old = new Date(Date.now() - 3 * 24 * 60 * 60 * 1000);
    const ms = await createConversation(sql, t, { channel: 'messenger', lastInboundAt: old });
    const state = (await (
      await h.asUser(t.agent, `/admin/conversations/${ms.conversationId}`)
    ).json()) as State;
    expect(state.window).toEqual({
      open: false,
      closes_at: new Date(old.getTime() + 24 * 60 * 60 * 1000).toISOString(),
      human_agent_until: new Date(old.getTime() + 7 * 24 * 60 * 60 * 1000).toISOString(),
    });
  });

  it('validates the body', async ({ harness: h, sql, tenant: t }) => {
    const conv = await createConversation(sql, t);
    const res = await override(h, t, conv.conversationId, { locked: 'yes' });
    expect(res.status).toBe(400);
  });
});

describe('conversations: the AI agent on or off per chat', () => {
  const setBot = (h: Harness, t: TenantFixture, id: string, body: unknown) =>
    h.asUser(t.agent, `/admin/conversations/${id}/bot`, {
      method: 'PUT',
      body: JSON.stringify(body),
    });

  /** A customer message through the signed webhook; whether it queued an agent turn. */
  async function customerWrites(h: Harness, sql: postgres.Sql, t: TenantFixture, from: string) {
    const id = randomWamid();
    const res = await postWebhook(
      h,
      whatsappMessageBody({
        ...waNumber(t),
        from,
        name: 'Maria',
        id,
        message: { type: 'text', text: 'Hola' },
      }),
    );
    expect(res.status).toBe(200);
    const jobs = await sql`select j.kind from job_outbox j
      join messages m on j.payload ->> 'triggerMessageId' = m.id::text
      where m.provider_message_id = ${id} and j.kind = 'agent-turn'`;
    return jobs.length;
  }

  it('off keeps the agent out of new messages until turned on; the chat list shows it', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const off = await setBot(h, t, conv.conversationId, { enabled: false });
    expect(off.status).toBe(200);
    expect(((await off.json()) as State & { bot_enabled: boolean }).bot_enabled).toBe(false);
    const chats = await h.asUser(t.agent, '/admin/chats/summary?limit=100');
    const listed = ((await chats.json()) as { items: Array<{ id: string; bot_enabled: boolean }> })
      .items;
    expect(listed.find((c) => c.id === conv.conversationId)?.bot_enabled).toBe(false);

    expect(await customerWrites(h, sql, t, conv.externalUserId)).toBe(0);
    const [quiet] = await sql`select agent_turn_due_at, bot_enabled from conversations
      where id = ${conv.conversationId}`;
    expect(quiet).toEqual({ agent_turn_due_at: null, bot_enabled: false });

    const on = await setBot(h, t, conv.conversationId, { enabled: true });
    expect(((await on.json()) as { bot_enabled: boolean }).bot_enabled).toBe(true);
    expect(await customerWrites(h, sql, t, conv.externalUserId)).toBe(1);
  });

  it('refuses a body that is not {enabled: boolean}, and unknown chats', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    for (const body of [{}, { enabled: 'no' }, { enabled: false, extra: 1 }]) {
      const res = await setBot(h, t, conv.conversationId, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    }
    const missing = await setBot(h, t, crypto.randomUUID(), { enabled: false });
    expect(missing.status).toBe(404);
    const [row] =
      await sql`select bot_enabled from conversations where id = ${conv.conversationId}`;
    expect(row?.bot_enabled).toBe(true);
  });
});
