import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import {
  callTool,
  conversationOf,
  customerWrites,
  replyWith,
  runsOf,
  scriptedModels,
} from '../../../test/agent';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import { it } from '../../../test/it';
import { customerPhone } from '../../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../../test/operator-security';
import { agentTurnJob } from '../../jobs/agent-turn';

/** A finished run of tenant `b`; its correlation id is the path parameter. */
async function foreignRun(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [contact] = await sql`insert into contacts (tenant_id, channel, external_user_id)
    values (${b.tenantId}, 'whatsapp', ${customerPhone()}) returning id`;
  const [conv] = await sql`insert into conversations (tenant_id, contact_id, channel_account_id)
    values (${b.tenantId}, ${contact?.id}, ${b.accounts.whatsapp.id}) returning id`;
  const correlationId = `turn-${crypto.randomUUID()}`;
  await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome)
    values (${b.tenantId}, ${conv?.id}, ${correlationId}, 'mock', 'replied')`;
  return correlationId;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/logs/ai' });
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/logs/ai/:foreignId',
  foreignId: foreignRun,
});

const script = scriptedModels([
  callTool('knowledge_search', { query: 'precio limpieza' }, 'call-1'),
  replyWith('La limpieza cuesta 60 €.'),
]);
it.override('harnessOptions', { jobs: [agentTurnJob({ models: script.resolver })] });

describe('GET /admin/logs/ai/{correlation_id}', () => {
  it('shows the run: model, steps with tool input and output, text, usage, latency, outcome, messages', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const [article] = await sql`insert into knowledge_articles (tenant_id, title, body, language)
      values (${t.tenantId}, 'Precios', 'La limpieza dental cuesta 60 €.', 'es') returning id`;
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Cuánto cuesta una limpieza?');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conv.id);
    const res = await h.asUser(t.agent, `/admin/logs/ai/${run?.correlation_id}`);
    expect(res.status).toBe(200);
    const trace = (await res.json()) as Record<string, unknown> & {
      messages: Array<{ content: string; sender: string }>;
    };
    expect(trace).toMatchObject({
      correlation_id: run?.correlation_id,
      conversation_id: conv.id,
      trigger_message_id: run?.trigger_message_id,
      model: 'mock:scripted',
      offline_demo: false,
      outcome: 'replied',
      error: null,
      usage: { inputTokens: 20, outputTokens: 10, totalTokens: 30 },
      steps: [
        {
          tool_calls: [{ tool_name: 'knowledge_search', input: { query: 'precio limpieza' } }],
          tool_results: [
            {
              tool_name: 'knowledge_search',
              output: {
                results: [
                  {
                    article_id: article?.id,
                    title: 'Precios',
                    language: 'es',
                    snippet: 'La limpieza dental cuesta 60 €.',
                  },
                ],
              },
            },
          ],
        },
        { text: 'La limpieza cuesta 60 €.' },
      ],
      drafts: [],
    });
    expect(typeof trace.latency_ms).toBe('number');
    // The mock model has no list price: no cost, rather than a made-up one.
    expect(trace.cost_usd).toBeNull();
    // Per step: the model, the step's and the model's time, the tokens; per tool result its time.
    const steps = trace.steps as Array<Record<string, unknown>>;
    for (const step of steps) {
      expect(step).toMatchObject({
        model: 'mock-model-id',
        latency_ms: expect.any(Number),
        model_ms: expect.any(Number),
        usage: { input_tokens: 10, output_tokens: 5 },
      });
    }
    expect(steps[0]).toMatchObject({ tool_results: [{ latency_ms: expect.any(Number) }] });
    expect(trace.messages.map((m) => [m.sender, m.content])).toEqual([
      ['agent', 'La limpieza cuesta 60 €.'],
    ]);

    const list = await h.asUser(t.agent, `/admin/logs/ai?conversation_id=${conv.id}`);
    const { items } = (await list.json()) as { items: Array<{ correlation_id: string }> };
    expect(items.map((i) => i.correlation_id)).toEqual([run?.correlation_id]);
  });

  it("costs a run by its steps' models and tokens at list price, in the run and in the list", async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { conversationId } = await createConversation(sql, t);
    const priced = `turn-${crypto.randomUUID()}`;
    const steps = [
      {
        model: 'gpt-4.1-mini-2025-04-14',
        usage: { inputTokens: 1500, cachedInputTokens: 1000, outputTokens: 40 },
      },
      { model: 'gpt-4.1-mini-2025-04-14', usage: { inputTokens: 1600, outputTokens: 30 } },
    ];
    await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, steps, outcome)
      values (${t.tenantId}, ${conversationId}, ${priced}, 'gpt-4.1-mini', ${sql.json(steps)}, 'replied')`;
    // (500 + 1600) × 0.40 + 1000 × 0.10 + 70 × 1.60 = 840 + 100 + 112 = 1052 per million tokens.
    const expected = 1052 / 1_000_000;
    const one = (await (await h.asUser(t.agent, `/admin/logs/ai/${priced}`)).json()) as {
      cost_usd: number | null;
    };
    expect(one.cost_usd).toBeCloseTo(expected, 12);
    const list = (await (
      await h.asUser(t.agent, `/admin/logs/ai?conversation_id=${conversationId}`)
    ).json()) as {
      items: Array<{ correlation_id: string; cost_usd: number | null }>;
    };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]?.cost_usd).toBeCloseTo(expected, 12);
  });

  it('answers 404 to an operator of another tenant, like a run that does not exist', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: b,
  }) => {
    const [run] =
      await sql`select correlation_id from agent_runs where tenant_id = ${t.tenantId} limit 1`;
    expect(run?.correlation_id).toBeTruthy();
    const res = await h.asUser(b.owner, `/admin/logs/ai/${run?.correlation_id}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});
