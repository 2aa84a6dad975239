import { describe, expect, it } from 'vitest';
import { testBindings } from '../../test/harness';
import { EnvironmentError, parseEnv } from '../env';
import {
  deploymentTraceTarget,
  langfuseAuthorization,
  modelOfLabel,
  type RunForTrace,
  runSpans,
  traceTarget,
} from './trace-export';

const env = (vars: Record<string, string> = {}) =>
  parseEnv({ ...testBindings(), DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', ...vars });

describe('trace export: where spans go', () => {
  it('exports nothing without an endpoint or Langfuse keys', () => {
    expect(deploymentTraceTarget(env())).toBeNull();
    expect(traceTarget(env(), { endpoint: null, headers: {} })).toBeNull();
  });

  it('takes the OTLP variables as the OpenTelemetry specification defines them', () => {
    expect(
      deploymentTraceTarget(
        env({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/',
          OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-team = ops',
        }),
      ),
    ).toEqual({
      endpoint: 'https://collector.example:4318/v1/traces',
      headers: { Authorization: 'Bearer abc', 'x-team': 'ops' },
      protocol: 'http/protobuf',
      source: 'deployment',
    });
    // The traces URL itself wins over the base URL, as is.
    expect(
      deploymentTraceTarget(
        env({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/custom',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        }),
      ),
    ).toMatchObject({ endpoint: 'https://traces.example/custom', protocol: 'http/json' });
  });

  it("builds Langfuse's endpoint and Basic authorization from its keys", () => {
    const basic = `Basic ${Buffer.from('pk-lf-abc:sk-lf-xyz').toString('base64')}`;
    expect(langfuseAuthorization('pk-lf-abc', 'sk-lf-xyz')).toBe(basic);
    expect(
      deploymentTraceTarget(
        env({ LANGFUSE_PUBLIC_KEY: 'pk-lf-abc', LANGFUSE_SECRET_KEY: 'sk-lf-xyz' }),
      ),
    ).toEqual({
      endpoint: 'https://cloud.langfuse.com/api/public/otel/v1/traces',
      headers: { Authorization: basic },
      protocol: 'http/protobuf',
      source: 'deployment',
    });
    expect(
      deploymentTraceTarget(
        env({
          LANGFUSE_PUBLIC_KEY: 'pk-lf-abc',
          LANGFUSE_SECRET_KEY: 'sk-lf-xyz',
          LANGFUSE_BASE_URL: 'https://us.cloud.langfuse.com/',
        }),
      )?.endpoint,
    ).toBe('https://us.cloud.langfuse.com/api/public/otel/v1/traces');
    // An OTLP endpoint, when set too, is the one used.
    expect(
      deploymentTraceTarget(
        env({
          LANGFUSE_PUBLIC_KEY: 'pk-lf-abc',
          LANGFUSE_SECRET_KEY: 'sk-lf-xyz',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/v1/traces',
        }),
      )?.endpoint,
    ).toBe('https://collector.example/v1/traces');
  });

  it("a business's own endpoint overrides the deployment's", () => {
    const deployment = env({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://ours.example/v1/traces',
    });
    expect(
      traceTarget(deployment, {
        endpoint: 'https://theirs.example/v1/traces',
        headers: { 'x-key': 'k' },
      }),
    ).toEqual({
      endpoint: 'https://theirs.example/v1/traces',
      headers: { 'x-key': 'k' },
      protocol: 'http/protobuf',
      source: 'tenant',
    });
    expect(traceTarget(deployment, { endpoint: null, headers: {} })?.source).toBe('deployment');
  });

  it('refuses half a Langfuse configuration and malformed OTLP headers, naming them', () => {
    const problems = (vars: Record<string, string>) => {
      try {
        env(vars);
        return '';
      } catch (err) {
        return err instanceof EnvironmentError ? err.problems.join('\n') : String(err);
      }
    };
    expect(problems({ LANGFUSE_PUBLIC_KEY: 'pk-lf-abc' })).toContain(
      'LANGFUSE_SECRET_KEY: set both LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY',
    );
    expect(problems({ OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' })).toContain(
      'OTEL_EXPORTER_OTLP_HEADERS: must be name=value pairs',
    );
    expect(problems({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toContain(
      'OTEL_EXPORTER_OTLP_PROTOCOL',
    );
  });
});

describe('trace export: a run as spans', () => {
  const run: RunForTrace = {
    tenantId: '00000000-0000-4000-8000-000000000001',
    conversationId: '00000000-0000-4000-8000-000000000002',
    correlationId: 'turn-00000000-0000-4000-8000-000000000003',
    channel: 'instagram',
    model: 'openai-compatible(llm.example):llama-3.3',
    steps: [
      {
        model: 'llama-3.3-70b',
        latencyMs: 300,
        modelMs: 200,
        usage: { inputTokens: 100, outputTokens: 20 },
        toolCalls: [{ toolName: 'check_availability', input: { day: 'Friday' } }],
        toolResults: [
          { toolName: 'check_availability', output: { error: 'no staff that day' }, latencyMs: 50 },
        ],
      },
      {
        model: 'llama-3.3-70b',
        latencyMs: 400,
        usage: { inputTokens: 150, outputTokens: 30 },
        text: 'No staff on Friday, sorry.',
      },
    ],
    costUsd: null,
    outcome: 'failed',
    error: 'TypeError: send failed',
    startedAt: new Date('2026-03-01T10:00:00.000Z'),
    finishedAt: new Date('2026-03-01T10:00:01.000Z'),
    latencyMs: 900,
    customerText: 'Can I come on Friday?',
  };
  const options = { serviceName: 'switchboard', serviceVersion: '1.0', messageText: false };
  const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

  it('derives every id from the run, so a retried export is the same trace', async () => {
    const a = await runSpans(run, options);
    const b = await runSpans(run, options);
    expect(a.map((s) => s.spanContext())).toEqual(b.map((s) => s.spanContext()));
    const other = await runSpans({ ...run, correlationId: 'turn-other' }, options);
    expect(other[0]?.spanContext().traceId).not.toBe(a[0]?.spanContext().traceId);
    expect(new Set(a.map((s) => s.spanContext().spanId)).size).toBe(a.length);
    expect(a[0]?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('lays the steps out at the end of the model phase, tools after the model answered', async () => {
    const [root, step0, tool, step1] = await runSpans(run, options);
    expect([ms(root?.startTime ?? [0, 0]), ms(root?.endTime ?? [0, 0])]).toEqual([
      Date.parse('2026-03-01T10:00:00.000Z'),
      Date.parse('2026-03-01T10:00:01.000Z'),
    ]);
    const t0 = Date.parse('2026-03-01T10:00:00.000Z');
    // The model phase ended 900 ms after the start; the steps took 300 + 400 ms before that.
    expect(ms(step0?.startTime ?? [0, 0]) - t0).toBe(200);
    expect(ms(step0?.endTime ?? [0, 0]) - t0).toBe(500);
    expect(ms(tool?.startTime ?? [0, 0]) - t0).toBe(400);
    expect(ms(tool?.endTime ?? [0, 0]) - t0).toBe(450);
    expect(ms(step1?.startTime ?? [0, 0]) - t0).toBe(500);
    expect(ms(step1?.endTime ?? [0, 0]) - t0).toBe(900);
    expect(tool?.parentSpanContext?.spanId).toBe(step0?.spanContext().spanId);
    expect(step1?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
  });

  it('names the model and its provider, and marks failures without their text', async () => {
    const [root, step0, tool] = await runSpans(run, options);
    expect(root?.attributes).toMatchObject({
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'llama-3.3',
      'gen_ai.response.model': 'llama-3.3-70b',
      'gen_ai.usage.input_tokens': 250,
      'gen_ai.usage.output_tokens': 50,
      'switchboard.channel': 'instagram',
    });
    expect(root?.attributes).not.toHaveProperty('gen_ai.usage.cost');
    expect(root?.status).toEqual({ code: 2, message: 'TypeError: send failed' });
    expect(step0?.name).toBe('chat llama-3.3-70b');
    expect(tool?.status).toEqual({ code: 2, message: 'the tool failed' });
    const text = JSON.stringify((await runSpans(run, options)).map((s) => s.attributes));
    for (const secret of ['Can I come', 'Friday', 'No staff', 'no staff']) {
      expect(text).not.toContain(secret);
    }
    const withText = await runSpans(run, { ...options, messageText: true });
    expect(withText[2]?.status.message).toBe('no staff that day');
    expect(withText[2]?.attributes['gen_ai.tool.call.arguments']).toBe('{"day":"Friday"}');
    expect(String(withText[0]?.attributes['gen_ai.input.messages'])).toContain('Can I come');
  });

  it('clips long text attributes', async () => {
    const long = { ...run, customerText: 'x'.repeat(20_000) };
    const [root] = await runSpans(long, { ...options, messageText: true });
    const input = String(root?.attributes['gen_ai.input.messages']);
    expect(input.length).toBe(8001);
    expect(input.endsWith('…')).toBe(true);
  });

  it('reads the GenAI system from the model label', () => {
    expect(modelOfLabel('openai:gpt-4.1-mini')).toEqual({
      system: 'openai',
      model: 'gpt-4.1-mini',
    });
    expect(modelOfLabel('offline-demo')).toEqual({
      system: 'switchboard.offline',
      model: 'offline-demo',
    });
  });
});
