import type { Attributes, HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { AgentStep } from '../../db/schema';
import type { TraceExportSource } from '../../db/trace-export';
import { type Env, parseOtlpHeaders } from '../env';
import { sha256Hex } from '../lib/crypto';

/**
 * Traces out (docs/observability.md): a stored agent run as OpenTelemetry spans, GenAI semantic
 * conventions, sent over OTLP/HTTP by the `trace-export` job after the turn answered. Built from
 * the run as stored (agent_runs), not from live instrumentation: the export is a copy of our own
 * record, so it can be retried, and a retried export sends the very same spans (every id is derived
 * from the run's correlation id), which collectors and Langfuse take as the same trace.
 *
 * Serialized with the official @opentelemetry/otlp-transformer (protobuf or JSON), fed with
 * ReadableSpan-shaped objects: no tracer, no context propagation, nothing running during the turn.
 */

export const TRACE_EXPORT_JOB = 'trace-export';

export type TraceProtocol = 'http/protobuf' | 'http/json';

/** Where a run's spans go: the business's own endpoint, or the deployment's. */
export type TraceTarget = {
  endpoint: string;
  headers: Record<string, string>;
  protocol: TraceProtocol;
  source: 'tenant' | 'deployment';
};

/** Langfuse's OTLP traces endpoint under a Langfuse base URL (cloud, US cloud or self-hosted). */
export function langfuseEndpoint(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/public/otel/v1/traces`;
}

/** Langfuse authenticates OTLP with HTTP Basic: the public key as user, the secret key as password. */
export function langfuseAuthorization(publicKey: string, secretKey: string): string {
  const bytes = new TextEncoder().encode(`${publicKey}:${secretKey}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/**
 * The deployment's target from its variables: an OTLP endpoint (the traces URL itself, or a base
 * URL that gets `/v1/traces`, as the specification says) with OTEL_EXPORTER_OTLP_HEADERS, else
 * Langfuse's endpoint with Basic authorization from its keys, else none.
 */
export function deploymentTraceTarget(env: Env): TraceTarget | null {
  const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (endpoint) {
    const headers = env.OTEL_EXPORTER_OTLP_HEADERS
      ? (parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) ?? {})
      : {};
    return { endpoint, headers, protocol, source: 'deployment' };
  }
  if (env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY) {
    return {
      endpoint: langfuseEndpoint(env.LANGFUSE_BASE_URL),
      headers: {
        Authorization: langfuseAuthorization(env.LANGFUSE_PUBLIC_KEY, env.LANGFUSE_SECRET_KEY),
      },
      protocol,
      source: 'deployment',
    };
  }
  return null;
}

/** Whether a run of this tenant is exported at all: decides whether the turn enqueues the job. */
export function traceExportConfigured(env: Env, tenantEndpoint: string | null): boolean {
  return tenantEndpoint !== null || deploymentTraceTarget(env) !== null;
}

/** The business's own endpoint overrides the deployment's. */
export function traceTarget(
  env: Env,
  tenant: { endpoint: string | null; headers: Record<string, string> },
): TraceTarget | null {
  if (tenant.endpoint) {
    return {
      endpoint: tenant.endpoint,
      headers: tenant.headers,
      protocol: 'http/protobuf',
      source: 'tenant',
    };
  }
  return deploymentTraceTarget(env);
}

/** What a run's spans are built from: the stored run and what it belongs to. */
export type RunForTrace = TraceExportSource['run'] & { tenantId: string };

export type SpanOptions = {
  serviceName: string;
  serviceVersion: string;
  /** The tenant's `trace_message_text`: conversation text in attributes only when true. */
  messageText: boolean;
};

const SPAN_KIND_INTERNAL = 0 as SpanKind;
const SPAN_KIND_CLIENT = 2 as SpanKind;
const STATUS_UNSET = 0 as SpanStatusCode;
const STATUS_ERROR = 2 as SpanStatusCode;

/** The GenAI system and the requested model from the run's model label. */
export function modelOfLabel(label: string): { system: string; model: string } {
  if (label === 'offline-demo') return { system: 'switchboard.offline', model: label };
  const compatible = /^openai-compatible\([^)]*\):(.+)$/.exec(label);
  if (compatible?.[1]) return { system: 'openai', model: compatible[1] };
  const named = /^([a-z0-9._-]+):(.+)$/.exec(label);
  if (named?.[1] && named[2]) return { system: named[1], model: named[2] };
  return { system: 'openai', model: label };
}

/**
 * The run as spans: one trace per run (turn), a root `invoke_agent` span, a `chat` span per model
 * call (step) and an `execute_tool` span per tool call under its step.
 *
 * Times come from the run: the root spans started..finished. The steps ran one after another at
 * the end of the model phase (`latencyMs` of the run, from just after it started), so they are
 * laid end to end backwards from there; within a step the model answered first (`modelMs`) and
 * then its tools ran, side by side, each for its own measured time.
 */
