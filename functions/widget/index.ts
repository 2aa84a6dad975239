import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { z } from 'zod';
import { asTenant, asWorker, commitWith, runPipelined } from '../../db/client';
import { ingestAccountItems, type MessageItem } from '../../db/inbound';
import {
  findWidgetByKey,
  saveVisitorProfile,
  type WidgetThread,
  widgetOrigins,
  widgetThread,
} from '../../db/widget';
import { agentIntake } from '../agent/intake';
import type { App } from '../app';
import type { HonoEnv } from '../context';
import { ApiError, zodMessage } from '../errors';
import { publishJobs } from '../lib/jobs';
import { afterResponse } from '../webhooks';
import { checkWidgetLimits, RateLimited, type WidgetAction } from './limits';
import { signVisitorToken, type VisitorToken, verifyVisitorToken } from './token';
import { messageView } from './view';

/**
 * The web chat widget's public API (docs/widget.md), called from visitors' browsers on the
 * business's own site, cross-origin:
 * - POST /widget/session { key, token? }: the visitor's signed token (the one given back when it
 *   is still good for this widget, so a reload keeps the conversation), and how the widget looks;
 * - GET /widget/messages?after=: the visitor's conversation, all of it or what changed since the
 *   cursor (delta sync), and whether a person has taken over;
 * - POST /widget/messages { text, client_message_id, reply_id? }: a message, ingested as every
 *   channel's are (the agent's debounced turn, intake, handoff words); idempotent by the client id;
 * - PUT /widget/profile { name, email | phone }: who the visitor is, for the operators.
 * Every request names an allowed origin (CORS; else 403), is limited per visitor and per IP
 * (429 with Retry-After) and to WIDGET_BODY_LIMIT bytes (413), and reaches only the visitor's own
 * conversation, under the tenant handle of the tenant the key or token names.
 */

/** Nothing the widget sends is near this: a message is at most 2,000 characters. */
export const WIDGET_BODY_LIMIT = 16 * 1024;
export const WIDGET_TEXT_MAX = 2000;

/**
 * CORS for the widget's paths: preflights are answered for any origin (they carry no key, so the
 * allow-list cannot be known yet); each real request is then checked against its widget's
 * allow-list by its route, and answered with the origin echoed, so the widget can read even a
 * refusal and say why. Never with credentials (cookies): the token travels in a header.
 */
const widgetCors = createMiddleware<HonoEnv>(async function widgetCors(c, next) {
  const origin = c.req.header('origin');
  const allow = (headers: Headers) => {
    if (origin) headers.set('access-control-allow-origin', origin);
    headers.append('vary', 'Origin');
  };
  if (c.req.method === 'OPTIONS') {
    const headers = new Headers({
      'access-control-allow-methods': 'GET, POST, PUT, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    });
    allow(headers);
    return new Response(null, { status: 204, headers });
  }
  await next();
  allow(c.res.headers);
  c.res.headers.set('access-control-expose-headers', 'retry-after');
  c.res.headers.set('cache-control', 'no-store');
});

/** Before the app's own body limit (1 MiB) and before `init`: refused without touching anything. */
export const widgetEdge = [
  widgetCors,
  bodyLimit({
    maxSize: WIDGET_BODY_LIMIT,
    onError: () => {
      throw new ApiError(
        'PAYLOAD_TOO_LARGE',
        `The request body is larger than ${WIDGET_BODY_LIMIT / 1024} KiB.`,
      );
    },
  }),
] as const;

const sessionBody = z.strictObject({
  key: z
    .string()
    .min(8)
    .max(100)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a widget key'),
  token: z.string().max(2000).optional(),
});

const messageBody = z.strictObject({
  text: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .refine((t) => [...t].length <= WIDGET_TEXT_MAX, `is limited to ${WIDGET_TEXT_MAX} characters`),
  client_message_id: z
    .string()
    .min(8)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, - or _'),
  /** The id of the button the visitor tapped (its title is `text`). */
  reply_id: z.string().min(1).max(1000).optional(),
});

const profileBody = z
  .strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(100),
    email: z.email().max(200).optional(),
    phone: z
      .string()
      .trim()
      .regex(/^\+?[0-9 ()-]{6,24}$/, 'must be a phone number')
      .optional(),
  })
  .refine((p) => p.email !== undefined || p.phone !== undefined, {
    message: 'give an email or a phone number',
    path: ['email'],
  });

