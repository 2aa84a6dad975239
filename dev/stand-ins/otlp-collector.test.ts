import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OtlpCollectorStandIn, startOtlpCollector } from './otlp-collector';

/**
 * Contract: the collector stand-in accepts what the OFFICIAL OpenTelemetry OTLP/HTTP exporters send,
 * in both encodings (the JSON exporter and the protobuf one), and keeps the spans as sent.
 */
describe('OTLP collector stand-in, against the official exporters', () => {
  let collector: OtlpCollectorStandIn;
  beforeAll(async () => {
    collector = await startOtlpCollector();
  });
  afterAll(() => collector.close());
  beforeEach(() => collector.clear());

  async function exportWith(exporter: JsonExporter | ProtoExporter) {
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('contract-test', '1.2.3');
    const root = tracer.startSpan('invoke_agent test', {
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 12 },
      startTime: new Date('2026-01-01T10:00:00.000Z'),
    });
    const { trace, context } = await import('@opentelemetry/api');
    const child = tracer.startSpan(
      'chat gpt-4.1-mini',
      {
        kind: 2, // client
        attributes: { 'gen_ai.usage.cost': 0.0025, cached: true, tags: ['a', 'b'] },
        startTime: new Date('2026-01-01T10:00:00.100Z'),
      },
      trace.setSpan(context.active(), root),
    );
    child.setStatus({ code: 2, message: 'boom' });
    child.end(new Date('2026-01-01T10:00:00.350Z'));
    root.end(new Date('2026-01-01T10:00:01.000Z'));
    await provider.forceFlush();
    await provider.shutdown();
    return { traceId: root.spanContext().traceId, rootId: root.spanContext().spanId };
  }

  for (const [encoding, make, contentType] of [
    ['protobuf', () => new ProtoExporter({ url: collector.tracesUrl }), 'application/x-protobuf'],
    ['JSON', () => new JsonExporter({ url: collector.tracesUrl }), 'application/json'],
  ] as const) {
    it(`takes spans from the ${encoding} exporter, as sent`, async () => {
      const { traceId, rootId } = await exportWith(make());
      expect(collector.requests().map((r) => r.contentType)).toEqual([contentType, contentType]);
      const [trace] = collector.traces();
      expect(trace?.traceId).toBe(traceId);
      const root = trace?.spans.find((s) => s.spanId === rootId);
      const child = trace?.spans.find((s) => s.parentSpanId === rootId);
      expect(root).toMatchObject({
        name: 'invoke_agent test',
        parentSpanId: null,
        kind: 1,
        startTimeUnixNano: '1767261600000000000',
        endTimeUnixNano: '1767261601000000000',
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 12 },
        scope: { name: 'contract-test', version: '1.2.3' },
      });
      expect(root?.resource['service.name']).toEqual(expect.any(String));
      expect(child).toMatchObject({
        name: 'chat gpt-4.1-mini',
        kind: 3,
        startTimeUnixNano: '1767261600100000000',
        endTimeUnixNano: '1767261600350000000',
        attributes: { 'gen_ai.usage.cost': 0.0025, cached: true, tags: ['a', 'b'] },
        status: { code: 2, message: 'boom' },
      });
      const api = (await (await fetch(`${collector.url}/api/traces`)).json()) as {
        traces: unknown[];
      };
      expect(api.traces).toHaveLength(1);
      const html = await (await fetch(collector.url)).text();
      expect(html).toContain('invoke_agent test');
      expect(html).toContain('chat gpt-4.1-mini');
    });
  }

  it('refuses another content type (415) and a body that does not decode (400)', async () => {
    const post = (body: string, type: string) =>
      fetch(collector.tracesUrl, { method: 'POST', body, headers: { 'content-type': type } });
    expect((await post('x', 'text/plain')).status).toBe(415);
    expect((await post('{', 'application/json')).status).toBe(400);
    expect((await post('\xff\xff', 'application/x-protobuf')).status).toBe(400);
    expect(collector.spans()).toEqual([]);
  });

  it('keeps one copy of a span sent twice, and fails on demand', async () => {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: '0123456789abcdef0123456789abcdef',
                  spanId: '0123456789abcdef',
                  name: 'once',
                  kind: 1,
                  startTimeUnixNano: '1',
                  endTimeUnixNano: '2',
                  attributes: [{ key: 'n', value: { intValue: '7' } }],
                },
              ],
            },
          ],
        },
      ],
    });
    const post = () =>
      fetch(collector.tracesUrl, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    expect(collector.spans()).toHaveLength(1);
    expect(collector.spans()[0]?.attributes).toEqual({ n: 7 });
    collector.failWith(503);
    collector.clear();
    expect((await post()).status).toBe(503);
    expect(collector.spans()).toEqual([]);
    collector.failWith(null);
  });
});
