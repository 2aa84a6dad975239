/**
 * A local Gupshup for the Gupshup adapter's tests and for demos: the WhatsApp session and template
 * send APIs (`POST /wa/api/v1/msg`, `POST /wa/api/v1/template/msg`) checked the way Gupshup checks
 * them (the app's `apikey`, a form body, the required fields, a `message` that is valid for its
 * type), answered the way Gupshup answers (`{status: "submitted", messageId}` or
 * `{status: "error", message}`), followed by the v2 message events Gupshup posts to the app's
 * callback URL (enqueued, sent, delivered, read), and customer messages posted on request.
 * Shapes follow docs/providers.md "Gupshup".
 *
 * Steer it in-process (`failNext`, `sendInbound`, `sends`, `flush`) or over HTTP on its own port:
 * `GET /__sends`, `POST /__inbound`, `POST /__fail-next`, `POST /__reset`.
 *
 * Deliberate simplifications: no 24-hour window, opt-in ledger or rate limits (inject them with
 * `failNext`), callbacks are not retried when the app rejects them, every valid send is accepted.
 */
import { timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { listenOnLoopback } from './http-server';

export type GupshupAccount = {
  /** The Gupshup app name: the sends' `src.name`, the callbacks' `app`. */
  appName: string;
  apiKey: string;
  /** The business number, digits only: the sends' `source`. */
  source: string;
  /** Where callbacks go, with the account's `?secret=…`. */
  callbackUrl: string;
};

export type GupshupStandInOptions = {
  port?: number;
  /** How callbacks reach the app; default fetch (tests hand them to the app in-process). */
  deliverWebhook?: (request: Request) => Promise<Response>;
  accounts: GupshupAccount[];
  /** Post enqueued, sent, delivered and read after each accepted send. Default true. */
  statusProgression?: boolean;
  /** Pause before each message event; default 10 ms. */
  statusDelayMs?: number;
  /** Milliseconds since the epoch; injectable for fixed timestamps. */
  now?: () => number;
};

export type RecordedSend = {
  path: string;
  /** The account the `apikey` belongs to; null when the key matched none. */
  appName: string | null;
  form: Record<string, string>;
  /** The parsed `message` / `template` fields, when they were JSON. */
  message: unknown;
  template: unknown;
  /** The answer given. */
  status: number;
  answer: unknown;
  /** Gupshup's id of an accepted send (the events' gsId); null when refused. */
  messageId: string | null;
  /** WhatsApp's id the events name once "sent". */
  whatsappId: string | null;
  time: number;
};

export type DeliveredCallback = {
  url: string;
  body: GupshupCallback;
  /** The app's answer, or null when the post threw. */
  status: number | null;
  error?: string;
};

export type GupshupCallback = {
  app: string;
  timestamp: number;
  version: 2;
  type: string;
  payload: Record<string, unknown>;
};

/** The next send fails: its HTTP answer, or (`code`) an accepted send reported `failed` later. */
export type FailNext =
  | { via?: 'response'; status: number; message?: string; times?: number }
  | { via: 'event'; code: number; reason: string; times?: number };

export type InboundMessage = {
  /** The app name of the account written to. */
  account: string;
  /** The customer's number, digits. */
  from: string;
  name?: string;
  /** A text message; or give `type` and its `payload` as Gupshup shapes them. */
  text?: string;
  type?: string;
  payload?: Record<string, unknown>;
  context?: { id?: string; gsId?: string };
  /** The message's WhatsApp id; a fresh one by default. */
  id?: string;
};

export interface GupshupStandIn {
  url: string;
  close(): Promise<void>;
  sends(): RecordedSend[];
  callbacks(): DeliveredCallback[];
  failNext(failure: FailNext): void;
  /** Posts a customer message to the account's callback URL; resolves with the app's answer. */
  sendInbound(message: InboundMessage): Promise<{ status: number; id: string }>;
  /** Resolves once every callback scheduled so far has been delivered. */
  flush(): Promise<void>;
  reset(): void;
}

const GUPSHUP_ERRORS = {
  auth: 'Authentication Failed',
  app: 'Invalid App Details',
  destination: 'Invalid Destination',
} as const;

const nonEmpty = z.string().trim().min(1);
const link = z.url({ protocol: /^https?$/ });
const byLinkOrId = { url: link.optional(), id: nonEmpty.optional() };
const oneSource = (m: { url?: string; id?: string }) =>
  (m.url === undefined) !== (m.id === undefined);
const context = z.object({ msgId: nonEmpty }).optional();
const option = z.looseObject({ type: z.literal('text'), title: nonEmpty.max(20) });

/** Gupshup's session message objects, as its send API accepts them. */
const sessionMessage = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), text: nonEmpty.max(4096), context }),
  z
    .looseObject({
      type: z.literal('image'),
      originalUrl: link.optional(),
      previewUrl: link.optional(),
      id: nonEmpty.optional(),
      caption: z.string().max(1024).optional(),
      context,
    })
    .refine(
      (m) => (m.id !== undefined) !== (m.originalUrl !== undefined && m.previewUrl !== undefined),
      {
        message: 'give originalUrl and previewUrl, or id',
      },
    ),
  ...(['video', 'audio', 'sticker', 'file'] as const).map((type) =>
    z
      .looseObject({
        type: z.literal(type),
        ...byLinkOrId,
        caption: z.string().optional(),
        context,
      })
      .refine(oneSource, { message: 'give exactly one of url or id' }),
  ),
  z.looseObject({
    type: z.literal('quick_reply'),
    msgid: z.string().optional(),
    content: z.looseObject({ type: z.enum(['text', 'image', 'video', 'file']), text: nonEmpty }),
    options: z.array(option).min(1).max(3),
    context,
  }),
  z.looseObject({
    type: z.literal('list'),
    body: nonEmpty,
    globalButtons: z.array(option).length(1),
    items: z
      .array(z.looseObject({ options: z.array(option.extend({ title: nonEmpty.max(24) })).min(1) }))
      .min(1),
    context,
  }),
  z.looseObject({ type: z.literal('reaction'), msgId: nonEmpty, emoji: z.string().max(16) }),
  z.looseObject({
    type: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    context,
  }),
]);

