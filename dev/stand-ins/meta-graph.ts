/**
 * A fake of Meta's Graph API for the local stack and the test suite: the WhatsApp Cloud API and
 * Messenger / Instagram Send API endpoints the app calls, media download in Meta's two steps,
 * template listing with cursor paging, and the signed status webhooks Meta sends back after a
 * send. Point the app's GRAPH_API_BASE_URL at `url`; paths keep their `/{version}/` prefix.
 *
 * Tests steer it with `failNext` (inject Graph errors such as 131047 or 130429, in the response
 * or as a `failed` status webhook), `delayNext` (handle a request but answer late, as when Meta
 * has a message and the app times out), `requests` (what the app sent) and `flushWebhooks` (wait
 * for the status webhooks before asserting). The same record and injections are reachable over HTTP
 * on the stand-in's own port under `/_control/` (see `registerControl`), for the local stack, where
 * the stand-in runs in another process than whoever steers it.
 *
 * Deliberate simplifications: no 24-hour window or rate limits (inject those with `failNext`),
 * webhooks are not retried when the app rejects them, and every valid send is accepted.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Context, type Env, Hono } from 'hono';
import { z } from 'zod';
import {
  encodeMetaBody,
  instagramMessageBody,
  instagramReadBody,
  type MessagingWebhookBody,
  messagingMessageBody,
  messengerDeliveryBody,
  messengerMessageBody,
  messengerReadBody,
  metaWebhookHeaders,
  randomMid,
  randomWamid,
  type WhatsAppPricing,
  type WhatsAppStatusValue,
  type WhatsAppWebhookBody,
  whatsappMessageBody,
  whatsappStatusBody,
} from '../meta-payloads';
import { hasBearerToken, listenOnLoopback } from './http-server';
import {
  badRequest,
  GraphError,
  type GraphErrorSpec,
  graphErrorResponse,
  invalidToken,
  unknownObject,
} from './meta-graph-errors';
import {
  defaultTemplateFixtures,
  pageTemplates,
  type TemplateFixture,
} from './meta-graph-templates';
import {
  validateMessagingSend,
  validateWhatsAppSend,
  type WhatsAppMediaKind,
} from './meta-graph-validate';

export type { GraphErrorSpec } from './meta-graph-errors';
export { defaultTemplateFixtures, type TemplateFixture } from './meta-graph-templates';

export type MetaChannel = 'whatsapp' | 'messenger' | 'instagram';

export type MetaAccount =
  | { channel: 'whatsapp'; phoneNumberId: string; wabaId: string; displayPhoneNumber: string }
  | { channel: 'messenger'; pageId: string }
  | { channel: 'instagram'; igId: string };

/**
 * A customer's profile as the User Profile APIs answer it: Messenger's `GET /{PSID}` (first_name,
 * last_name, profile_pic) and Instagram's `GET /{IGSID}` (name, username, profile_pic).
 */
export type CustomerProfile =
  | { channel: 'messenger'; first_name?: string; last_name?: string; profile_pic?: string }
  | { channel: 'instagram'; name?: string; username?: string; profile_pic?: string };

