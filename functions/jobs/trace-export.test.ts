import { createHash } from 'node:crypto';
import { afterAll, beforeEach, describe, expect } from 'vitest';
import { startOtlpCollector } from '../../dev/stand-ins/otlp-collector';
import {
  callTool,
  conversationOf,
  customerWrites,
  graphSends,
  replyWith,
  runsOf,
  scriptedModels,
} from '../../test/agent';
import { it } from '../../test/it';
import { customerPhone } from '../../test/meta-webhooks';
import type { AgentModelResolver } from '../agent/models';
import { agentTurnJob } from './agent-turn';

/**
 * Issue 14, traces out: a real agent turn (scripted model, real tools) → the `trace-export` job
 * enqueued with the run's outcome → the collector stand-in holds the run as one trace, root +
 * model-call + tool spans, with GenAI attributes. The deployment exports to `collector`; a
 * business with its own endpoint to `own`.
 */
const collector = await startOtlpCollector();
const own = await startOtlpCollector();
afterAll(async () => {
  await collector.close();
  await own.close();
});

let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', {
  jobs: [agentTurnJob({ models })],
  bindings: {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.tracesUrl,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-deployment-key=deploy%20secret',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  },
});

beforeEach(() => {
  collector.clear();
  own.clear();
  collector.failWith(null);
});

const toolThenReply = (text: string) =>
  scriptedModels([callTool('list_services', {}), replyWith(text)], {
    modelId: 'gpt-4.1-mini-2025-04-14',
    label: 'openai:gpt-4.1-mini',
  });

const traceIdOf = (correlationId: string) =>
  createHash('sha256').update(`trace:${correlationId}`).digest('hex').slice(0, 32);

