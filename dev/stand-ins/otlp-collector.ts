/**
 * Local stand-in for an OpenTelemetry collector (or Langfuse's OTLP endpoint): accepts what OTLP/HTTP
 * exporters send and keeps the spans in memory, so `npm start` and the tests can see what the
 * Worker exports (docs/observability.md, "Traces out").
 *
 * - `POST /v1/traces` — an ExportTraceServiceRequest, `application/x-protobuf` or
 *   `application/json` (OTLP/JSON: hex ids, camelCase fields), optionally gzip-encoded. Answers an
 *   empty ExportTraceServiceResponse in the same encoding; 415 for another content type, 400 for
 *   a body that does not decode. A span sent again (same trace and span id) replaces the earlier
 *   copy, as collectors' storage and Langfuse do, so a retried export is still one trace.
 * - `GET /` — a small HTML page listing the traces and their spans.
 * - `GET /api/traces` — `{ traces: [{ traceId, spans: [...] }] }`, for tests.
 *
 * `requests()` keeps each request's content type and headers (tests check authorization);
 * `failWith(status, times)` makes the next exports answer that status (an outage, without closing it).
 */
import { gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { listenOnLoopback } from './http-server';

export type CollectedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  resource: Record<string, unknown>;
  scope: { name: string; version?: string };
};

export type CollectedTrace = { traceId: string; spans: CollectedSpan[] };

export type CollectedRequest = {
  contentType: string;
  headers: Record<string, string>;
  spans: number;
};

