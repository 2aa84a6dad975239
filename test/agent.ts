import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from '@ai-sdk/provider';
import { MockLanguageModelV4, MockTranscriptionModelV4 } from 'ai/test';
import type postgres from 'postgres';
import { type WhatsAppMessageInput, whatsappMessageBody } from '../dev/meta-payloads';
import type { AgentModelResolver, AgentModels } from '../functions/agent/models';
import type { TenantFixture } from './fixtures';
import type { Harness } from './harness';
import { postWebhook, waNumber } from './meta-webhooks';

/**
 * Test support for the agent: scripted AI SDK mock models (one result per model call, in order,
 * as `MockLanguageModelV4` consumes an array) and customers writing in through the real webhook
 * path. Only imported by tests.
 */

export const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

export function replyWith(text: string): LanguageModelV4GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: undefined },
    usage,
    warnings: [],
  };
}

export function callTool(
  toolName: string,
  input: Record<string, unknown>,
  toolCallId = `call-${toolName}-${Math.random().toString(36).slice(2, 8)}`,
): LanguageModelV4GenerateResult {
  return {
    content: [{ type: 'tool-call', toolCallId, toolName, input: JSON.stringify(input) }],
    finishReason: { unified: 'tool-calls', raw: undefined },
    usage,
    warnings: [],
  };
}

export type ScriptStep =
  | LanguageModelV4GenerateResult
  | ((options: LanguageModelV4CallOptions) => Promise<LanguageModelV4GenerateResult>);

/**
 * A chat model that plays `script` one entry per call (a function entry runs first: it can make
 * things happen "while the model thinks"), recording every prompt; and a transcription mock.
 */
export function scriptedModels(
  script: ScriptStep[],
  options: {
    transcript?: string | Error;
    vision?: boolean;
    label?: string;
    /** The id the chat model reports (default the mock's own, which has no list price). */
    modelId?: string;
  } = {},
) {
  const queue = [...script];
  const chat = new MockLanguageModelV4({
    ...(options.modelId ? { modelId: options.modelId } : {}),
    doGenerate: async (callOptions) => {
      const next = queue.shift();
      if (!next) throw new Error('the scripted model has no more answers');
      return typeof next === 'function' ? next(callOptions) : next;
    },
  });
  const transcriptionCalls: Uint8Array[] = [];
  const transcription = new MockTranscriptionModelV4({
    doGenerate: async ({ audio }) => {
      transcriptionCalls.push(typeof audio === 'string' ? new TextEncoder().encode(audio) : audio);
      if (options.transcript instanceof Error) throw options.transcript;
      return {
        text: options.transcript ?? '',
        segments: [],
        language: undefined,
        durationInSeconds: undefined,
        warnings: [],
        response: { timestamp: new Date(), modelId: 'mock-whisper' },
      };
    },
  });
  const models: AgentModels = {
    chat,
    label: options.label ?? 'mock:scripted',
    offline: false,
    transcription,
    transcriptionLabel: 'mock-whisper',
    vision: options.vision ?? true,
  };
  const resolver: AgentModelResolver = () => models;
  return { resolver, chat, transcriptionCalls, remaining: () => queue.length };
}

/** The prompt of model call `index` flattened to role + text lines, for readable assertions. */
export function promptLines(chat: MockLanguageModelV4, index: number): string[] {
  const call = chat.doGenerateCalls[index];
  if (!call) throw new Error(`no model call ${index}`);
  return call.prompt.flatMap((message) => {
    if (message.role === 'system') return [`system: ${message.content.split('\n')[0]}`];
    return message.content.flatMap((part) =>
      part.type === 'text'
        ? [`${message.role}: ${part.text}`]
        : part.type === 'file'
          ? [`${message.role}: [file ${part.mediaType}]`]
          : part.type === 'tool-call'
            ? [`${message.role}: [tool-call ${part.toolName}]`]
            : part.type === 'tool-result'
              ? [`${message.role}: [tool-result ${part.toolName}]`]
              : [],
    );
  });
}

export function systemPrompt(chat: MockLanguageModelV4, index: number): string {
  const system = chat.doGenerateCalls[index]?.prompt.find((m) => m.role === 'system');
  return system?.role === 'system' ? system.content : '';
}

/** Meta's clock for a message written `offsetSeconds` from now (WhatsApp: unix seconds). */
export function providerSeconds(offsetSeconds = 0): number {
  return Math.floor(Date.now() / 1000) + offsetSeconds;
}

/**
 * A customer message through the real webhook path (signed, stored, debounced turn enqueued),
 * written now unless `timestamp` says otherwise. Messages of the same second keep their arrival
 * order, as the agent reads them.
 */
export async function customerWrites(
  h: Harness,
  t: TenantFixture,
  from: string,
  message: WhatsAppMessageInput | string,
  options: { name?: string; id?: string; timestamp?: number } = {},
): Promise<string> {
  const id = options.id ?? `wamid.test-${crypto.randomUUID()}`;
  const res = await postWebhook(
    h,
    whatsappMessageBody({
      ...waNumber(t),
      from,
      id,
      name: options.name ?? 'Ana',
      timestamp: options.timestamp ?? providerSeconds(),
      message: typeof message === 'string' ? { type: 'text', text: message } : message,
    }),
  );
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  return id;
}

/** Our message row for a provider id. */
export async function messageByProviderId(sql: postgres.Sql, providerMessageId: string) {
  const [row] = await sql`select * from messages where provider_message_id = ${providerMessageId}`;
  if (!row) throw new Error(`no message ${providerMessageId}`);
  return row;
}

export async function conversationOf(sql: postgres.Sql, t: TenantFixture, phone: string) {
  const [row] = await sql`
    select cv.* from conversations cv join contacts c on c.id = cv.contact_id
    where cv.tenant_id = ${t.tenantId} and (c.phone = ${phone} or c.external_user_id = ${phone})`;
  if (!row) throw new Error(`no conversation with ${phone}`);
  return row;
}

/** Every message of a conversation in provider-time order. */
export async function threadOf(sql: postgres.Sql, conversationId: string) {
  return sql`select * from messages where conversation_id = ${conversationId}
    order by provider_timestamp, received_at, id`;
}

export async function runsOf(sql: postgres.Sql, conversationId: string) {
  return sql`select * from agent_runs where conversation_id = ${conversationId}
    order by started_at, id`;
}

/** The Graph API send requests (POST …/messages) made so far, as the stand-in recorded their bodies. */
export function graphSends(h: Harness): Array<Record<string, unknown>> {
  return (h.graph?.requests ?? [])
    .filter((r) => r.method === 'POST' && r.path.endsWith('/messages'))
    .map((r) => r.body as Record<string, unknown>);
}
