import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
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
