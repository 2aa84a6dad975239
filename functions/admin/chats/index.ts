import { createRoute, z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import {
  latestInboundWhatsAppMessageId,
  listChatSummaries,
  listConversationMessages,
  markConversationRead,
} from '../../../db/chats';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { markReadInBackground } from '../../messaging/read-receipts';
import { asCurrentOperator } from '../../middleware/operator-auth';
import {
  chatMessage,
  chatSummary,
  decodeCursor,
  encodeCursor,
  toChatMessage,
  toChatSummary,
} from './view';

const listCursor = z.object({ t: z.string().max(64).nullable(), id: z.uuid() });
const deltaCursor = z.object({ t: z.string().max(64), id: z.uuid().nullable() });

const summaryRoute = createRoute({
  method: 'get',
  path: '/chats/summary',
  tags: ['chats'],
  operationId: 'listChats',
  summary: 'The inbox: every conversation, most recent first',
  description:
    'Keyset-paged: pass `next_cursor` as `cursor` for the next page. `human_only`: conversations under human override (locked); `bot_only`: the bot answers.',
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      human_filter: z.enum(['all', 'human_only', 'bot_only']).default('all'),
      channel: z.enum(['whatsapp', 'messenger', 'instagram']).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(30),
      cursor: z.string().max(512).optional(),
    }),
  },
  responses: {
    200: {
      description: 'One page of conversations',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(chatSummary), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...errorResponses,
  },
});

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const messagesRoute = createRoute({
  method: 'get',
  path: '/chats/{id}/messages',
  tags: ['chats'],
  operationId: 'listChatMessages',
  summary: 'Messages of a conversation, with delta sync',
  description: [
    'Without `after`: the newest `limit` messages, oldest first.',
    'With `after` (a `next_cursor` from an earlier call): only messages created or changed since —',
    'new messages, delivery statuses, reactions, edits, downloaded files — oldest first by provider',
    'time. Items are upserts keyed by `id`; a recently changed message may be sent again. When',
    'nothing changed the answer is an empty list (one index lookup). `has_more`: call again with',
    '`next_cursor` straight away.',
  ].join(' '),
  security: [{ bearer: [] }],
  request: {
    params,
    query: z.object({
      after: z.string().max(512).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
  },
  responses: {
    200: {
      description: 'Messages',
      content: {
        'application/json': {
          schema: z.object({
            items: z.array(chatMessage),
            next_cursor: z.string(),
            has_more: z.boolean(),
          }),
        },
      },
    },
    ...errorResponses,
  },
});

const readRoute = createRoute({
  method: 'post',
  path: '/chats/{id}/read',
  tags: ['chats'],
  operationId: 'markChatRead',
  summary: 'Mark a conversation read (unread count back to 0)',
  description:
    "On WhatsApp the customer's latest message is also marked read on Meta (blue ticks), after the " +
    'answer and best effort: a receipt Meta refuses is logged, never an error here.',
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    200: {
      description: 'Marked read',
      content: {
        'application/json': {
          schema: z.object({ id: z.uuid(), unread_count: z.literal(0) }),
        },
      },
    },
    ...errorResponses,
  },
});

export function registerChats(app: App) {
  app.openapi(summaryRoute, async (c) => {
    const query = c.req.valid('query');
    const after = query.cursor ? decodeCursor(query.cursor, listCursor, 'cursor') : undefined;
    const rows = await asCurrentOperator(c, (ctx) =>
      listChatSummaries(ctx, {
        humanFilter: query.human_filter,
        channel: query.channel,
        limit: query.limit + 1,
        after: after ? { lastMessageAt: after.t, id: after.id } : undefined,
      }),
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const now = c.var.services.clock.now();
    return c.json(
      {
        items: page.map((row) => toChatSummary(row, now)),
        next_cursor:
          rows.length > query.limit && last
            ? encodeCursor({ t: last.position, id: last.id })
            : null,
      },
      200,
    );
  });

  app.openapi(messagesRoute, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    const after = query.after ? decodeCursor(query.after, deltaCursor, 'after') : undefined;
    const result = await asCurrentOperator(c, (ctx) =>
      listConversationMessages(ctx, id, {
        limit: query.limit,
        after: after ? { changedAt: after.t, id: after.id } : undefined,
      }),
    );
    if (!result) throw new NotFoundError('Conversation', id);
    return c.json(
      {
        items: result.rows.map(toChatMessage),
        next_cursor: encodeCursor({ t: result.nextCursor.changedAt, id: result.nextCursor.id }),
        has_more: result.hasMore,
      },
      200,
    );
  });

  app.openapi(readRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { env, services, logger, operator } = c.var;
    const latest = await asCurrentOperator(c, async (ctx) =>
      (await markConversationRead(ctx, id))
        ? { messageId: await latestInboundWhatsAppMessageId(ctx, id) }
        : null,
    );
    if (!latest) throw new NotFoundError('Conversation', id);
    if (latest.messageId) {
      markReadInBackground(
        { env, clock: services.clock, logger, waitUntil: (p) => c.executionCtx.waitUntil(p) },
        { tenantId: operator.tenantId, channel: 'whatsapp', messageId: latest.messageId },
      );
    }
    return c.json({ id, unread_count: 0 as const }, 200);
  });
}