const templateField = z.object({ id: nonEmpty, params: z.array(z.string()).default([]) });
const templateHeader = z.looseObject({ type: z.enum(['image', 'video', 'document', 'location']) });

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

/** Looks like WhatsApp's ids in Gupshup's examples. */
function whatsappId(): string {
  return `wamid.HBgM${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')}`;
}

function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const error = (c: Context, status: 400 | 401 | 404 | 415, message: string) =>
  c.json({ status: 'error', message }, status);

const inboundBody = z.object({
  account: nonEmpty,
  from: z.string().regex(/^\+?\d{6,20}$/),
  name: z.string().optional(),
  text: z.string().optional(),
  type: z.string().optional(),
  payload: z.record(z.string(), z.unknown()).optional(),
  context: z.object({ id: z.string().optional(), gsId: z.string().optional() }).optional(),
  id: z.string().optional(),
});

const failNextBody = z.union([
  z.object({
    via: z.literal('response').optional(),
    status: z.number().int().min(400).max(599),
    message: z.string().optional(),
    times: z.number().int().min(1).optional(),
  }),
  z.object({
    via: z.literal('event'),
    code: z.number().int(),
    reason: z.string(),
    times: z.number().int().min(1).optional(),
  }),
]);

export async function startGupshup(options: GupshupStandInOptions): Promise<GupshupStandIn> {
  const now = options.now ?? Date.now;
  const delayMs = options.statusDelayMs ?? 10;
  const progression = options.statusProgression ?? true;
  const sends: RecordedSend[] = [];
  const delivered: DeliveredCallback[] = [];
  const failures: Array<FailNext & { remaining: number }> = [];
  const pending = new Set<Promise<void>>();
  /** Pauses under way, each with what ends it early (reset cancels the events still to come). */
  const pauses = new Map<ReturnType<typeof setTimeout>, () => void>();
  let generation = 0;

  const accountByApp = (app: string) => options.accounts.find((a) => a.appName === app);

  async function post(account: GupshupAccount, body: GupshupCallback): Promise<number | null> {
    const record: DeliveredCallback = { url: account.callbackUrl, body, status: null };
    try {
      const response = await (options.deliverWebhook ?? fetch)(
        new Request(account.callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'Gupshup-Callback/1.0' },
          body: JSON.stringify(body),
        }),
      );
      await response.arrayBuffer();
      record.status = response.status;
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    delivered.push(record);
    return record.status;
  }

  /** Posts the events one after another, each after the configured pause. */
  function schedule(account: GupshupAccount, events: Array<() => GupshupCallback>) {
    const started = generation;
    const run = (async () => {
      for (const event of events) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            pauses.delete(timer);
            resolve();
          }, delayMs);
          pauses.set(timer, resolve);
        });
        if (generation !== started) return;
        await post(account, event());
      }
    })();
    pending.add(run);
    void run.finally(() => pending.delete(run));
  }

  const envelope = (account: GupshupAccount, type: string, payload: Record<string, unknown>) => ({
    app: account.appName,
    timestamp: now(),
    version: 2 as const,
    type,
    payload,
  });

  function statusEvents(
    account: GupshupAccount,
    send: { messageId: string; whatsappId: string; destination: string; template: boolean },
    failure: Extract<FailNext, { via: 'event' }> | undefined,
  ): Array<() => GupshupCallback> {
    const { messageId, destination } = send;
    const enqueued = () =>
      envelope(account, 'message-event', {
        id: messageId,
        type: 'enqueued',
        destination,
        payload: {
          whatsappMessageId: send.whatsappId,
          type: send.template ? 'template' : 'session',
        },
      });
    const later = (type: string, payload?: Record<string, unknown>) => () =>
      envelope(account, 'message-event', {
        id: send.whatsappId,
        gsId: messageId,
        type,
        destination,
        ts: Math.floor(now() / 1000),
        ...(payload ? { payload } : {}),
      });
    if (failure) {
      return [enqueued, later('failed', { code: failure.code, reason: failure.reason })];
    }
    const conversation = {
      id: randomHex(16),
      expiresAt: Math.floor(now() / 1000) + 86_400,
      type: 'Service',
    };
    return [
      enqueued,
      later('sent', { conversation, pricing: { policy: 'CBP', category: 'Service' } }),
      later('delivered', { conversation: { id: conversation.id } }),
      later('read'),
    ];
  }

  function takeFailure(): FailNext | undefined {
    const next = failures[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) failures.shift();
    return next;
  }

  async function handleSend(c: Context, path: string, template: boolean) {
    const form: Record<string, string> = {};
    const record: RecordedSend = {
      path,
      appName: null,
      form,
      message: undefined,
      template: undefined,
      status: 0,
      answer: null,
      messageId: null,
      whatsappId: null,
      time: now(),
    };
    sends.push(record);
    const answer = (status: ContentfulStatusCode, body: unknown) => {
      record.status = status;
      record.answer = body;
      // Gupshup labels its JSON answers text/html.
      return c.body(JSON.stringify(body), status, { 'content-type': 'text/html; charset=utf-8' });
    };
    const refuse = (status: 400 | 401 | 415, message: string) =>
      answer(status, { status: 'error', message });

    const key = c.req.header('apikey') ?? '';
    const account = options.accounts.find((a) => sameKey(key, a.apiKey));
    if (!account) return refuse(401, GUPSHUP_ERRORS.auth);
    record.appName = account.appName;
    const type = c.req.header('content-type') ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      return refuse(415, 'Content-Type must be application/x-www-form-urlencoded');
    }
    for (const [name, value] of new URLSearchParams(await c.req.text())) form[name] = value;

    const required = [
      'channel',
      'source',
      'destination',
      'src.name',
      template ? 'template' : 'message',
    ];
    const missing = required.filter((name) => !form[name]);
    if (missing.length > 0)
      return refuse(400, `Missing required parameter(s): ${missing.join(', ')}`);
    if (form.channel !== 'whatsapp') return refuse(400, 'Invalid Channel');
    if (form['src.name'] !== account.appName || form.source !== account.source) {
      return refuse(400, GUPSHUP_ERRORS.app);
    }
    if (!/^\d{8,15}$/.test(form.destination ?? '')) return refuse(400, GUPSHUP_ERRORS.destination);

    const json = (name: string) => {
      try {
        return JSON.parse(form[name] ?? '');
      } catch {
        return undefined;
      }
    };
    record.message = form.message === undefined ? undefined : json('message');
    record.template = form.template === undefined ? undefined : json('template');
    if (template) {
      const t = templateField.safeParse(record.template);
      if (!t.success) return refuse(400, `Invalid template: ${z.prettifyError(t.error)}`);
      if (form.message !== undefined && !templateHeader.safeParse(record.message).success) {
        return refuse(
          400,
          'Invalid message: a template header must be image, video, document or location',
        );
      }
    } else {
      const m = sessionMessage.safeParse(record.message);
      if (!m.success) return refuse(400, `Invalid message: ${z.prettifyError(m.error)}`);
    }

    const failure = takeFailure();
    if (failure && failure.via !== 'event') {
      return answer(failure.status as ContentfulStatusCode, {
        status: 'error',
        message:
          failure.message ??
          (failure.status === 429
            ? 'Too Many Requests'
            : 'Internal server error. Please try again later'),
      });
    }
    record.messageId = crypto.randomUUID();
    record.whatsappId = whatsappId();
    if (progression || failure) {
      schedule(
        account,
        statusEvents(
          account,
          {
            messageId: record.messageId,
            whatsappId: record.whatsappId,
            destination: form.destination ?? '',
            template,
          },
          failure,
        ),
      );
    }
    return answer(202, { status: 'submitted', messageId: record.messageId });
  }

  async function sendInbound(message: InboundMessage): Promise<{ status: number; id: string }> {
    const account = accountByApp(message.account);
    if (!account) throw new Error(`sendInbound: no Gupshup account "${message.account}"`);
    const phone = message.from.replace(/^\+/, '');
    const id = message.id ?? `ABEGk${randomHex(12)}`;
    const type = message.type ?? 'text';
    const payload = message.payload ?? { text: message.text ?? '' };
    const body = envelope(account, 'message', {
      id,
      source: phone,
      type,
      payload,
      sender: {
        phone,
        name: message.name ?? 'Customer',
        country_code: phone.slice(0, 2),
        dial_code: phone.slice(2),
      },
      ...(message.context ? { context: message.context } : {}),
    });
    const status = await post(account, body);
    return { status: status ?? 0, id };
  }

  const app = new Hono();
  app.post('/wa/api/v1/msg', (c) => handleSend(c, '/wa/api/v1/msg', false));
  app.post('/wa/api/v1/template/msg', (c) => handleSend(c, '/wa/api/v1/template/msg', true));
  app.get('/__sends', (c) => c.json(sends));
  app.get('/__callbacks', (c) => c.json(delivered));
  app.post('/__inbound', async (c) => {
    const body = inboundBody.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return error(c, 400, z.prettifyError(body.error));
    if (!accountByApp(body.data.account)) return error(c, 404, 'no such account');
    return c.json(await sendInbound(body.data));
  });
  app.post('/__fail-next', async (c) => {
    const body = failNextBody.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return error(c, 400, z.prettifyError(body.error));
    stand.failNext(body.data);
    return c.json({ ok: true });
  });
  app.post('/__reset', (c) => {
    stand.reset();
    return c.json({ ok: true });
  });

  const server = await listenOnLoopback(app.fetch, options.port ?? 0);
  const stand: GupshupStandIn = {
    url: server.url,
    close: async () => {
      stand.reset();
      await server.close();
    },
    sends: () => [...sends],
    callbacks: () => [...delivered],
    failNext(failure) {
      failures.push({ ...failure, remaining: failure.times ?? 1 });
    },
    sendInbound,
    async flush() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    reset() {
      generation += 1;
      for (const [timer, end] of pauses) {
        clearTimeout(timer);
        end();
      }
      pauses.clear();
      sends.length = 0;
      delivered.length = 0;
      failures.length = 0;
    },
  };
  return stand;
}
