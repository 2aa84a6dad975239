import { z } from 'zod';
import { type GraphErrorMeaning, graphErrorMeaning } from '../../core/messaging/graph-errors';
import { SEND_REASONS } from '../../core/messaging/send-reasons';
import { type GraphTemplate, graphTemplate } from '../../core/messaging/templates';
import type { Env } from '../env';

/**
 * The Graph API calls the send path makes: WhatsApp Cloud API sends and read receipts, the
 * Messenger / Instagram Send API, and template listing with cursor paging. Every call carries the
 * account's own access token as a Bearer header; errors come back as `GraphApiError`, classified
 * transient / permanent by core/messaging/graph-errors.ts.
 */

export type GraphChannel = 'whatsapp' | 'messenger' | 'instagram';

/** What a call needs to know about the account: where to send, and the decrypted token. */
export type GraphAccount = {
  channel: GraphChannel;
  /** phone_number_id (WhatsApp), page id (Messenger), IG account id (Instagram). */
  externalId: string;
  wabaId: string | null;
  accessToken: string;
};

const graphErrorBody = z.object({
  error: z.object({
    message: z.string().default(''),
    type: z.string().optional(),
    code: z.union([z.number(), z.string()]).optional(),
    error_subcode: z.number().optional(),
    error_data: z.object({ details: z.string().optional() }).loose().optional(),
    fbtrace_id: z.string().optional(),
  }),
});

/**
 * Our own codes for calls that got no answer. `network`: the connection could not be made, so
 * Meta never saw the request and sending again is safe. `no_answer`: the request may have reached
 * Meta (timed out, or the connection dropped after it was sent), so whether a send went out is
 * unknown; see `GraphApiError.outcomeUnknown`.
 */
export const NETWORK_ERROR = 'network';
export const NO_ANSWER_ERROR = 'no_answer';

/** Shown to operators for a send Meta may or may not have: never resent on our own. */
export const SEND_OUTCOME_UNKNOWN_REASON = SEND_REASONS.outcome_unknown;

export class GraphApiError extends Error {
  readonly meaning: GraphErrorMeaning;
  constructor(
    readonly info: {
      /** null when no HTTP response came back (network failure, timeout). */
      httpStatus: number | null;
      /** Meta's numeric code as text, or `network` / `no_answer` / `bad_response` for our own. */
      code: string;
      subcode?: number;
      details?: string;
      graphMessage: string;
      fbtraceId?: string;
    },
    /** A provider adapter's own reading of its codes (functions/providers); Meta's table otherwise. */
    meaning?: GraphErrorMeaning,
  ) {
    super(`Graph API error ${info.code}: ${info.details ?? info.graphMessage}`);
    this.name = 'GraphApiError';
    const numeric = /^\d+$/.test(info.code) ? info.code : undefined;
    this.meaning =
      meaning ??
      (info.code === NETWORK_ERROR
        ? {
            classification: 'transient',
            reason: 'Meta could not be reached. It will be retried automatically.',
          }
        : info.code === NO_ANSWER_ERROR
          ? // Transient for reads and read receipts, which are safe to repeat; a send checks
            // `outcomeUnknown` first and is never repeated on its own.
            { classification: 'transient', reason: 'Meta did not answer in time.' }
          : graphErrorMeaning({
              code: numeric,
              subcode: info.subcode,
              httpStatus: info.httpStatus,
              message: info.details ?? info.graphMessage,
            }));
  }
  get transient(): boolean {
    return this.meaning.classification === 'transient';
  }
  /** The request may have reached Meta: a send may have gone out although we have no answer. */
  get outcomeUnknown(): boolean {
    return this.info.code === NO_ANSWER_ERROR;
  }
}

/**
 * Failures that happen before a request can leave: nothing reached Meta. Anything else that ends a
 * call without a response (a timeout, a connection reset or closed while waiting, an error a
 * runtime does not explain, as Workers' fetch often does not) may come after Meta got the request.
 */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = Reflect.get(err, 'code');
  return typeof code === 'string' ? code : undefined;
}

/** Whether a fetch failure happened while connecting (never sent), looking through `cause`. */
export function isConnectFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (typeof e !== 'object' || e === null) return false;
    const code = errorCodeOf(e);
    if (code && CONNECT_FAILURES.has(code)) return true;
    // The fetch standard refuses some ports outright, before any connection is made.
    if (e instanceof Error && e.message === 'bad port') return true;
    // Happy eyeballs tries every address: an AggregateError whose attempts all failed to connect.
    const errors = Reflect.get(e, 'errors');
    if (Array.isArray(errors) && errors.length > 0) {
      return errors.every((inner) => CONNECT_FAILURES.has(errorCodeOf(inner) ?? ''));
    }
    e = Reflect.get(e, 'cause');
  }
  return false;
}