describe('trace-export: a turn as OpenTelemetry spans', () => {
  it("prices each model call at the business's own price, as the run's cost was", async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Traces own price');
    await sql`insert into model_prices (tenant_id, model, input_usd_per_million,
        cached_input_usd_per_million, output_usd_per_million)
      values (${t.tenantId}, 'gpt-4.1-mini', 0.3, 0.05, 1.2)`;
    script = toolThenReply('Tenemos limpiezas.');
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Qué servicios tenéis?');
    await h.settle();
    const [run] = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
    const spans = collector.traces()[0]?.spans ?? [];
    const root = spans.find((s) => s.parentSpanId === null);
    const steps = spans.filter((s) => s.parentSpanId === root?.spanId);
    // Each call: 10 input and 5 output tokens at $0.30 and $1.20 per million, not the list's.
    const perCall = (10 * 0.3 + 5 * 1.2) / 1e6;
    expect(steps).toHaveLength(2);
    for (const step of steps) expect(step.attributes['gen_ai.usage.cost']).toBeCloseTo(perCall, 12);
    expect(run?.cost_usd).toBeCloseTo(2 * perCall, 12);
    expect(root?.attributes['gen_ai.usage.cost']).toBeCloseTo(2 * perCall, 12);
  });

  it('exports the run: a root span, one per model call and one per tool call, without the conversation text', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Traces shape');
    script = toolThenReply('Tenemos limpiezas y revisiones.');
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Qué servicios tenéis?');
    await h.settle();
    const conversation = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conversation.id);
    expect(run?.outcome).toBe('replied');

    const traces = collector.traces();
    expect(traces).toHaveLength(1);
    const trace = traces[0];
    // Derived from the run: a retried export is the same trace.
    expect(trace?.traceId).toBe(traceIdOf(run?.correlation_id));
    const spans = trace?.spans ?? [];
    const root = spans.find((s) => s.parentSpanId === null);
    const steps = spans.filter((s) => s.parentSpanId === root?.spanId);
    const tools = spans.filter((s) => steps.some((step) => step.spanId === s.parentSpanId));
    expect(spans).toHaveLength(4);
    expect(root).toMatchObject({
      name: 'invoke_agent switchboard',
      resource: { 'service.name': 'switchboard', 'service.version': 'test' },
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4.1-mini',
        'gen_ai.response.model': 'gpt-4.1-mini-2025-04-14',
        'gen_ai.usage.input_tokens': 20,
        'gen_ai.usage.output_tokens': 10,
        'gen_ai.conversation.id': conversation.id,
        'switchboard.tenant_id': t.tenantId,
        'switchboard.correlation_id': run?.correlation_id,
        'switchboard.outcome': 'replied',
        'switchboard.channel': 'whatsapp',
      },
    });
    expect(root?.attributes['gen_ai.usage.cost']).toBeCloseTo(run?.cost_usd, 12);
    expect(steps.map((s) => s.name)).toEqual([
      'chat gpt-4.1-mini-2025-04-14',
      'chat gpt-4.1-mini-2025-04-14',
    ]);
    expect(steps[0]).toMatchObject({
      kind: 3,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4.1-mini',
        'gen_ai.response.model': 'gpt-4.1-mini-2025-04-14',
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.output_tokens': 5,
        'switchboard.step': 0,
        'switchboard.tenant_id': t.tenantId,
        'gen_ai.conversation.id': conversation.id,
      },
    });
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({
      name: 'execute_tool list_services',
      parentSpanId: steps[0]?.spanId,
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'list_services' },
    });
    // Times from the stored run: the root spans started..finished, the others inside it.
    const ns = (d: Date) => BigInt(d.getTime()) * 1_000_000n;
    expect(BigInt(root?.startTimeUnixNano ?? 0)).toBe(ns(run?.started_at));
    expect(BigInt(root?.endTimeUnixNano ?? 0)).toBe(ns(run?.finished_at));
    for (const span of spans) {
      expect(BigInt(span.startTimeUnixNano)).toBeGreaterThanOrEqual(ns(run?.started_at));
      expect(BigInt(span.endTimeUnixNano)).toBeLessThanOrEqual(ns(run?.finished_at));
      expect(BigInt(span.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(span.startTimeUnixNano));
    }
    // No text unless the business allows it, and never a credential.
    const sent = JSON.stringify(spans);
    expect(sent).not.toContain('Qué servicios');
    expect(sent).not.toContain('limpiezas');
    expect(sent).not.toContain('gen_ai.input.messages');
    expect(sent).not.toContain('gen_ai.tool.call.result');
    expect(sent).not.toContain('deploy secret');
    // The deployment's endpoint, headers and encoding; the outbox row published, none left.
    expect(collector.requests()).toEqual([
      expect.objectContaining({
        contentType: 'application/json',
        headers: expect.objectContaining({ 'x-deployment-key': 'deploy secret' }),
      }),
    ]);
    expect(
      await sql`select status from job_outbox where tenant_id = ${t.tenantId} and kind = 'trace-export'`,
    ).toEqual([{ status: 'published' }]);
  });

  it("carries the conversation's text when the business allows it", async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Traces with text');
    await sql`update tenant_settings set trace_message_text = true where tenant_id = ${t.tenantId}`;
    script = toolThenReply('Tenemos limpiezas y revisiones.');
    await customerWrites(h, t, customerPhone(), '¿Qué servicios tenéis?');
    await h.settle();
    const spans = collector.spans();
    const root = spans.find((s) => s.parentSpanId === null);
    expect(JSON.parse(String(root?.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: '¿Qué servicios tenéis?' }] },
    ]);
    expect(String(root?.attributes['gen_ai.output.messages'])).toContain(
      'Tenemos limpiezas y revisiones.',
    );
    const tool = spans.find((s) => s.name === 'execute_tool list_services');
    expect(tool?.attributes['gen_ai.tool.call.arguments']).toBe('{}');
    expect(tool?.attributes['gen_ai.tool.call.result']).toEqual(expect.any(String));
  });

  it('an exporter outage neither delays nor fails the reply: the job is retried and then succeeds', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Traces outage');
    collector.failWith(503, 2);
    script = scriptedModels([replyWith('Sí, abrimos mañana.')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Abrís mañana?');
    await h.settle();
    const conversation = await conversationOf(sql, t, phone);
    const runs = await runsOf(sql, conversation.id);
    expect(runs.map((r) => r.outcome)).toEqual(['replied']);
    expect(JSON.stringify(graphSends(h).filter((s) => s.to === phone))).toContain(
      'Sí, abrimos mañana.',
    );
    const exports = h.qstash
      ?.messages()
      .filter((m) => m.url.endsWith('/jobs/trace-export') && m.body.includes(t.tenantId));
    expect(exports?.map((m) => [m.state, m.attempts])).toEqual([['delivered', 3]]);
    // Two refused deliveries, then one trace (the retry sent the very same spans).
    expect(collector.requests()).toHaveLength(3);
    expect(collector.traces()).toHaveLength(1);
    expect(collector.traces()[0]?.traceId).toBe(traceIdOf(runs[0]?.correlation_id));
  });

  it('an endpoint that stays down: the reply goes out, the run is kept, the export is given up', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Traces down');
    const down = await startOtlpCollector();
    await down.close();
    await sql`update tenant_settings set trace_endpoint = ${down.tracesUrl} where tenant_id = ${t.tenantId}`;
    script = scriptedModels([replyWith('Claro que sí.')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Puedo pedir cita?');
    await h.settle();
    const conversation = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conversation.id);
    expect(run).toMatchObject({ outcome: 'replied', error: null });
    expect(run?.steps).toHaveLength(1);
    expect(JSON.stringify(graphSends(h).filter((s) => s.to === phone))).toContain('Claro que sí.');
    const dead = h.qstash
      ?.dlq()
      .filter((m) => m.url.endsWith('/jobs/trace-export') && m.body.includes(t.tenantId));
    expect(dead?.map((m) => m.attempts)).toEqual([6]);
    expect(collector.spans()).toEqual([]);
  });

  it("a business's own endpoint replaces the deployment's, with Langfuse's Basic authorization", async ({
    harness: h,
    newTenant,
  }) => {
    const t = await newTenant('Traces own endpoint');
    const res = await h.asUser(t.owner, '/admin/settings', {
      method: 'PATCH',
      body: JSON.stringify({
        trace_export: {
          endpoint: own.tracesUrl,
          langfuse: { public_key: 'pk-lf-1234', secret_key: 'sk-lf-5678' },
        },
      }),
    });
    expect(res.status).toBe(200);
    script = scriptedModels([replyWith('Hola, ¿en qué te ayudo?')]);
    await customerWrites(h, t, customerPhone(), 'Hola');
    await h.settle();
    expect(collector.spans()).toEqual([]);
    expect(own.traces()).toHaveLength(1);
    expect(own.requests()).toEqual([
      expect.objectContaining({
        // A business's own endpoint gets protobuf, OTLP/HTTP's default encoding.
        contentType: 'application/x-protobuf',
        headers: expect.objectContaining({
          authorization: `Basic ${Buffer.from('pk-lf-1234:sk-lf-5678').toString('base64')}`,
        }),
      }),
    ]);
    expect(own.requests()[0]?.headers).not.toHaveProperty('x-deployment-key');
    expect(own.spans().find((s) => s.parentSpanId === null)?.attributes).toMatchObject({
      'switchboard.tenant_id': t.tenantId,
    });
  });

  it('exports nothing, and enqueues nothing, where no endpoint is configured', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Traces off');
    h.rebind({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_EXPORTER_OTLP_HEADERS: '' });
    try {
      script = scriptedModels([replyWith('Buenas.')]);
      const phone = customerPhone();
      await customerWrites(h, t, phone, 'Buenas');
      await h.settle();
      const [run] = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
      expect(run?.outcome).toBe('replied');
      expect(
        await sql`select 1 from job_outbox where tenant_id = ${t.tenantId} and kind = 'trace-export'`,
      ).toHaveLength(0);
      expect(collector.requests()).toEqual([]);
    } finally {
      h.rebind({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.tracesUrl,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-deployment-key=deploy%20secret',
      });
    }
  });
});