export async function runSpans(run: RunForTrace, options: SpanOptions): Promise<ReadableSpan[]> {
  const traceId = (await sha256Hex(`trace:${run.correlationId}`)).slice(0, 32);
  const spanId = async (name: string) =>
    (await sha256Hex(`span:${run.correlationId}/${name}`)).slice(0, 16);
  const { system, model: requestModel } = modelOfLabel(run.model);
  const startMs = run.startedAt.getTime();
  const endMs = Math.max(startMs, (run.finishedAt ?? run.startedAt).getTime());
  const common: Attributes = {
    'gen_ai.system': system,
    'gen_ai.provider.name': system,
    'gen_ai.request.model': requestModel,
    'gen_ai.conversation.id': run.conversationId,
    'switchboard.tenant_id': run.tenantId,
    'switchboard.correlation_id': run.correlationId,
  };
  const resource = plainResource({
    'service.name': options.serviceName,
    'service.version': options.serviceVersion,
  });
  const scope = { name: 'switchboard.agent', version: options.serviceVersion };
  const make = (s: {
    name: string;
    kind: SpanKind;
    id: string;
    parent?: string;
    start: number;
    end: number;
    attributes: Attributes;
    error?: string;
  }): ReadableSpan => {
    const startTime = hrTime(s.start);
    const endTime = hrTime(Math.max(s.start, s.end));
    return {
      name: s.name,
      kind: s.kind,
      spanContext: () => ({ traceId, spanId: s.id, traceFlags: 1 }),
      parentSpanContext: s.parent ? { traceId, spanId: s.parent, traceFlags: 1 } : undefined,
      startTime,
      endTime,
      duration: hrTime(Math.max(0, s.end - s.start)),
      status:
        s.error !== undefined
          ? { code: STATUS_ERROR, message: s.error }
          : { code: STATUS_UNSET, message: undefined },
      attributes: dropUndefined(s.attributes),
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  };

  const rootId = await spanId('root');
  const steps = run.steps;
  const stepsMs = steps.reduce((sum, s) => sum + (s.latencyMs ?? 0), 0);
  const thinkEnd = Math.min(endMs, startMs + (run.latencyMs ?? endMs - startMs));
  let cursor = Math.max(startMs, thinkEnd - stepsMs);
  const spans: ReadableSpan[] = [];
  let inputTokens = 0;
  let outputTokens = 0;
  for (const [index, step] of steps.entries()) {
    const stepStart = cursor;
    const stepEnd = Math.min(endMs, stepStart + (step.latencyMs ?? 0));
    cursor = stepEnd;
    inputTokens += step.usage?.inputTokens ?? 0;
    outputTokens += step.usage?.outputTokens ?? 0;
    const stepId = await spanId(`step/${index}`);
    spans.push(
      make({
        name: `chat ${step.model ?? requestModel}`,
        kind: SPAN_KIND_CLIENT,
        id: stepId,
        parent: rootId,
        start: stepStart,
        end: stepEnd,
        attributes: {
          ...common,
          'gen_ai.operation.name': 'chat',
          'gen_ai.response.model': step.model,
          'gen_ai.usage.input_tokens': step.usage?.inputTokens,
          'gen_ai.usage.output_tokens': step.usage?.outputTokens,
          'gen_ai.usage.cache_read.input_tokens': step.usage?.cachedInputTokens,
          'gen_ai.usage.cost': step.costUsd,
          'switchboard.step': index,
          'switchboard.model_ms': step.modelMs,
          'gen_ai.output.messages': options.messageText ? stepOutput(step) : undefined,
        },
      }),
    );
    const toolsStart = Math.min(stepEnd, stepStart + (step.modelMs ?? 0));
    const results = [...(step.toolResults ?? [])];
    for (const [toolIndex, call] of (step.toolCalls ?? []).entries()) {
      // Results carry no call id: each call takes the first unclaimed result of its tool.
      const at = results.findIndex((r) => r.toolName === call.toolName);
      const result = at >= 0 ? results.splice(at, 1)[0] : undefined;
      const failure = toolError(result?.output);
      spans.push(
        make({
          name: `execute_tool ${call.toolName}`,
          kind: SPAN_KIND_INTERNAL,
          id: await spanId(`step/${index}/tool/${toolIndex}`),
          parent: stepId,
          start: toolsStart,
          end: Math.min(stepEnd, toolsStart + (result?.latencyMs ?? 0)),
          attributes: {
            ...common,
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': call.toolName,
            'gen_ai.tool.type': 'function',
            'gen_ai.tool.call.arguments': options.messageText ? json(call.input) : undefined,
            'gen_ai.tool.call.result':
              options.messageText && result ? json(result.output) : undefined,
          },
          error:
            failure === undefined ? undefined : options.messageText ? failure : 'the tool failed',
        }),
      );
    }
  }
  const replies = steps.flatMap((s) => (s.text ? [s.text] : []));
  const lastModel = steps.findLast((s) => s.model)?.model;
  const root = make({
    name: 'invoke_agent switchboard',
    kind: SPAN_KIND_INTERNAL,
    id: rootId,
    start: startMs,
    end: endMs,
    attributes: {
      ...common,
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'switchboard',
      'gen_ai.response.model': lastModel,
      'gen_ai.usage.input_tokens': steps.length > 0 ? inputTokens : undefined,
      'gen_ai.usage.output_tokens': steps.length > 0 ? outputTokens : undefined,
      'gen_ai.usage.cost': run.costUsd ?? undefined,
      'switchboard.cost_usd': run.costUsd ?? undefined,
      // Langfuse groups traces of one conversation by session id.
      'session.id': run.conversationId,
      'switchboard.channel': run.channel,
      'switchboard.outcome': run.outcome,
      'gen_ai.input.messages':
        options.messageText && run.customerText !== null
          ? clip(
              JSON.stringify([
                { role: 'user', parts: [{ type: 'text', content: run.customerText }] },
              ]),
            )
          : undefined,
      'gen_ai.output.messages':
        options.messageText && replies.length > 0
          ? clip(
              JSON.stringify([
                {
                  role: 'assistant',
                  parts: replies.map((content) => ({ type: 'text', content })),
                  finish_reason: 'stop',
                },
              ]),
            )
          : undefined,
    },
    error: run.outcome === 'failed' ? (run.error ?? 'failed') : undefined,
  });
  return [root, ...spans];
}

/** The OTLP request body for the spans, and its content type. */
export function encodeSpans(
  spans: ReadableSpan[],
  protocol: TraceProtocol,
): { body: Uint8Array; contentType: string } {
  if (protocol === 'http/json') {
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (!body) throw new Error('the spans could not be serialized');
    return { body, contentType: 'application/json' };
  }
  const body = ProtobufTraceSerializer.serializeRequest(spans);
  if (!body) throw new Error('the spans could not be serialized');
  return { body, contentType: 'application/x-protobuf' };
}

export type SendOutcome =
  | { ok: true; status: number }
  | { ok: false; permanent: boolean; detail: string };

/**
 * POSTs the spans. 2xx: sent. 408, 429, 5xx and network failures are transient (the job retries);
 * any other 4xx is permanent (a wrong URL or key does not fix itself). The detail never carries
 * the headers (credentials) nor the response body.
 */
export async function sendSpans(
  target: TraceTarget,
  spans: ReadableSpan[],
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<SendOutcome> {
  const { body, contentType } = encodeSpans(spans, target.protocol);
  const host = safeHost(target.endpoint);
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(target.endpoint, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': contentType },
      body: new Uint8Array(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    const reason = err instanceof Error ? err.name : 'error';
    return { ok: false, permanent: false, detail: `${host} unreachable (${reason})` };
  }
  // The body is not read for its content (it may echo what was sent); drained to free the socket.
  await res.body?.cancel().catch(() => {});
  if (res.ok) return { ok: true, status: res.status };
  const transient = res.status === 408 || res.status === 429 || res.status >= 500;
  return { ok: false, permanent: !transient, detail: `${host} answered ${res.status}` };
}

function safeHost(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return 'the endpoint';
  }
}

function stepOutput(step: AgentStep): string | undefined {
  const parts: unknown[] = [];
  if (step.text) parts.push({ type: 'text', content: step.text });
  for (const call of step.toolCalls ?? []) {
    parts.push({ type: 'tool_call', name: call.toolName, arguments: call.input });
  }
  return parts.length > 0 ? clip(JSON.stringify([{ role: 'assistant', parts }])) : undefined;
}

/** A tool error as traceSteps records it (`{ error: message }`); undefined for a result. */
function toolError(output: unknown): string | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const keys = Object.keys(output);
  return keys.length === 1 && keys[0] === 'error'
    ? String((output as { error: unknown }).error)
    : undefined;
}

/**
 * Text attributes are clipped: a tool's result (a knowledge article, a list of slots) could
 * otherwise make one export larger than collectors accept (Langfuse and most take a few MB).
 */
const MAX_TEXT_ATTRIBUTE = 8000;

function clip(text: string): string {
  return text.length > MAX_TEXT_ATTRIBUTE ? `${text.slice(0, MAX_TEXT_ATTRIBUTE)}…` : text;
}

function json(value: unknown): string {
  return clip(typeof value === 'string' ? value : JSON.stringify(value ?? null));
}

function dropUndefined(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined));
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1_000_000)];
}

/**
 * A Resource as the serializer reads it (its attributes): @opentelemetry/resources' own class
 * would bring resource detection along for two fixed attributes.
 */
function plainResource(attributes: Attributes): ReadableSpan['resource'] {
  const resource: ReadableSpan['resource'] = {
    attributes,
    merge: () => resource,
    getRawAttributes: () => Object.entries(attributes),
  };
  return resource;
}