export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/v23.0/106540352242922/messages`. */
  path: string;
  query: Record<string, string>;
  /** Lowercased names. */
  headers: Record<string, string>;
  /** Parsed JSON; for multipart uploads `{ fields, file: { name, type, size } }`; else null. */
  body: unknown;
  /** Milliseconds, from the stand-in's clock. */
  time: number;
  /** What failNext / delayNext did to this request; absent when nothing was injected. */
  injected?: {
    delayMs?: number;
    failure?: { code: number; status: number; via: 'response' | 'webhook' };
  };
}

export interface DeliveredWebhook {
  channel: MetaChannel;
  url: string;
  body: WhatsAppWebhookBody | MessagingWebhookBody;
  /** HTTP status from the app, or null when delivery threw. */
  status: number | null;
  error?: string;
}

export interface FailNextOptions extends GraphErrorSpec {
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Only requests for which this is true fail (and count); default: the next request of any kind. */
  match?: (request: RecordedRequest) => boolean;
  /**
   * `response` (default): the HTTP call fails. `webhook`: a WhatsApp message send is accepted
   * and then reported `failed` with this error in a status webhook, as Meta does for errors it
   * only finds after accepting (e.g. 131047, 131026). Ignored for other requests.
   */
  via?: 'response' | 'webhook';
}

export interface DelayNextOptions {
  /** How many matching requests answer late; default 1. */
  times?: number;
  /** Only requests for which this is true are delayed (and count); default: any request. */
  match?: (request: RecordedRequest) => boolean;
}

export interface MetaGraphOptions {
  port?: number;
  appSecret: string;
  /** The Bearer token every Graph call must carry. */
  accessToken: string;
  /**
   * Where webhooks go: one URL for every product, or one per product as Meta allows. With
   * `deliverWebhook` it still names the request URL (the in-process app routes on its path).
   */
  webhookUrl?: string | Partial<Record<MetaChannel, string>>;
  /** Deliver in-process instead of over HTTP (tests pass their app's fetch). */
  deliverWebhook?: (request: Request) => Promise<Response>;
  accounts: MetaAccount[];
  /** By WABA id. Default: `defaultTemplateFixtures` for every configured WABA. */
  templates?: Record<string, TemplateFixture[]>;
  /** After each send, emit the statuses a delivered-and-read message gets. Default true. */
  statusProgression?: boolean;
  /** Pause before each status webhook; default 0. */
  statusDelayMs?: number;
  /** Milliseconds since the epoch; injectable so tests can expire media URLs without waiting. */
  now?: () => number;
  /**
   * Messenger / Instagram: post the `message_echoes` webhook of each Send API message before
   * answering the send (Meta gives no order between the two). `appId` is the echo's `app_id`
   * (left out when undefined, as on echoes Meta does not attribute to an app). Default: no echoes.
   */
  messagingEchoes?: { appId?: string };
  /** By PSID / IGSID: what `GET /{id}?fields=…` answers. Unknown ids are Graph's error 100. */
  profiles?: Record<string, CustomerProfile>;
}

export interface CustomerMessage {
  channel: MetaChannel;
  /** Business side: WhatsApp phone number id or display phone; Page id; IG account id. */
  to: string;
  /** Customer: phone (WhatsApp), PSID (Messenger), IGSID (Instagram). */
  from: string;
  /** What the customer wrote, or with `replyId` the title of the button they tapped. */
  text: string;
  /**
   * A tap on a reply button the business sent, carrying the button's id: a WhatsApp
   * `interactive.button_reply`, a Messenger / Instagram quick reply.
   */
  replyId?: string;
  /**
   * WhatsApp: the profile name in the webhook. Messenger / Instagram webhooks carry none: the
   * stand-in's `sendCustomerMessage` makes it the profile `GET /{PSID|IGSID}` answers instead.
   */
  name?: string;
  /** WhatsApp business-scoped user id. */
  userId?: string;
  /** Message id; a fresh wamid / mid by default. */
  id?: string;
  /** Milliseconds. */
  timestamp?: number;
}

export interface MetaGraphStandIn {
  /** Use as GRAPH_API_BASE_URL. */
  url: string;
  close(): Promise<void>;
  requests: RecordedRequest[];
  webhooks: DeliveredWebhook[];
  failNext(failure: FailNextOptions): void;
  /**
   * The next matching request is handled as usual (a send is accepted, its webhooks follow) but
   * answered only after `ms`; reset() and close() answer pending ones at once.
   */
  delayNext(ms: number, options?: DelayNextOptions): void;
  /** Registers media as if uploaded; returns its id. */
  addMedia(bytes: Uint8Array, mimeType: string): string;
  /** Resolves once every status webhook scheduled so far (and any they lead to) was delivered. */
  flushWebhooks(): Promise<void>;
  /** Forgets requests, webhooks, injected failures and media; cancels pending webhooks. */
  reset(): void;
  /** A signed inbound customer message to the configured webhook target. */
  sendCustomerMessage(message: CustomerMessage): Promise<Response>;
  /** Registers (or replaces) the profile `GET /{id}` answers for a PSID / IGSID. */
  setProfile(id: string, profile: CustomerProfile): void;
}

const DEFAULT_WEBHOOK_URL = 'http://127.0.0.1/webhooks/meta';

/** The fields asked for (`fields=a,b`) that the profile has, with its id, as Graph answers. */
function profileFields(id: string, profile: CustomerProfile, fields: string | undefined) {
  const { channel: _, ...known } = profile;
  const asked = (fields ?? 'name').split(',').map((f) => f.trim());
  const answer: Record<string, string> = { id };
  for (const field of asked) {
    const value = (known as Record<string, string | undefined>)[field];
    if (value !== undefined) answer[field] = value;
  }
  return answer;
}

function webhookUrlFor(
  webhookUrl: MetaGraphOptions['webhookUrl'],
  channel: MetaChannel,
): string | undefined {
  return typeof webhookUrl === 'string' ? webhookUrl : webhookUrl?.[channel];
}

/** Meta ids are numeric strings of about 15–17 digits. */
function numericId(): string {
  const digits = Array.from(crypto.getRandomValues(new Uint8Array(15)), (b) => b % 10).join('');
  return `1${digits}`;
}

// ---------------------------------------------------------------------------------------------
// Webhook delivery, shared by the stand-in and the customer simulator
// ---------------------------------------------------------------------------------------------

async function postWebhook(
  url: string,
  body: unknown,
  appSecret: string,
  deliver?: (request: Request) => Promise<Response>,
): Promise<Response> {
  const raw = encodeMetaBody(body);
  const request = new Request(url, {
    method: 'POST',
    headers: await metaWebhookHeaders(raw, appSecret),
    body: raw,
  });
  return deliver ? deliver(request) : fetch(request);
}

function findAccount(accounts: MetaAccount[], channel: MetaChannel, to: string) {
  const digits = to.replace(/\D/g, '');
  return accounts.find((account) => {
    if (account.channel !== channel) return false;
    if (account.channel === 'whatsapp') {
      return (
        account.phoneNumberId === to ||
        (digits !== '' && account.displayPhoneNumber.replace(/\D/g, '') === digits)
      );
    }
    return (account.channel === 'messenger' ? account.pageId : account.igId) === to;
  });
}

function customerMessageBody(accounts: MetaAccount[], message: CustomerMessage) {
  if (message.channel !== 'whatsapp') {
    const object = message.channel === 'messenger' ? 'page' : 'instagram';
    const { id: mid, text, timestamp, replyId: quickReplyPayload } = message;
    return messagingMessageBody(object, message.to, message.from, {
      mid,
      text,
      timestamp,
      quickReplyPayload,
    });
  }
  const account = findAccount(accounts, 'whatsapp', message.to);
  if (account?.channel !== 'whatsapp') {
    throw new Error(`sendCustomerMessage: no WhatsApp account with id or phone "${message.to}"`);
  }
  return whatsappMessageBody({
    ...account,
    from: message.from.replace(/\D/g, ''),
    userId: message.userId,
    name: message.name,
    id: message.id,
    timestamp: Math.floor((message.timestamp ?? Date.now()) / 1000),
    message:
      message.replyId === undefined
        ? { type: 'text', text: message.text }
        : { type: 'interactive', buttonReply: { id: message.replyId, title: message.text } },
  });
}

/**
 * Simulates a customer writing to a business: builds the channel's webhook body with
 * dev/meta-payloads, signs it with the app secret and POSTs it (or hands it to `deliver`).
 * WhatsApp needs `accounts` to find the WABA and display number for `to`.
 */
export async function sendCustomerMessage(
  options: CustomerMessage & {
    webhookUrl?: string;
    deliver?: (request: Request) => Promise<Response>;
    appSecret: string;
    accounts?: MetaAccount[];
  },
): Promise<Response> {
  if (!options.webhookUrl && !options.deliver) {
    throw new Error('sendCustomerMessage: pass webhookUrl or deliver');
  }
  const body = customerMessageBody(options.accounts ?? [], options);
  return postWebhook(
    options.webhookUrl ?? DEFAULT_WEBHOOK_URL,
    body,
    options.appSecret,
    options.deliver,
  );
}

/**
 * Meta's subscription handshake: GET with hub.mode / hub.challenge / hub.verify_token; the
 * endpoint must answer 200 with the bare challenge. Returns whether it did.
 */
export async function verifyWebhookSubscription(options: {
  webhookUrl: string;
  verifyToken: string;
  deliver?: (request: Request) => Promise<Response>;
}): Promise<{ ok: boolean; status: number; body: string }> {
  const challenge = numericId();
  const url = new URL(options.webhookUrl);
  url.searchParams.set('hub.mode', 'subscribe');
  url.searchParams.set('hub.challenge', challenge);
  url.searchParams.set('hub.verify_token', options.verifyToken);
  const request = new Request(url, { headers: { 'user-agent': 'facebookplatform/1.0' } });
  const response = await (options.deliver ? options.deliver(request) : fetch(request));
  const body = await response.text();
  return { ok: response.status === 200 && body === challenge, status: response.status, body };
}

// ---------------------------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------------------------

interface StoredMedia {
  bytes: Uint8Array;
  mimeType: string;
  sha256: string;
}

/** WhatsApp's supported upload types and size caps (meta-platform reference §6). */
const UPLOAD_LIMITS: Record<string, { kind: WhatsAppMediaKind; maxBytes: number }> = {
  'audio/aac': { kind: 'audio', maxBytes: 16 << 20 },
  'audio/amr': { kind: 'audio', maxBytes: 16 << 20 },
  'audio/mpeg': { kind: 'audio', maxBytes: 16 << 20 },
  'audio/mp4': { kind: 'audio', maxBytes: 16 << 20 },
  'audio/ogg': { kind: 'audio', maxBytes: 16 << 20 },
  'text/plain': { kind: 'document', maxBytes: 100 << 20 },
  'application/pdf': { kind: 'document', maxBytes: 100 << 20 },
  'application/msword': { kind: 'document', maxBytes: 100 << 20 },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    kind: 'document',
    maxBytes: 100 << 20,
  },
  'application/vnd.ms-excel': { kind: 'document', maxBytes: 100 << 20 },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
    kind: 'document',
    maxBytes: 100 << 20,
  },
  'application/vnd.ms-powerpoint': { kind: 'document', maxBytes: 100 << 20 },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    kind: 'document',
    maxBytes: 100 << 20,
  },
  'image/jpeg': { kind: 'image', maxBytes: 5 << 20 },
  'image/png': { kind: 'image', maxBytes: 5 << 20 },
  'image/webp': { kind: 'sticker', maxBytes: 500 << 10 },
  'video/mp4': { kind: 'video', maxBytes: 16 << 20 },
  'video/3gpp': { kind: 'video', maxBytes: 16 << 20 },
};

const MEDIA_URL_TTL_SECONDS = 5 * 60;
const GRAPH_VERSION = ':version{v[0-9]+\\.[0-9]+}';

interface PendingFailure extends FailNextOptions {
  remaining: number;
}

interface PendingDelay extends DelayNextOptions {
  ms: number;
  remaining: number;
}

// ---------------------------------------------------------------------------------------------
// Control over HTTP (/_control/…)
// ---------------------------------------------------------------------------------------------

/** Titles Meta gives the errors one most often injects; others get a generic one. */
const KNOWN_ERROR_MESSAGES: Record<number, string> = {
  2: 'Service temporarily unavailable',
  4: 'Application request limit reached',
  100: '(#100) Invalid parameter',
  130429: '(#130429) Rate limit hit',
  131000: '(#131000) Something went wrong',
  131026: '(#131026) Message undeliverable',
  131047: '(#131047) Re-engagement message',
  131048: '(#131048) Spam rate limit hit',
  131056: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
};

const controlFailNextBody = z
  .strictObject({
    /** The Graph error code to answer with (131047, 130429, 2, …). */
    code: z.number().int().positive().optional(),
    status: z.number().int().min(400).max(599).optional(),
    subcode: z.number().int().positive().optional(),
    message: z.string().min(1).max(500).optional(),
    details: z.string().min(1).max(1000).optional(),
    /** How many matching requests it applies to. */
    count: z.number().int().min(1).max(1000).default(1),
    /** Answer this much later (with the failure, or with the normal answer when there is none). */
    delayMs: z.number().int().min(0).max(600_000).optional(),
    via: z.enum(['response', 'webhook']).default('response'),
    /** `send`: message sends only (not mark-read or typing); `any`: any Graph request. */
    on: z.enum(['send', 'any']).default('send'),
  })
  .refine((body) => body.code !== undefined || body.delayMs !== undefined, {
    message: 'give "code" (a Graph error to answer with), "delayMs" (a delay), or both',
  })
  .refine(
    (body) =>
      body.code !== undefined ||
      [body.status, body.subcode, body.message, body.details].every((v) => v === undefined),
    { message: '"status", "subcode", "message" and "details" describe an error: give "code" too' },
  );

const controlRequestsQuery = z.strictObject({
  /** Only requests recorded after this `seq` (the `lastSeq` of an earlier answer). */
  since: z.coerce.number().int().min(0).optional(),
});

function controlError(message: string, issues?: z.core.$ZodIssue[]): Response {
  return Response.json(
    {
      error: {
        message,
        ...(issues
          ? { issues: issues.map((i) => ({ path: i.path.join('.'), message: i.message })) }
          : {}),
      },
    },
    { status: 400 },
  );
}

function invalid(what: string, error: z.ZodError): Response {
  const summary = error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  return controlError(`Invalid ${what}: ${summary}`, error.issues);
}

/** A message send, not a read receipt / typing indicator / sender action on the same endpoint. */
function isSend(request: RecordedRequest): boolean {
  if (request.method !== 'POST' || !/\/messages$/.test(request.path)) return false;
  const body = request.body as { status?: unknown; sender_action?: unknown } | null;
  return body?.status === undefined && body?.sender_action === undefined;
}

/**
 * `/_control/…` on the stand-in's own port: the record of requests and the error/delay injection
 * that tests use in-process, for a stand-in running in another process (`npm start`). Kept apart
 * from Graph's paths, never recorded, never failed or delayed, and answered in its own error shape
 * (`{ error: { message, issues? } }`, 400) rather than Graph's.
 */
function registerControl<E extends Env>(
  app: Hono<E>,
  control: {
    requests: () => Array<RecordedRequest & { seq: number }>;
    lastSeq: () => number;
    failNext: (failure: FailNextOptions) => void;
    delayNext: (ms: number, options: DelayNextOptions) => void;
    reset: () => void;
  },
) {
  app.get('/_control/requests', (c) => {
    const query = controlRequestsQuery.safeParse(c.req.query());
    if (!query.success) return invalid('query', query.error);
    const since = query.data.since ?? 0;
    return c.json({
      requests: control.requests().filter((r) => r.seq > since),
      lastSeq: control.lastSeq(),
    });
  });

  app.post('/_control/fail-next', async (c) => {
    if (!(c.req.header('content-type') ?? '').includes('application/json')) {
      return controlError('Send a JSON body with content-type: application/json.');
    }
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      return controlError('The body is not valid JSON.');
    }
    const parsed = controlFailNextBody.safeParse(json);
    if (!parsed.success) return invalid('fail-next body', parsed.error);
    const body = parsed.data;
    const match = body.on === 'send' ? isSend : undefined;
    if (body.code !== undefined) {
      control.failNext({
        code: body.code,
        status: body.status,
        subcode: body.subcode,
        message:
          body.message ?? KNOWN_ERROR_MESSAGES[body.code] ?? `(#${body.code}) Injected failure`,
        details: body.details,
        times: body.count,
        via: body.via,
        match,
      });
    }
    if (body.delayMs !== undefined) {
      control.delayNext(body.delayMs, { times: body.count, match });
    }
    return c.json({ injected: body });
  });

  app.post('/_control/reset', (c) => {
    control.reset();
    return c.json({ reset: true });
  });

  app.all('/_control/*', (c) =>
    c.json(
      {
        error: {
          message: `No control endpoint ${c.req.method} ${c.req.path}. There are GET /_control/requests[?since=], POST /_control/fail-next and POST /_control/reset.`,
        },
      },
      404,
    ),
  );
}