export interface OtlpCollectorStandIn {
  url: string;
  /** `${url}/v1/traces`: what an exporter's traces endpoint is set to. */
  tracesUrl: string;
  traces(): CollectedTrace[];
  spans(): CollectedSpan[];
  requests(): CollectedRequest[];
  /** Answer exports with this status from now on, `times` times or all (null: accept again). */
  failWith(status: number | null, times?: number): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startOtlpCollector(
  options: { port?: number } = {},
): Promise<OtlpCollectorStandIn> {
  const spans = new Map<string, CollectedSpan>();
  const requests: CollectedRequest[] = [];
  let failure: { status: number; left: number } | null = null;

  const traces = (): CollectedTrace[] => {
    const byTrace = new Map<string, CollectedSpan[]>();
    for (const span of spans.values()) {
      const list = byTrace.get(span.traceId) ?? [];
      list.push(span);
      byTrace.set(span.traceId, list);
    }
    return [...byTrace].map(([traceId, list]) => ({
      traceId,
      spans: list.sort((a, b) => compareNanos(a.startTimeUnixNano, b.startTimeUnixNano)),
    }));
  };

  const app = new Hono();
  app.post('/v1/traces', async (c) => {
    const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
    let raw = new Uint8Array(await c.req.arrayBuffer());
    if (c.req.header('content-encoding') === 'gzip') raw = new Uint8Array(gunzipSync(raw));
    let received: CollectedSpan[];
    try {
      if (contentType === 'application/x-protobuf') received = decodeProtobufRequest(raw);
      else if (contentType === 'application/json')
        received = decodeJsonRequest(JSON.parse(new TextDecoder().decode(raw)));
      else return c.text(`unsupported content type ${contentType || '(none)'}`, 415);
    } catch (err) {
      return c.text(`the body does not decode: ${err instanceof Error ? err.message : err}`, 400);
    }
    requests.push({
      contentType,
      headers: Object.fromEntries(c.req.raw.headers),
      spans: received.length,
    });
    if (failure && failure.left > 0) {
      failure.left--;
      return c.text('the collector is failing (stand-in)', failure.status as 500);
    }
    for (const span of received) spans.set(`${span.traceId}/${span.spanId}`, span);
    // An empty ExportTraceServiceResponse: `{}`, or zero bytes of protobuf.
    return contentType === 'application/json'
      ? c.json({})
      : c.body(new Uint8Array(0), 200, { 'content-type': 'application/x-protobuf' });
  });
  app.get('/api/traces', (c) => c.json({ traces: traces() }));
  app.get('/', (c) => c.html(page(traces())));

  const server = await listenOnLoopback(app.fetch, options.port ?? 0);
  return {
    url: server.url,
    tracesUrl: `${server.url}/v1/traces`,
    traces,
    spans: () => [...spans.values()],
    requests: () => [...requests],
    failWith: (status, times = Number.POSITIVE_INFINITY) => {
      failure = status === null ? null : { status, left: times };
    },
    clear: () => {
      spans.clear();
      requests.length = 0;
    },
    close: server.close,
  };
}

function compareNanos(a: string, b: string): number {
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(list: CollectedTrace[]): string {
  const rows = list
    .map((trace) => {
      const root = trace.spans.find((s) => !s.parentSpanId) ?? trace.spans[0];
      const t0 = BigInt(root?.startTimeUnixNano ?? '0');
      const spans = trace.spans
        .map((s) => {
          const depth = depthOf(s, trace.spans);
          const ms =
            Number((BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1000n) / 1000;
          const at = Number((BigInt(s.startTimeUnixNano) - t0) / 1000n) / 1000;
          const attrs = Object.entries(s.attributes)
            .map(([k, v]) => `${escapeHtml(k)}=${escapeHtml(String(v))}`)
            .join('  ');
          const error = s.status.code === 2 ? ' <b>error</b>' : '';
          return `<li style="margin-left:${depth * 1.5}em"><b>${escapeHtml(s.name)}</b> +${at} ms, ${ms} ms${error}<br><small>${attrs}</small></li>`;
        })
        .join('');
      return `<section><h2>${escapeHtml(root?.name ?? 'trace')} <small>${trace.traceId}</small></h2><ul>${spans}</ul></section>`;
    })
    .join('');
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>OTLP collector (stand-in)</title>
<body style="font-family:system-ui;margin:2em"><h1>Traces received (${list.length})</h1>${rows || '<p>None yet.</p>'}</body></html>`;
}

function depthOf(span: CollectedSpan, all: CollectedSpan[]): number {
  let depth = 0;
  let parent = span.parentSpanId;
  while (parent && depth < 10) {
    depth++;
    parent = all.find((s) => s.spanId === parent)?.parentSpanId ?? null;
  }
  return depth;
}

// ---- OTLP/JSON ----

type JsonObject = Record<string, unknown>;
const asArray = (v: unknown): JsonObject[] => (Array.isArray(v) ? (v as JsonObject[]) : []);

function jsonAnyValue(value: unknown): unknown {
  const v = (value ?? {}) as JsonObject;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  // int64 may come as a string (the OTLP/JSON mapping) or a number.
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v)
    return asArray((v.arrayValue as JsonObject | undefined)?.values).map(jsonAnyValue);
  if ('kvlistValue' in v) return jsonAttributes((v.kvlistValue as JsonObject | undefined)?.values);
  if ('bytesValue' in v) return v.bytesValue;
  return null;
}

function jsonAttributes(list: unknown): Record<string, unknown> {
  return Object.fromEntries(asArray(list).map((kv) => [String(kv.key), jsonAnyValue(kv.value)]));
}

function decodeJsonRequest(body: unknown): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  for (const rs of asArray((body as JsonObject).resourceSpans)) {
    const resource = jsonAttributes((rs.resource as JsonObject | undefined)?.attributes);
    for (const ss of asArray(rs.scopeSpans)) {
      const scope = (ss.scope ?? {}) as JsonObject;
      for (const s of asArray(ss.spans)) {
        const status = (s.status ?? {}) as JsonObject;
        out.push({
          traceId: String(s.traceId ?? '').toLowerCase(),
          spanId: String(s.spanId ?? '').toLowerCase(),
          parentSpanId: s.parentSpanId ? String(s.parentSpanId).toLowerCase() : null,
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
          endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
          attributes: jsonAttributes(s.attributes),
          status: {
            code: Number(status.code ?? 0),
            ...(status.message ? { message: String(status.message) } : {}),
          },
          resource,
          scope: {
            name: String(scope.name ?? ''),
            ...(scope.version ? { version: String(scope.version) } : {}),
          },
        });
      }
    }
  }
  if (out.some((s) => !/^[0-9a-f]{32}$/.test(s.traceId) || !/^[0-9a-f]{16}$/.test(s.spanId))) {
    throw new Error('trace and span ids must be hex (32 and 16 digits)');
  }
  return out;
}

// ---- OTLP/protobuf (opentelemetry/proto/collector/trace/v1), read field by field ----

type Field = { no: number; wire: number; varint?: bigint; bytes?: Uint8Array; fixed?: DataView };

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, varint: varint() };
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error('truncated field');
      yield { no, wire, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > buf.length) throw new Error('truncated fixed field');
      yield { no, wire, fixed: new DataView(buf.buffer, buf.byteOffset + pos, size) };
      pos += size;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const utf8 = (b: Uint8Array | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
const hex = (b: Uint8Array | undefined) =>
  [...(b ?? [])].map((x) => x.toString(16).padStart(2, '0')).join('');

function protoAnyValue(buf: Uint8Array): unknown {
  for (const f of fields(buf)) {
    if (f.no === 1) return utf8(f.bytes);
    if (f.no === 2) return f.varint !== 0n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.varint ?? 0n));
    if (f.no === 4) return f.fixed?.getFloat64(0, true);
    if (f.no === 5) {
      const values: unknown[] = [];
      for (const v of fields(f.bytes ?? new Uint8Array())) {
        if (v.no === 1) values.push(protoAnyValue(v.bytes ?? new Uint8Array()));
      }
      return values;
    }
    if (f.no === 6) {
      const list: Uint8Array[] = [];
      for (const v of fields(f.bytes ?? new Uint8Array()))
        if (v.no === 1 && v.bytes) list.push(v.bytes);
      return protoAttributes(list);
    }
    if (f.no === 7) return Buffer.from(f.bytes ?? []).toString('base64');
  }
  return null;
}

function protoAttributes(list: Uint8Array[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    let key = '';
    let value: unknown = null;
    for (const f of fields(kv)) {
      if (f.no === 1) key = utf8(f.bytes);
      if (f.no === 2) value = protoAnyValue(f.bytes ?? new Uint8Array());
    }
    out[key] = value;
  }
  return out;
}

function repeated(buf: Uint8Array | undefined, no: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fields(buf ?? new Uint8Array())) if (f.no === no && f.bytes) out.push(f.bytes);
  return out;
}

function decodeProtobufRequest(body: Uint8Array): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  for (const rs of repeated(body, 1)) {
    const resource = protoAttributes(repeated(repeated(rs, 1)[0], 1));
    for (const ss of repeated(rs, 2)) {
      const scope: CollectedSpan['scope'] = { name: '' };
      for (const f of fields(repeated(ss, 1)[0] ?? new Uint8Array())) {
        if (f.no === 1) scope.name = utf8(f.bytes);
        if (f.no === 2) scope.version = utf8(f.bytes);
      }
      for (const s of repeated(ss, 2)) out.push(protoSpan(s, resource, scope));
    }
  }
  return out;
}

function protoSpan(
  buf: Uint8Array,
  resource: Record<string, unknown>,
  scope: CollectedSpan['scope'],
): CollectedSpan {
  const span: CollectedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: null,
    name: '',
    kind: 0,
    startTimeUnixNano: '0',
    endTimeUnixNano: '0',
    attributes: {},
    status: { code: 0 },
    resource,
    scope,
  };
  const attributes: Uint8Array[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1) span.traceId = hex(f.bytes);
    else if (f.no === 2) span.spanId = hex(f.bytes);
    else if (f.no === 4) span.parentSpanId = f.bytes && f.bytes.length > 0 ? hex(f.bytes) : null;
    else if (f.no === 5) span.name = utf8(f.bytes);
    else if (f.no === 6) span.kind = Number(f.varint ?? 0n);
    else if (f.no === 7) span.startTimeUnixNano = String(f.fixed?.getBigUint64(0, true) ?? 0n);
    else if (f.no === 8) span.endTimeUnixNano = String(f.fixed?.getBigUint64(0, true) ?? 0n);
    else if (f.no === 9 && f.bytes) attributes.push(f.bytes);
    else if (f.no === 15) {
      for (const st of fields(f.bytes ?? new Uint8Array())) {
        if (st.no === 2) span.status.message = utf8(st.bytes);
        if (st.no === 3) span.status.code = Number(st.varint ?? 0n);
      }
    }
  }
  span.attributes = protoAttributes(attributes);
  if (span.traceId.length !== 32 || span.spanId.length !== 16) {
    throw new Error('trace and span ids must be 16 and 8 bytes');
  }
  return span;
}
