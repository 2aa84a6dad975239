/**
 * A local YCloud (API v2) for the local stack and the tests: the WhatsApp send endpoints
 * (`POST /v2/whatsapp/messages/sendDirectly` and the queued `POST /v2/whatsapp/messages`), checked
 * the way YCloud checks them (the `X-API-Key`, `from` must be that key's number, the fields each
 * type needs) and answered the way YCloud answers (a WhatsappMessage object, or YCloud's error
 * body); after each send, the `whatsapp.message.updated` webhooks (sent, delivered, read) to the
 * account's callback URL, signed with its webhook secret as YCloud signs
 * (`YCloud-Signature: t=<seconds>,s=<hex HMAC-SHA256 of "t.body">`). Shapes follow
 * docs/providers.md "YCloud".
 *
 * Steering: `failNext` (the next send fails with a given HTTP status and YCloud code, optionally
 * relaying a Meta error, in the answer or as a later `failed` webhook), `delayNext` (answer late,
 * as when YCloud has the message and the caller times out), `inbound` (a customer writes: a signed
 * `whatsapp.inbound_message.received`), `sends` / `deliveries` (what happened) and `flush` (wait
 * for the webhooks). Over HTTP on the same port: `GET /__sends`, `GET /__deliveries`,
 * `POST /__inbound`, `POST /__fail-next`, for a stand-in running in another process.
 *
 * Deliberate simplifications: no 24-hour window, templates or rate limits (inject those with
 * `failNext`), webhooks are not retried, and `to` must be E.164 (YCloud also takes a BSUID).
 * That `sendDirectly` answers `sent` with a `wamid` is a guess (docs/providers.md open question 5).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { listenOnLoopback } from './http-server';

export type YCloudAccount = {
  /** The business number, E.164 with `+`: the sends' `from`. */
  phone: string;
  apiKey: string;
  /** The webhook endpoint's signing secret (YCloud's are `whsec_…`). */
  webhookSecret: string;
  /** Where this account's webhooks go (ours: `/webhooks/ycloud/{accountId}`). */
  callbackUrl: string;
  wabaId?: string;
};

export type YCloudSend = {
  path: string;
  /** The account the API key belongs to (its phone); null when the key matched none. */
  account: string | null;
  body: unknown;
  answer: { status: number; body: unknown };
  /** Milliseconds, from the stand-in's clock. */
  time: number;
};

export type YCloudDelivery = {
  url: string;
  event: Record<string, unknown>;
  /** The receiver's HTTP status, or null when delivery threw. */
  status: number | null;
  error?: string;
};

export type YCloudFailure = {
  /** HTTP status of the answer (for `via: 'webhook'` the send is accepted). */
  status: number;
  /** YCloud's code: `BAD_REQUEST`, `UNAUTHORIZED`, `TOO_MANY_REQUESTS`, … */
  code: string;
  message?: string;
  /** Meta's error as YCloud relays it (`code` as a string, as YCloud writes it). */
  whatsappApiError?: { code: string; message?: string; details?: string };
  /** `response` (default): the send is refused. `webhook`: accepted, then a `failed` status. */
  via?: 'response' | 'webhook';
};

export type YCloudInbound = {
  /** The business number written to (an account's `phone`). */
  account: string;
  /** The customer, E.164 (with or without `+`); omit with `fromUserId` for a BSUID-only user. */
  from?: string;
  fromUserId?: string;
  name?: string;
  /** A text message; or `type` with its object in `payload` (Meta's shape). */
  text?: string;
  type?: string;
  payload?: unknown;
  /** The wamid this message replies to. */
  replyTo?: string;
};

export type YCloudOptions = {
  port?: number;
  /** How webhooks reach the app; default fetch (tests hand them to the app in-process). */
  deliverWebhook?: (request: Request) => Promise<Response>;
  accounts: YCloudAccount[];
  /** Pause before each status webhook; default 20 ms. */
  statusDelayMs?: number;
  /** Send sent / delivered / read webhooks after each send; default true. */
  statuses?: boolean;
  now?: () => Date;
};

