import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import {
  conversationOf,
  customerWrites,
  graphSends,
  replyWith,
  runsOf,
  scriptedModels,
} from '../../test/agent';
import { createConversation } from '../../test/conversations';
import type { TenantFixture } from '../../test/fixtures';
import { it } from '../../test/it';
import { customerPhone } from '../../test/meta-webhooks';
import type { AgentModelResolver } from '../agent/models';
import { agentTurnJob } from './agent-turn';

/**
 * Issue 14, the monthly AI budget: each run's cost is kept at list price, and with the budget's
 * hard stop on and this month's spend at the budget, the agent hands the conversation to a person
 * instead of calling the model. Without the hard stop the budget only warns (settings).
 */
let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', { jobs: [agentTurnJob({ models })] });

/** A finished run of this month that cost `usd`, on a conversation of its own. */
async function spent(sql: postgres.Sql, t: TenantFixture, usd: number) {
  const conv = await createConversation(sql, t);
  await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome, cost_usd)
    values (${t.tenantId}, ${conv.conversationId}, ${`turn-${crypto.randomUUID()}`}, 'gpt-4.1-mini', 'replied', ${usd})`;
}

async function budget(sql: postgres.Sql, t: TenantFixture, usd: number, hardStop: boolean) {
  await sql`insert into tenant_settings (tenant_id, ai_monthly_budget_usd, ai_budget_hard_stop)
    values (${t.tenantId}, ${usd}, ${hardStop})
    on conflict (tenant_id) do update set ai_monthly_budget_usd = ${usd}, ai_budget_hard_stop = ${hardStop}`;
}

describe('agent turn: the monthly AI budget', () => {
  it("keeps each run's cost at the model's list price", async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Budget cost');
    script = scriptedModels([replyWith('Claro.')], { modelId: 'gpt-4.1-mini-2025-04-14' });
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola');
    await h.settle();
    const [run] = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
    // 10 input and 5 output tokens at $0.40 and $1.60 per million.
    expect(run?.outcome).toBe('replied');
    expect(run?.cost_usd).toBeCloseTo((10 * 0.4 + 5 * 1.6) / 1e6, 12);
  });

  it('with the hard stop and the budget spent: handed to a person, saying why, no model call', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Budget spent');
    await budget(sql, t, 1, true);
    await spent(sql, t, 0.6);
    await spent(sql, t, 0.4);
    script = scriptedModels([replyWith('should not be sent')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Tenéis cita mañana?');
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const conversation = await conversationOf(sql, t, phone);
    expect(conversation).toMatchObject({ is_locked: true, locked_by: 'escalation' });
    expect(conversation.lock_reason).toBe(
      "This month's AI budget (US$1.00) is spent, so the AI did not answer; a person should reply.",
    );
    const runs = await runsOf(sql, conversation.id);
    expect(runs.map((r) => r.outcome)).toEqual(['handed_off']);
    expect(JSON.stringify(graphSends(h).filter((s) => s.to === phone))).not.toContain(
      'should not be sent',
    );
  });

  it('under the budget, or over it without the hard stop: the agent answers', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    for (const [name, hardStop, usd] of [
      ['Budget left', true, 0.5],
      ['Budget warns only', false, 5],
    ] as const) {
      const t = await newTenant(name);
      await budget(sql, t, 1, hardStop);
      await spent(sql, t, usd);
      script = scriptedModels([replyWith('Sí, a las 10.')]);
      const phone = customerPhone();
      await customerWrites(h, t, phone, '¿Tenéis cita mañana?');
      await h.settle();
      expect(script.chat.doGenerateCalls).toHaveLength(1);
      const conversation = await conversationOf(sql, t, phone);
      expect(conversation.is_locked).toBe(false);
      expect((await runsOf(sql, conversation.id)).map((r) => r.outcome)).toEqual(['replied']);
    }
  });
});

describe("the business's own prices and months", () => {
  it("costs a run at the tenant's own price for its model when it set one", async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Own price');
    await h.asUser(t.owner, '/admin/ai-prices/gpt-4.1-mini', {
      method: 'PUT',
      body: JSON.stringify({
        input_usd_per_million: 0.3,
        cached_input_usd_per_million: 0.05,
        output_usd_per_million: 1.2,
      }),
    });
    script = scriptedModels([replyWith('Claro.')], { modelId: 'gpt-4.1-mini-2025-04-14' });
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola');
    await h.settle();
    const [run] = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
    // 10 input and 5 output tokens at the tenant's $0.30 and $1.20, not the list's $0.40 and $1.60.
    expect(run?.outcome).toBe('replied');
    expect(run?.cost_usd).toBeCloseTo((10 * 0.3 + 5 * 1.2) / 1e6, 12);
  });

  it("counts the month's spend from the first of the month in the business's time zone", async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    // Kiritimati is UTC+14: its month starts 14 hours before UTC's.
    const t = await newTenant('Month in Kiritimati');
    await sql`update tenant_settings set time_zone = 'Pacific/Kiritimati' where tenant_id = ${t.tenantId}`;
    const monthStart = sql`(date_trunc('month', now() at time zone 'Pacific/Kiritimati') at time zone 'Pacific/Kiritimati')`;
    for (const [usd, offset] of [
      [0.25, '1 minute'],
      [4, '-1 minute'],
    ] as const) {
      const conv = await createConversation(sql, t);
      await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome, cost_usd, started_at)
        values (${t.tenantId}, ${conv.conversationId}, ${`turn-${crypto.randomUUID()}`}, 'gpt-4.1-mini',
          'replied', ${usd}, ${monthStart} + ${offset}::interval)`;
    }
    const res = await h.asUser(t.owner, '/admin/settings');
    // Only the run after midnight on the 1st in Kiritimati; UTC's month would count neither or both.
    expect(
      ((await res.json()) as { ai_spent_this_month_usd: number }).ai_spent_this_month_usd,
    ).toBe(0.25);
  });
});