export function noAnswer(err: unknown): GraphApiError {
  const message = err instanceof Error ? err.message : String(err);
  return isConnectFailure(err)
    ? new GraphApiError({ httpStatus: null, code: NETWORK_ERROR, graphMessage: message })
    : new GraphApiError({ httpStatus: null, code: NO_ANSWER_ERROR, graphMessage: message });
}

const whatsappSendResponse = z.object({
  messages: z
    .array(z.object({ id: z.string().min(1), message_status: z.string().optional() }))
    .min(1),
});
const messagingSendResponse = z.object({
  message_id: z.string().min(1),
  recipient_id: z.string().optional(),
});

const templatePage = z.object({
  data: z.array(graphTemplate),
  paging: z.object({ next: z.string().optional() }).loose().optional(),
});

/**
 * Graph rarely takes this long. Past it the answer is unknown (`no_answer`): a send is not repeated,
 * since Meta may already have it.
 */
export const REQUEST_TIMEOUT_MS = 20_000;
/** Meta caps a WABA at 6,000 templates; 100 per page. */
const TEMPLATE_PAGE_SIZE = 100;
const MAX_TEMPLATE_PAGES = 60;

export type SendResult = { providerMessageId: string };

export type GraphClientOptions = {
  /** How long to wait for Graph's answer; default REQUEST_TIMEOUT_MS (tests shorten it). */
  timeoutMs?: number;
};

/** Where and how one client reaches Graph; the methods below share it. */
type GraphConnection = {
  fetchImpl: typeof fetch;
  timeoutMs: number;
  /** The configured Graph origin, without a trailing slash. */
  base: string;
  /** `${base}/${version}/${path}` */
  versioned: (path: string) => string;
};