export interface YCloudStandIn {
  url: string;
  sends(): YCloudSend[];
  deliveries(): YCloudDelivery[];
  failNext(failure: YCloudFailure): void;
  /** The next send is handled, but answered only after `ms`. */
  delayNext(ms: number): void;
  /** Posts a signed inbound message event to the account's callback URL. */
  inbound(input: YCloudInbound): Promise<YCloudDelivery>;
  /** Resolves once every webhook scheduled so far has been delivered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const YCLOUD_SIGNATURE_HEADER = 'YCloud-Signature';

/** YCloud's signature header for `body` sent at `seconds`, as the adapter must verify it. */
export function ycloudSignature(secret: string, seconds: number, body: string): string {
  const s = createHmac('sha256', secret).update(`${seconds}.${body}`).digest('hex');
  return `t=${seconds},s=${s}`;
}

const objectId = () => randomBytes(12).toString('hex');
const wamid = () => `wamid.${randomBytes(24).toString('base64url')}`;
const requestId = () => `req_${randomBytes(10).toString('base64url')}`;

function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function errorAnswer(status: number, code: string, message: string, target?: string) {
  return {
    error: {
      status,
      code,
      message,
      ...(target ? { target } : {}),
      requestId: requestId(),
    },
  };
}

const e164 = z.string().regex(/^\+\d{6,15}$/, 'must be a phone number in E.164 format');
const httpLink = z.url({ protocol: /^https?$/ });
const media = z
  .object({
    link: httpLink.optional(),
    id: z.string().min(1).optional(),
    caption: z.string().max(1024).optional(),
    filename: z.string().optional(),
  })
  .loose()
  .refine((m) => (m.link === undefined) !== (m.id === undefined), 'give exactly one of link or id');
const byType: Record<string, z.ZodType> = {
  text: z.object({ body: z.string().min(1).max(4096), preview_url: z.boolean().optional() }),
  image: media,
  video: media,
  audio: media,
  document: media,
  sticker: media,
  location: z.object({ latitude: z.number(), longitude: z.number() }).loose(),
  contacts: z.array(z.looseObject({})).min(1),
  interactive: z
    .object({
      type: z.enum(['button', 'list', 'cta_url', 'flow', 'product', 'product_list']),
      body: z
        .object({ text: z.string().min(1) })
        .loose()
        .optional(),
      action: z.looseObject({}),
    })
    .loose(),
  template: z
    .object({
      name: z.string().min(1),
      language: z.object({ code: z.string().min(2) }).loose(),
      components: z.array(z.looseObject({ type: z.string() })).optional(),
    })
    .loose(),
  reaction: z.object({ message_id: z.string().min(1), emoji: z.string() }),
};
const sendBody = z
  .object({
    from: e164,
    to: e164,
    type: z.string(),
    externalId: z.string().max(256).optional(),
    context: z.object({ message_id: z.string().min(1) }).optional(),
  })
  .loose();

/** The first issue of a failed check, as YCloud words a 400: the field and what is wrong. */
function firstIssue(error: z.ZodError, prefix = ''): { target: string; message: string } {
  const issue = error.issues[0];
  const target = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  return { target, message: `${target || '(body)'}: ${issue?.message ?? 'invalid'}` };
}

const inboundControl = z.object({
  account: z.string(),
  from: z.string().optional(),
  fromUserId: z.string().optional(),
  name: z.string().optional(),
  text: z.string().optional(),
  type: z.string().optional(),
  payload: z.unknown().optional(),
  replyTo: z.string().optional(),
});
const failureControl = z.object({
  status: z.number().int().min(400).max(599),
  code: z.string(),
  message: z.string().optional(),
  whatsappApiError: z
    .object({ code: z.string(), message: z.string().optional(), details: z.string().optional() })
    .optional(),
  via: z.enum(['response', 'webhook']).optional(),
});

export async function startYCloud(options: YCloudOptions): Promise<YCloudStandIn> {
  const now = options.now ?? (() => new Date());
  const statusDelayMs = options.statusDelayMs ?? 20;
  const sends: YCloudSend[] = [];
  const deliveries: YCloudDelivery[] = [];
  const failures: YCloudFailure[] = [];
  const delays: number[] = [];
  const pending = new Set<Promise<unknown>>();
  const endpointIds = new Map(options.accounts.map((a) => [a.phone, `we_${objectId()}`]));

  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
    return work;
  };