/** `after`: a cursor as the last answer gave it (Postgres's timestamp text). */
const pollQuery = z.strictObject({
  after: z
    .string()
    .regex(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/,
      'must be a cursor from an earlier answer',
    )
    .optional(),
});

async function parseJson<T extends z.ZodType>(c: Context<HonoEnv>, schema: T): Promise<z.infer<T>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError('BAD_REQUEST', 'The body must be JSON.');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ApiError('BAD_REQUEST', zodMessage(parsed.error));
  return parsed.data;
}

function tokenSecret(c: Context<HonoEnv>): string {
  const secret = c.var.env.WIDGET_TOKEN_SECRET;
  if (!secret) {
    throw new ApiError(
      'SERVICE_UNAVAILABLE',
      'The chat widget is not set up on this deployment (WIDGET_TOKEN_SECRET is not set).',
    );
  }
  return secret;
}

/** Cloudflare names the client's address; a local `wrangler dev` or a test may not. */
function clientIp(c: Context<HonoEnv>): string {
  return c.req.header('cf-connecting-ip') ?? c.req.header('x-real-ip') ?? 'unknown';
}

/** The request's origin must be one the widget allows: 403 otherwise, saying which and why. */
function checkOrigin(c: Context<HonoEnv>, allowed: string[]) {
  const origin = c.req.header('origin');
  if (!origin) {
    throw new ApiError(
      'FORBIDDEN',
      'The chat widget answers only pages of an allowed site (the request has no Origin).',
    );
  }
  if (!allowed.includes(origin)) {
    throw new ApiError(
      'FORBIDDEN',
      `This site (${origin}) is not allowed to use this chat widget. The business can add it to the widget's allowed origins.`,
    );
  }
}

async function limit(c: Context<HonoEnv>, action: WidgetAction, visitorId?: string): Promise<void> {
  try {
    await checkWidgetLimits(c.var.services, {
      action,
      ip: clientIp(c),
      visitorId,
      messagesPerMinute: c.var.env.WIDGET_MESSAGES_PER_MINUTE,
    });
  } catch (err) {
    if (err instanceof RateLimited) c.header('retry-after', String(err.retryAfterSeconds));
    throw err;
  }
}

async function visitorOf(c: Context<HonoEnv>): Promise<VisitorToken> {
  const header = c.req.header('authorization');
  const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
  return verifyVisitorToken(token, tokenSecret(c), c.var.services.clock.now());
}

/** The widget is gone (deleted since the token was given): the token speaks for nothing. */
const widgetGone = () =>
  new ApiError('UNAUTHORIZED', 'This chat widget no longer exists; start a new session.');