export async function startMetaGraph(options: MetaGraphOptions): Promise<MetaGraphStandIn> {
  const now = options.now ?? Date.now;
  const requests: RecordedRequest[] = [];
  const webhooks: DeliveredWebhook[] = [];
  const failures: PendingFailure[] = [];
  const delays: PendingDelay[] = [];
  /** Position of each recorded request in the stand-in's lifetime (kept across reset()). */
  const sequence = new WeakMap<RecordedRequest, number>();
  let recordedCount = 0;
  /** Answers held back by delayNext, released early by reset() / close(). */
  const heldAnswers = new Set<() => void>();
  const releaseHeldAnswers = () => {
    for (const release of heldAnswers) release();
    heldAnswers.clear();
  };
  const media = new Map<string, StoredMedia>();
  const profiles = new Map(Object.entries(options.profiles ?? {}));
  const pending = new Set<Promise<void>>();
  // Signs media download URLs so they cannot be extended or forged by editing `exp`.
  const urlKey = crypto.getRandomValues(new Uint8Array(32));
  // Bumped by reset(): progressions started before it stop instead of leaking into the next test.
  let generation = 0;
  let baseUrl = '';

  const templatesByWaba: Record<string, TemplateFixture[]> =
    options.templates ??
    Object.fromEntries(
      options.accounts.flatMap((a) =>
        a.channel === 'whatsapp' ? [[a.wabaId, defaultTemplateFixtures]] : [],
      ),
    );

  const whatsappNumber = (id: string) =>
    options.accounts.find((a) => a.channel === 'whatsapp' && a.phoneNumberId === id) as
      | Extract<MetaAccount, { channel: 'whatsapp' }>
      | undefined;
  const isWaba = (id: string) =>
    options.accounts.some((a) => a.channel === 'whatsapp' && a.wabaId === id);
  const messagingAccount = (id: string) =>
    options.accounts.find(
      (a) =>
        (a.channel === 'messenger' && a.pageId === id) ||
        (a.channel === 'instagram' && a.igId === id),
    ) as Extract<MetaAccount, { channel: 'messenger' | 'instagram' }> | undefined;

  // --- webhooks --------------------------------------------------------------------------------

  const deliver = async (
    channel: MetaChannel,
    body: WhatsAppWebhookBody | MessagingWebhookBody,
    forGeneration: number,
  ) => {
    const configured = webhookUrlFor(options.webhookUrl, channel);
    if (forGeneration !== generation || (!configured && !options.deliverWebhook)) return;
    const url = configured ?? DEFAULT_WEBHOOK_URL;
    try {
      const response = await postWebhook(url, body, options.appSecret, options.deliverWebhook);
      // Drain the body so keep-alive sockets are released.
      await response.arrayBuffer().catch(() => undefined);
      webhooks.push({ channel, url, body, status: response.status });
    } catch (error) {
      webhooks.push({ channel, url, body, status: null, error: String(error) });
    }
  };

  /** Runs webhook steps one after another, in the background, tracked for flushWebhooks(). */
  const schedule = (
    channel: MetaChannel,
    steps: Array<() => WhatsAppWebhookBody | MessagingWebhookBody>,
  ) => {
    const forGeneration = generation;
    const run = (async () => {
      for (const step of steps) {
        // Always yield first, so the send's HTTP response reaches the app before its statuses.
        await new Promise((resolve) => setTimeout(resolve, options.statusDelayMs ?? 0));
        if (forGeneration !== generation) return;
        await deliver(channel, step(), forGeneration);
      }
    })().catch((error: unknown) =>
      console.error('meta-graph stand-in: webhook step failed', error),
    );
    pending.add(run);
    void run.finally(() => pending.delete(run));
  };

  const whatsappStatuses = (
    account: Extract<MetaAccount, { channel: 'whatsapp' }>,
    messageId: string,
    recipientId: string,
    send: { template?: TemplateFixture; bizOpaqueCallbackData?: string },
    failure?: GraphErrorSpec,
  ) => {
    const status = (value: WhatsAppStatusValue, pricing?: WhatsAppPricing) => () =>
      whatsappStatusBody({
        ...account,
        messageId,
        status: value,
        recipientId,
        timestamp: Math.floor(now() / 1000),
        pricing,
        bizOpaqueCallbackData: send.bizOpaqueCallbackData,
        ...(value === 'failed' && failure
          ? { errors: [{ code: failure.code, title: failure.message, details: failure.details }] }
          : {}),
      });
    if (failure) {
      schedule('whatsapp', [status('failed')]);
      return;
    }
    if (options.statusProgression === false) return;
    // Templates are billed by category; free-form replies fall in the free service window.
    const pricing: WhatsAppPricing = send.template
      ? {
          billable: true,
          pricing_model: 'PMP',
          type: 'regular',
          category: send.template.category.toLowerCase() as WhatsAppPricing['category'],
        }
      : {
          billable: false,
          pricing_model: 'PMP',
          type: 'free_customer_service',
          category: 'service',
        };
    schedule('whatsapp', [status('sent', pricing), status('delivered', pricing), status('read')]);
  };

  // --- request plumbing ------------------------------------------------------------------------

  const app = new Hono<{
    Variables: { recorded: RecordedRequest; webhookFailure: GraphErrorSpec | undefined };
  }>();

  const failNext = (failure: FailNextOptions) => {
    failures.push({ ...failure, remaining: failure.times ?? 1 });
  };
  const delayNext = (ms: number, delayOptions: DelayNextOptions = {}) => {
    delays.push({ ...delayOptions, ms, remaining: delayOptions.times ?? 1 });
  };
  const reset = () => {
    generation += 1;
    requests.length = 0;
    webhooks.length = 0;
    failures.length = 0;
    delays.length = 0;
    releaseHeldAnswers();
    media.clear();
  };
  // Before the recording middleware below, so control calls are neither recorded nor failed.
  registerControl(app, {
    requests: () => requests.map((r) => ({ seq: sequence.get(r) ?? 0, ...r })),
    lastSeq: () => recordedCount,
    failNext,
    delayNext,
    reset,
  });

  const touchesWhatsApp = (c: Context) => {
    const id = c.req.path.split('/')[2] ?? '';
    return (
      whatsappNumber(id) !== undefined ||
      isWaba(id) ||
      media.has(id) ||
      c.req.path.startsWith('/media-download/')
    );
  };

  app.onError((error, c) => {
    if (error instanceof GraphError) return graphErrorResponse(error.spec, touchesWhatsApp(c));
    console.error('meta-graph stand-in:', error);
    return graphErrorResponse(
      {
        status: 500,
        code: 2,
        message: 'An unexpected error has occurred. Please retry your request later.',
      },
      touchesWhatsApp(c),
    );
  });
  app.notFound((c) => {
    const id = c.req.path.split('/')[2] ?? c.req.path;
    return graphErrorResponse(
      unknownObject(id, c.req.method === 'GET' ? 'get' : 'post').spec,
      false,
    );
  });

  const recordBody = async (c: Context): Promise<unknown> => {
    const type = c.req.header('content-type') ?? '';
    if (type.includes('application/json')) {
      try {
        return await c.req.json();
      } catch {
        throw badRequest('Invalid parameter', 'The request body is not valid JSON.');
      }
    }
    if (type.includes('multipart/form-data')) {
      const form = await c.req.formData();
      const fields: Record<string, string> = {};
      let file: { name: string; type: string; size: number } | undefined;
      for (const [key, value] of form) {
        if (typeof value === 'string') fields[key] = value;
        else file = { name: value.name, type: value.type, size: value.size };
      }
      return { fields, ...(file ? { file } : {}) };
    }
    return null;
  };

  /** The first of `pending` this request triggers, if any, consuming one of its `times`. */
  const takeFirstMatching = <
    T extends { match?: (r: RecordedRequest) => boolean; remaining: number },
  >(
    pending: T[],
    recorded: RecordedRequest,
  ): T | undefined => {
    const index = pending.findIndex((p) => !p.match || p.match(recorded));
    const taken = pending[index];
    if (!taken) return undefined;
    taken.remaining -= 1;
    if (taken.remaining <= 0) pending.splice(index, 1);
    return taken;
  };

  const holdAnswer = (ms: number) =>
    new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        heldAnswers.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      heldAnswers.add(release);
    });

  app.use('*', async (c, next) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, key) => {
      headers[key] = value;
    });
    const recorded: RecordedRequest = {
      method: c.req.method,
      path: c.req.path,
      query: c.req.query(),
      headers,
      body: null,
      time: now(),
    };
    requests.push(recorded);
    recordedCount += 1;
    sequence.set(recorded, recordedCount);
    c.set('recorded', recorded);
    recorded.body = await recordBody(c);

    const delay = takeFirstMatching(delays, recorded)?.ms;
    const failure = takeFirstMatching(failures, recorded);
    if (delay !== undefined) recorded.injected = { delayMs: delay };
    c.set('webhookFailure', undefined);
    if (failure) {
      const isWhatsAppSend =
        c.req.method === 'POST' &&
        /\/messages$/.test(c.req.path) &&
        whatsappNumber(c.req.path.split('/')[2] ?? '') !== undefined &&
        (recorded.body as { status?: unknown } | null)?.status === undefined;
      const via = failure.via === 'webhook' && isWhatsAppSend ? 'webhook' : 'response';
      recorded.injected = {
        ...recorded.injected,
        failure: { code: failure.code, status: failure.status ?? 400, via },
      };
      if (via === 'response') {
        if (delay !== undefined) await holdAnswer(delay);
        throw new GraphError(failure);
      }
      c.set('webhookFailure', failure);
    }
    await next();
    // Handled (a send is accepted and its webhooks are on their way); only the answer is late.
    if (delay !== undefined) await holdAnswer(delay);
  });

  const requireToken = (c: Context) => {
    const header = c.req.header('authorization');
    const queryToken = c.req.query('access_token');
    const ok =
      hasBearerToken(header, options.accessToken) ||
      (header === undefined &&
        queryToken !== undefined &&
        hasBearerToken(`Bearer ${queryToken}`, options.accessToken));
    if (!ok) throw invalidToken();
  };

  // --- media download (lookaside) --------------------------------------------------------------

  const signMediaUrl = (id: string, exp: number) =>
    createHmac('sha256', urlKey).update(`${id}:${exp}`).digest('base64url').slice(0, 22);

  app.get('/media-download/:id', (c) => {
    // Meta's lookaside answers a missing token with an error and a stale URL with 404.
    requireToken(c);
    const id = c.req.param('id');
    const exp = Number(c.req.query('exp'));
    const hash = c.req.query('hash') ?? '';
    const expected = signMediaUrl(id, exp);
    const stored = media.get(id);
    const valid =
      stored !== undefined &&
      Number.isFinite(exp) &&
      exp * 1000 > now() &&
      hash.length === expected.length &&
      timingSafeEqual(Buffer.from(hash), Buffer.from(expected));
    if (!valid) return c.text('Not Found', 404);
    return new Response(stored.bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        'content-type': stored.mimeType,
        'content-length': String(stored.bytes.byteLength),
      },
    });
  });

  // Everything else is the Graph API proper and needs the token.
  app.use(`/${GRAPH_VERSION}/*`, async (c, next) => {
    requireToken(c);
    await next();
  });

  // --- sends -----------------------------------------------------------------------------------

  app.post(`/${GRAPH_VERSION}/:id/messages`, async (c) => {
    const id = c.req.param('id');
    const body = c.get('recorded').body;
    const number = whatsappNumber(id);
    if (number) {
      const send = validateWhatsAppSend(body, templatesByWaba[number.wabaId] ?? []);
      if (send.kind === 'read') return c.json({ success: true });
      const isPhone = /^\+?[\d\s()-]+$/.test(send.input);
      const waId = send.input.replace(/\D/g, '');
      const messageId = randomWamid();
      whatsappStatuses(
        number,
        messageId,
        isPhone ? waId : send.input,
        send,
        c.get('webhookFailure'),
      );
      return c.json({
        messaging_product: 'whatsapp',
        // A BSUID recipient has no phone to report; Meta's exact contacts entry for it is unverified.
        contacts: [
          isPhone ? { input: send.input, wa_id: waId } : { input: send.input, user_id: send.input },
        ],
        messages: [{ id: messageId, ...(send.template ? { message_status: 'accepted' } : {}) }],
      });
    }

    const account = messagingAccount(id);
    if (!account) throw unknownObject(id, 'post');
    const send = validateMessagingSend(body, account.channel);
    if (send.kind === 'sender_action') return c.json({ recipient_id: send.recipientId });
    const mid = randomMid();
    if (options.messagingEchoes) {
      // Awaited, so the echo is in before the app hears about its own send.
      const { text, metadata } =
        (body as { message?: { text?: unknown; metadata?: unknown } }).message ?? {};
      const echo = {
        mid,
        isEcho: true,
        appId: options.messagingEchoes.appId,
        ...(typeof text === 'string' ? { text } : {}),
        ...(typeof metadata === 'string' ? { metadata } : {}),
      };
      await deliver(
        account.channel,
        account.channel === 'messenger'
          ? messengerMessageBody({ pageId: account.pageId, psid: send.recipientId, ...echo })
          : instagramMessageBody({ igId: account.igId, igsid: send.recipientId, ...echo }),
        generation,
      );
    }
    if (options.statusProgression !== false) {
      if (account.channel === 'messenger') {
        const base = { pageId: account.pageId, psid: send.recipientId };
        schedule('messenger', [
          () => messengerDeliveryBody({ ...base, mids: [mid], watermark: now(), timestamp: now() }),
          () => messengerReadBody({ ...base, watermark: now(), timestamp: now() }),
        ]);
      } else {
        schedule('instagram', [
          () =>
            instagramReadBody({
              igId: account.igId,
              igsid: send.recipientId,
              mid,
              timestamp: now(),
            }),
        ]);
      }
    }
    return c.json({ recipient_id: send.recipientId, message_id: mid });
  });

  // --- media -----------------------------------------------------------------------------------

  const storeMedia = (bytes: Uint8Array, mimeType: string): string => {
    const id = numericId();
    media.set(id, { bytes, mimeType, sha256: createHash('sha256').update(bytes).digest('hex') });
    return id;
  };

  app.post(`/${GRAPH_VERSION}/:id/media`, async (c) => {
    const id = c.req.param('id');
    if (!whatsappNumber(id)) throw unknownObject(id, 'post');
    const form = await c.req.formData().catch(() => {
      throw badRequest('Invalid parameter', 'Upload media as multipart/form-data.');
    });
    if (form.get('messaging_product') !== 'whatsapp') {
      throw badRequest('The parameter messaging_product is required.');
    }
    const file = form.get('file');
    if (file === null || typeof file === 'string')
      throw badRequest('The parameter file is required.');
    const declared = form.get('type');
    const mimeType = (typeof declared === 'string' && declared) || file.type;
    const limits = UPLOAD_LIMITS[mimeType.split(';')[0]!.trim().toLowerCase()];
    if (!limits) {
      throw badRequest(
        `Param file must be a file with one of the following types: ${Object.keys(UPLOAD_LIMITS).join(', ')}. Received file of type '${mimeType}'.`,
      );
    }
    if (file.size > limits.maxBytes) {
      throw new GraphError({
        code: 131053,
        message: '(#131053) Media upload error',
        details: `${limits.kind} files may be at most ${limits.maxBytes} bytes; got ${file.size}.`,
      });
    }
    return c.json({ id: storeMedia(new Uint8Array(await file.arrayBuffer()), mimeType) });
  });

  // --- templates -------------------------------------------------------------------------------

  app.get(`/${GRAPH_VERSION}/:id/message_templates`, (c) => {
    const wabaId = c.req.param('id');
    if (!isWaba(wabaId)) throw unknownObject(wabaId, 'get');
    const query = new URL(c.req.url).searchParams;
    const pageUrl = `${baseUrl}${c.req.path}`;
    return c.json(pageTemplates(templatesByWaba[wabaId] ?? [], query, pageUrl));
  });

  // --- single objects --------------------------------------------------------------------------

  app.get(`/${GRAPH_VERSION}/:id`, (c) => {
    const id = c.req.param('id');
    const stored = media.get(id);
    if (stored) {
      const exp = Math.floor(now() / 1000) + MEDIA_URL_TTL_SECONDS;
      return c.json({
        messaging_product: 'whatsapp',
        url: `${baseUrl}/media-download/${id}?exp=${exp}&hash=${signMediaUrl(id, exp)}`,
        mime_type: stored.mimeType,
        sha256: stored.sha256,
        file_size: stored.bytes.byteLength,
        id,
      });
    }
    const template = Object.values(templatesByWaba)
      .flat()
      .find((t) => t.id === id);
    if (template) return c.json(template);
    const number = whatsappNumber(id);
    if (number) {
      return c.json({
        id,
        display_phone_number: number.displayPhoneNumber,
        verified_name: 'Local Test Business',
        quality_rating: 'GREEN',
        code_verification_status: 'VERIFIED',
        platform_type: 'CLOUD_API',
        throughput: { level: 'STANDARD' },
      });
    }
    const account = messagingAccount(id);
    if (account) return c.json({ id, name: 'Local Test Business' });
    const profile = profiles.get(id);
    if (profile) return c.json(profileFields(id, profile, c.req.query('fields')));
    throw unknownObject(id, 'get');
  });

  app.delete(`/${GRAPH_VERSION}/:id`, (c) => {
    const id = c.req.param('id');
    if (!media.delete(id)) throw unknownObject(id, 'delete');
    return c.json({ success: true });
  });

  const server = await listenOnLoopback(app.fetch, options.port);
  baseUrl = server.url;

  return {
    url: server.url,
    requests,
    webhooks,
    close: async () => {
      generation += 1;
      releaseHeldAnswers();
      await server.close();
    },
    failNext,
    delayNext,
    addMedia: storeMedia,
    async flushWebhooks() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    reset,
    setProfile(id, profile) {
      profiles.set(id, profile);
    },
    sendCustomerMessage(message) {
      if (message.name && message.channel === 'messenger') {
        const [first, ...last] = message.name.split(' ');
        profiles.set(message.from, {
          channel: 'messenger',
          first_name: first,
          ...(last.length > 0 ? { last_name: last.join(' ') } : {}),
        });
      } else if (message.name && message.channel === 'instagram') {
        profiles.set(message.from, { channel: 'instagram', name: message.name });
      }
      const configured = webhookUrlFor(options.webhookUrl, message.channel);
      if (!configured && !options.deliverWebhook) {
        throw new Error(`sendCustomerMessage: no webhook URL configured for ${message.channel}`);
      }
      return postWebhook(
        configured ?? DEFAULT_WEBHOOK_URL,
        customerMessageBody(options.accounts, message),
        options.appSecret,
        options.deliverWebhook,
      );
    },
  };
}