/** One Graph request: the answer's JSON on 2xx, a classified `GraphApiError` otherwise. */
async function call(
  graph: GraphConnection,
  account: GraphAccount,
  url: string,
  init: { method: 'GET' | 'POST'; body?: unknown },
): Promise<unknown> {
  // Called as a plain function: workerd's fetch throws "Illegal invocation" when called as a
  // method of another object.
  const { fetchImpl } = graph;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: init.method,
      headers: {
        authorization: `Bearer ${account.accessToken}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(graph.timeoutMs),
    });
  } catch (err) {
    throw noAnswer(err);
  }
  const json = await answerJson(response);
  if (!response.ok) throw graphErrorOf(response.status, json);
  return json;
}

/** The answer's body as JSON (null when empty or not JSON). */
async function answerJson(response: Response): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    // The body stopped coming (timeout, dropped connection). An accepted send whose answer we
    // could not read is as unknown as one with no answer at all.
    if (response.ok) {
      throw new GraphApiError({
        httpStatus: null,
        code: NO_ANSWER_ERROR,
        graphMessage: err instanceof Error ? err.message : String(err),
      });
    }
    text = '';
  }
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

function graphErrorOf(httpStatus: number, json: unknown): GraphApiError {
  const parsed = graphErrorBody.safeParse(json);
  if (!parsed.success) {
    return new GraphApiError({
      httpStatus,
      code: 'bad_response',
      graphMessage: `HTTP ${httpStatus} without a Graph error body`,
    });
  }
  const e = parsed.data.error;
  return new GraphApiError({
    httpStatus,
    code: e.code === undefined ? 'unknown' : String(e.code),
    subcode: e.error_subcode,
    details: e.error_data?.details,
    graphMessage: e.message,
    fbtraceId: e.fbtrace_id,
  });
}

function parseOk<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    // Accepted (2xx) but unreadable: we cannot know the provider id, and sending again could
    // duplicate the message, so this is reported as a permanent failure.
    throw new GraphApiError({
      httpStatus: 200,
      code: 'bad_response',
      graphMessage: `unexpected ${what} response from Graph`,
    });
  }
  return parsed.data;
}

/** `POST /{v}/{account id}/messages`: where every channel sends (and marks read). */
function postMessages(graph: GraphConnection, account: GraphAccount, body: unknown) {
  return call(graph, account, graph.versioned(`${account.externalId}/messages`), {
    method: 'POST',
    body,
  });
}

/** `POST /{v}/{phone_number_id}/messages` with a body from functions/messaging/bodies.ts. */
async function sendWhatsApp(
  graph: GraphConnection,
  account: GraphAccount,
  body: unknown,
): Promise<SendResult> {
  const json = await postMessages(graph, account, body);
  const ok = parseOk(whatsappSendResponse, json, 'WhatsApp send');
  // biome-ignore lint/style/noNonNullAssertion: the schema requires at least one element
  return { providerMessageId: ok.messages[0]!.id };
}

/** `POST /{v}/{page_or_ig_id}/messages` (Messenger and Instagram Send API). */
async function sendMessaging(
  graph: GraphConnection,
  account: GraphAccount,
  body: unknown,
): Promise<SendResult> {
  const json = await postMessages(graph, account, body);
  return { providerMessageId: parseOk(messagingSendResponse, json, 'Send API').message_id };
}

/**
 * Marks a customer's message read and, optionally, shows the typing indicator (WhatsApp: one
 * call with `typing_indicator`; Messenger / Instagram: `mark_seen` then `typing_on`).
 * `recipientId` is the PSID / IGSID and only matters for Messenger / Instagram.
 */
async function markRead(
  graph: GraphConnection,
  account: GraphAccount,
  input: { providerMessageId: string; recipientId: string; typing?: boolean },
): Promise<void> {
  if (account.channel === 'whatsapp') {
    await postMessages(graph, account, {
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: input.providerMessageId,
      ...(input.typing ? { typing_indicator: { type: 'text' } } : {}),
    });
    return;
  }
  const actions = input.typing ? ['mark_seen', 'typing_on'] : ['mark_seen'];
  for (const action of actions) {
    await postMessages(graph, account, {
      recipient: { id: input.recipientId },
      sender_action: action,
    });
  }
}

/** Every template of the account's WABA, following `paging.next` until Graph stops giving one. */
async function listTemplates(
  graph: GraphConnection,
  account: GraphAccount,
): Promise<GraphTemplate[]> {
  if (!account.wabaId)
    throw new Error('listTemplates: the account has no WhatsApp Business Account id');
  const first = new URL(graph.versioned(`${account.wabaId}/message_templates`));
  first.searchParams.set('fields', 'id,name,language,status,category,parameter_format,components');
  first.searchParams.set('limit', String(TEMPLATE_PAGE_SIZE));
  const templates: GraphTemplate[] = [];
  let next: string | undefined = first.toString();
  for (let page = 0; next && page < MAX_TEMPLATE_PAGES; page++) {
    // The token goes only to the configured Graph host, whatever a `next` link says.
    if (new URL(next).origin !== new URL(graph.base).origin) {
      throw new GraphApiError({
        httpStatus: 200,
        code: 'bad_response',
        graphMessage: 'paging.next points outside the Graph API',
      });
    }
    const json = await call(graph, account, next, { method: 'GET' });
    const parsed = parseOk(templatePage, json, 'message_templates');
    templates.push(...parsed.data);
    next = parsed.paging?.next;
  }
  return templates;
}

const customerProfile = z
  .object({
    first_name: z.string().optional(),
    last_name: z.string().optional(),
    name: z.string().nullish(),
    username: z.string().nullish(),
  })
  .loose();

/**
 * A customer's name from the User Profile APIs: Messenger `GET /{PSID}?fields=first_name,
 * last_name,profile_pic`, Instagram `GET /{IGSID}?fields=name,username` (v14+), with the Page /
 * IG account's token. Null fields mean the customer set none.
 */
async function userProfile(
  graph: GraphConnection,
  account: GraphAccount,
  userId: string,
): Promise<{ name: string | null; username: string | null }> {
  const fields =
    account.channel === 'instagram' ? 'name,username' : 'first_name,last_name,profile_pic';
  const url = graph.versioned(`${encodeURIComponent(userId)}?fields=${fields}`);
  const profile = parseOk(
    customerProfile,
    await call(graph, account, url, { method: 'GET' }),
    'profile',
  );
  const full = [profile.first_name, profile.last_name].filter(Boolean).join(' ').trim();
  return {
    name: (account.channel === 'instagram' ? profile.name?.trim() : full) || null,
    username: profile.username?.trim() || null,
  };
}

export function graphClient(
  env: Pick<Env, 'GRAPH_API_BASE_URL' | 'GRAPH_API_VERSION'>,
  fetchImpl: typeof fetch = fetch,
  options: GraphClientOptions = {},
) {
  const base = env.GRAPH_API_BASE_URL.replace(/\/$/, '');
  const graph: GraphConnection = {
    fetchImpl,
    timeoutMs: options.timeoutMs ?? REQUEST_TIMEOUT_MS,
    base,
    versioned: (path) => `${base}/${env.GRAPH_API_VERSION}/${path}`,
  };
  return {
    sendWhatsApp: (account: GraphAccount, body: unknown) => sendWhatsApp(graph, account, body),
    sendMessaging: (account: GraphAccount, body: unknown) => sendMessaging(graph, account, body),
    markRead: (account: GraphAccount, input: Parameters<typeof markRead>[2]) =>
      markRead(graph, account, input),
    listTemplates: (account: GraphAccount) => listTemplates(graph, account),
    userProfile: (account: GraphAccount, userId: string) => userProfile(graph, account, userId),
  };
}

export type GraphClient = ReturnType<typeof graphClient>;