export function registerWidget(app: App) {
  app.post('/widget/session', async (c) => {
    const secret = tokenSecret(c);
    await limit(c, 'session');
    const body = await parseJson(c, sessionBody);
    const { services } = c.var;
    const widget = await asWorker(services.db, (scope) => findWidgetByKey(scope, body.key));
    if (!widget) throw new ApiError('NOT_FOUND', 'No chat widget has this key.');
    checkOrigin(c, widget.allowedOrigins);
    const now = services.clock.now();
    let token: string | null = null;
    let visitor: VisitorToken | null = null;
    if (body.token) {
      // A token of this very widget is given back: the visitor keeps their conversation. Any
      // other (another widget's, forged, expired) is simply replaced by a new visitor.
      const held = await verifyVisitorToken(body.token, secret, now).catch(() => null);
      if (held && held.key === body.key && held.channelAccountId === widget.channelAccountId) {
        token = body.token;
        visitor = held;
      }
    }
    if (!token || !visitor) {
      visitor = {
        tenantId: widget.tenantId,
        channelAccountId: widget.channelAccountId,
        visitorId: crypto.randomUUID(),
        key: body.key,
      };
      token = await signVisitorToken(visitor, secret, now);
    }
    return c.json({
      token,
      visitor_id: visitor.visitorId,
      widget: { title: widget.title, color: widget.color, greeting: widget.greeting },
    });
  });

  app.get('/widget/messages', async (c) => {
    const visitor = await visitorOf(c);
    await limit(c, 'poll', visitor.visitorId);
    const parsed = pollQuery.safeParse(c.req.query());
    if (!parsed.success) throw new ApiError('BAD_REQUEST', zodMessage(parsed.error));
    // One round trip: BEGIN, the tenant binding, the read's statements and COMMIT sent together.
    const thread = await asTenant<WidgetThread>(c.var.services.db, visitor.tenantId, async (ctx) =>
      commitWith(runPipelined(widgetThread(ctx, visitor, parsed.data.after))),
    );
    if (!thread.allowedOrigins) throw widgetGone();
    checkOrigin(c, thread.allowedOrigins);
    return c.json({
      messages: thread.messages.map(messageView),
      cursor: thread.cursor,
      // The widget says so when a person has taken over from the assistant.
      human: thread.conversation?.isLocked ?? false,
      visitor: thread.visitor,
    });
  });

  app.post('/widget/messages', async (c) => {
    const visitor = await visitorOf(c);
    await limit(c, 'send', visitor.visitorId);
    const body = await parseJson(c, messageBody);
    const { services, env } = c.var;
    const now = services.clock.now();
    const item: MessageItem = {
      kind: 'message',
      providerMessageId: `web:in:${visitor.visitorId}:${body.client_message_id}`,
      timestamp: now,
      contact: { externalUserId: visitor.visitorId },
      from: 'customer',
      // A tapped button comes back as Messenger's quick replies do: the agent reads its id.
      type: body.reply_id ? 'quick_reply' : 'text',
      content: body.text,
      attachments: [],
      payload: {
        client_message_id: body.client_message_id,
        ...(body.reply_id ? { quick_reply: { payload: body.reply_id } } : {}),
      },
      wantsReply: true,
    };
    const ingested = await asTenant(services.db, visitor.tenantId, async (ctx) => {
      const allowed = await widgetOrigins(ctx, visitor.channelAccountId);
      if (!allowed) throw widgetGone();
      checkOrigin(c, allowed);
      return ingestAccountItems(ctx, { id: visitor.channelAccountId, channel: 'web' }, [item], {
        now,
        onCustomerMessage: (ctx, message) => agentIntake(ctx, message),
      });
    });
    // The agent's turn (and anything intake queued) is published after the answer, as webhooks do.
    if (ingested.jobs.length > 0) {
      afterResponse(c, env, (fresh) => publishJobs(fresh, env, ingested.jobs));
    }
    return c.json(
      {
        client_message_id: body.client_message_id,
        status: ingested.counts.stored > 0 ? 'received' : 'duplicate',
      },
      ingested.counts.stored > 0 ? 201 : 200,
    );
  });

  app.put('/widget/profile', async (c) => {
    const visitor = await visitorOf(c);
    await limit(c, 'profile', visitor.visitorId);
    const body = await parseJson(c, profileBody);
    await asTenant(c.var.services.db, visitor.tenantId, async (ctx) => {
      const allowed = await widgetOrigins(ctx, visitor.channelAccountId);
      if (!allowed) throw widgetGone();
      checkOrigin(c, allowed);
      await saveVisitorProfile(ctx, visitor, {
        name: body.name,
        email: body.email ?? null,
        phone: body.phone ?? null,
      });
    });
    return c.json({
      visitor: { name: body.name, email: body.email ?? null, phone: body.phone ?? null },
    });
  });
}