  async function deliver(
    account: YCloudAccount,
    event: Record<string, unknown>,
  ): Promise<YCloudDelivery> {
    const body = JSON.stringify(event);
    const seconds = Math.floor(now().getTime() / 1000);
    const record: YCloudDelivery = { url: account.callbackUrl, event, status: null };
    try {
      const response = await (options.deliverWebhook ?? fetch)(
        new Request(account.callbackUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [YCLOUD_SIGNATURE_HEADER]: ycloudSignature(account.webhookSecret, seconds, body),
            'X-Webhook-Endpoint-ID': endpointIds.get(account.phone) ?? '',
          },
          body,
        }),
      );
      record.status = response.status;
      await response.body?.cancel();
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    deliveries.push(record);
    return record;
  }

  function event(type: string, key: string, object: Record<string, unknown>) {
    return {
      id: `evt_${randomBytes(8).toString('base64url')}`,
      type,
      apiVersion: 'v2',
      createTime: now().toISOString(),
      [key]: object,
    };
  }

  /** The statuses a sent message goes through, each after a pause, as YCloud reports them. */
  async function progress(
    account: YCloudAccount,
    message: Record<string, unknown>,
    failure: YCloudFailure | undefined,
  ) {
    const steps: Array<{ status: string; timeKey?: string }> = failure
      ? [{ status: 'failed' }]
      : [
          { status: 'sent', timeKey: 'sendTime' },
          { status: 'delivered', timeKey: 'deliverTime' },
          { status: 'read', timeKey: 'readTime' },
        ];
    let current: Record<string, unknown> = { ...message, wamid: message.wamid ?? wamid() };
    for (const step of steps) {
      await new Promise((resolve) => setTimeout(resolve, statusDelayMs));
      const at = now().toISOString();
      current = {
        ...current,
        status: step.status,
        updateTime: at,
        ...(step.timeKey ? { [step.timeKey]: at } : {}),
        ...(failure ? failedFields(failure) : {}),
      };
      await deliver(account, event('whatsapp.message.updated', 'whatsappMessage', current));
    }
  }

  function failedFields(failure: YCloudFailure) {
    const api = failure.whatsappApiError;
    const message = api?.message ?? failure.message ?? failure.code;
    return {
      errorCode: api?.code ?? failure.code,
      errorMessage: message,
      ...(api ? { whatsappApiError: metaError(api) } : {}),
    };
  }

  function metaError(api: NonNullable<YCloudFailure['whatsappApiError']>) {
    return {
      message: api.message ?? `(#${api.code})`,
      type: 'OAuthException',
      code: api.code,
      fbtrace_id: randomBytes(9).toString('base64url'),
      ...(api.details
        ? { error_data: { messaging_product: 'whatsapp', details: api.details } }
        : {}),
    };
  }

  function accountByKey(key: string | undefined): YCloudAccount | undefined {
    // Every account is compared, so the time taken does not say which key came close.
    let found: YCloudAccount | undefined;
    for (const account of options.accounts) {
      if (sameKey(key ?? '', account.apiKey)) found = account;
    }
    return found;
  }

  /** Checks a send as YCloud does; the answer's status and body. */
  function handleSend(
    direct: boolean,
    account: YCloudAccount | undefined,
    raw: unknown,
  ): { status: number; body: unknown; follow?: () => Promise<void> } {
    if (!account) return { status: 401, body: errorAnswer(401, 'UNAUTHORIZED', 'INVALID_API_KEY') };
    const read = sendBody.safeParse(raw);
    if (!read.success) {
      const { target, message } = firstIssue(read.error);
      return { status: 400, body: errorAnswer(400, 'BAD_REQUEST', message, target) };
    }
    const body = read.data;
    if (body.from !== account.phone) {
      const message = `from: ${body.from} is not a WhatsApp number of this account`;
      return { status: 400, body: errorAnswer(400, 'BAD_REQUEST', message, 'from') };
    }
    const schema = byType[body.type];
    if (!schema) {
      const message = `type: ${JSON.stringify(body.type)} is not a message type`;
      return { status: 400, body: errorAnswer(400, 'BAD_REQUEST', message, 'type') };
    }
    const content = schema.safeParse(body[body.type]);
    if (!content.success) {
      const { target, message } = firstIssue(content.error, body.type);
      return { status: 400, body: errorAnswer(400, 'BAD_REQUEST', message, target) };
    }
    const failure = failures.shift();
    if (failure && failure.via !== 'webhook') {
      const answer = errorAnswer(
        failure.status,
        failure.code,
        failure.whatsappApiError?.message ?? failure.message ?? failure.code,
        failure.whatsappApiError ? 'whatsappApiError' : undefined,
      );
      if (failure.whatsappApiError) {
        Object.assign(answer.error, { whatsappApiError: metaError(failure.whatsappApiError) });
      }
      return { status: failure.status, body: answer };
    }
    const created = now().toISOString();
    const message: Record<string, unknown> = {
      id: objectId(),
      ...(direct ? { wamid: wamid() } : {}),
      ...(account.wabaId ? { wabaId: account.wabaId } : {}),
      from: body.from,
      to: body.to,
      type: body.type,
      [body.type]: body[body.type],
      ...(body.context ? { context: body.context } : {}),
      ...(body.externalId ? { externalId: body.externalId } : {}),
      status: direct ? 'sent' : 'accepted',
      createTime: created,
      updateTime: created,
      ...(direct ? { sendTime: created } : {}),
      totalPrice: 0.0,
      currency: 'USD',
      bizType: 'whatsapp',
    };
    const follow =
      options.statuses === false && !failure
        ? undefined
        : () => progress(account, message, failure);
    return { status: 200, body: message, follow };
  }

  async function inbound(input: YCloudInbound): Promise<YCloudDelivery> {
    const account = options.accounts.find((a) => a.phone === input.account);
    if (!account) throw new Error(`no YCloud account ${input.account}`);
    const type = input.type ?? 'text';
    const content = input.type === undefined ? { body: input.text ?? '' } : input.payload;
    const from = input.from === undefined ? undefined : `+${input.from.replace(/^\+/, '')}`;
    const message = {
      id: objectId(),
      wamid: wamid(),
      ...(account.wabaId ? { wabaId: account.wabaId } : {}),
      ...(from ? { from } : {}),
      ...(input.fromUserId ? { fromUserId: input.fromUserId } : {}),
      ...(input.name ? { customerProfile: { name: input.name } } : {}),
      to: account.phone,
      sendTime: now().toISOString(),
      type,
      [type]: content,
      ...(input.replyTo
        ? { context: { from: account.phone.replace(/^\+/, ''), id: input.replyTo } }
        : {}),
    };
    return track(
      deliver(
        account,
        event('whatsapp.inbound_message.received', 'whatsappInboundMessage', message),
      ),
    );
  }

  const app = new Hono();
  const sendRoute = (direct: boolean) => async (c: Context) => {
    const path = new URL(c.req.url).pathname;
    const account = accountByKey(c.req.header('x-api-key'));
    const text = await c.req.text();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const answer =
      raw === undefined && account
        ? { status: 400, body: errorAnswer(400, 'BAD_REQUEST', 'the body is not JSON') }
        : handleSend(direct, account, raw);
    sends.push({
      path,
      account: account?.phone ?? null,
      body: raw ?? text,
      answer: { status: answer.status, body: answer.body },
      time: now().getTime(),
    });
    const delay = delays.shift();
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    if (answer.follow) void track(answer.follow());
    return c.json(answer.body, answer.status as ContentfulStatusCode);
  };
  app.post('/v2/whatsapp/messages/sendDirectly', sendRoute(true));
  app.post('/v2/whatsapp/messages', sendRoute(false));
  app.get('/__sends', (c) => c.json(sends));
  app.get('/__deliveries', (c) => c.json(deliveries));
  app.post('/__inbound', async (c) => {
    const read = inboundControl.safeParse(await c.req.json().catch(() => null));
    if (!read.success) return c.json({ error: read.error.issues }, 400);
    return c.json(await inbound(read.data));
  });
  app.post('/__fail-next', async (c) => {
    const read = failureControl.safeParse(await c.req.json().catch(() => null));
    if (!read.success) return c.json({ error: read.error.issues }, 400);
    failures.push(read.data);
    return c.json({ ok: true });
  });
  app.notFound((c) => c.json(errorAnswer(404, 'NOT_FOUND', `no route ${c.req.path}`), 404));

  const server = await listenOnLoopback(app.fetch, options.port);
  return {
    url: server.url,
    sends: () => [...sends],
    deliveries: () => [...deliveries],
    failNext: (failure) => {
      failures.push(failure);
    },
    delayNext: (ms) => {
      delays.push(ms);
    },
    inbound,
    flush: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: async () => {
      await server.close();
    },
  };
}
