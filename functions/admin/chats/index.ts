import { z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import { conversationAiCost } from '../../../db/agent';
import {
  chatSummaries,
  conversationMessages,
  latestInboundWhatsAppMessageId,
  type MessageThreadCursor,
  markConversationRead,
} from '../../../db/chats';
import type { App } from '../../app';
import { ApiError } from '../../errors';

import { markReadInBackground } from '../../messaging/read-receipts';
import { asCurrentOperator, readAsCurrentOperator } from '../../middleware/operator-auth';
import { channelSchema, chatMessage, toChatMessage } from '../messages/view';
import {
  cursorParam,
  decodeCursor,
  encodeCursor,
  keysetCursor,
  operatorPage,
  pageOf,
  pageQuery,
} from '../paging';
import { afterResponse, field, idParams, jsonResponse, operatorRoutes, textParam } from '../route';
import { chatSummary, toChatSummary } from './view';

const route = operatorRoutes('chats');

/** Conversations without messages sort last, with no position. */
const listCursor = keysetCursor.extend({ p: z.string().max(64).nullable() });
/** A delta horizon over an empty conversation has no message id yet. */
const deltaCursor = keysetCursor.extend({ id: z.uuid().nullable() });
/** A thread page's start in conversation order: provider time and arrival time, then the id. */
const threadCursor = keysetCursor.extend({ p: z.string().regex(/^[^|]{1,64}\|[^|]{1,64}$/) });

function threadCursorOf(position: MessageThreadCursor) {
  return { p: `${position.providerTimestamp}|${position.receivedAt}`, id: position.id };
}

function threadPositionOf(cursor: z.infer<typeof threadCursor>): MessageThreadCursor {
  const [providerTimestamp = '', receivedAt = ''] = cursor.p.split('|');
  return { providerTimestamp, receivedAt, id: cursor.id };
}

const summaryRoute = route('get', '/chats/summary', {
  operationId: 'listChats',
  summary: 'The inbox: every conversation, most recent first',
  description:
    'Keyset-paged: pass `next_cursor` as `cursor` for the next page (with the same filters). `human_only`: conversations under human override (locked); `bot_only`: the bot answers. `label`, `assignee`, `channel` and `q` combine.',
  request: {
    query: z.object({
      human_filter: z.enum(['all', 'human_only', 'bot_only']).default('all').openapi({
        description: 'human_only: under human override (locked); bot_only: the bot answers',
        example: 'human_only',
      }),
      channel: channelSchema
        .optional()
        .openapi({ description: 'Only conversations on this channel', example: 'whatsapp' }),
      q: textParam()
        .trim()
        .min(1)
        .max(100)
        .optional()
        .openapi({
          description:
            "Search (1–100 characters, trimmed; case-insensitive): part of the customer's name, " +
            'username or phone number, or of the last message. Combines with the other filters; ' +
            'pass the same `q` with `cursor`',
          example: 'lucía',
        }),
      label: textParam()
        .trim()
        .min(1)
        .max(32)
        .optional()
        .openapi({ description: 'Only conversations carrying this label', example: 'vip' }),
      assignee: z
        .union([z.uuid(), z.enum(['me', 'none'])])
        .optional()
        .openapi({
          description:
            'Only conversations assigned to this operator (a user id), to the signed-in operator ' +
            '(`me`) or to nobody (`none`)',
          example: 'me',
        }),
      ...pageQuery({ default: 30, max: 100 }),
    }),
  },
  responses: {
    200: jsonResponse(
      'One page of conversations',
      pageOf(chatSummary, 'Conversations, most recent first'),
    ),
  },
});

const messagesRoute = route('get', '/chats/{id}/messages', {
  operationId: 'listChatMessages',
  summary: 'Messages of a conversation, with delta sync',
  description: [
    'Without `after`: the newest `limit` messages, oldest first; `older_cursor` passed as `before`',
    'gives the `limit` messages just before them (paging back through the thread), null once the',
    'first message is shown.',
    'With `after` (a `next_cursor` from an earlier call): only messages created or changed since —',
    'new messages, delivery statuses, reactions, edits, downloaded files — oldest first by provider',
    'time. Items are upserts keyed by `id`; a recently changed message may be sent again. When',
    'nothing changed the answer is an empty list (one index lookup). `has_more`: call again with',
    '`next_cursor` straight away.',
  ].join(' '),
  request: {
    params: idParams,
    query: z.object({
      after: cursorParam(
        'after',
        'The `next_cursor` of an earlier call: only what was created or changed since',
      ),
      before: cursorParam(
        'before',
        'The `older_cursor` of an earlier call: the messages just before those it returned',
      ),
      limit: z.coerce.number().int().min(1).max(200).default(50).openapi({
        description: 'How many messages at most (1–200)',
        example: 50,
      }),
    }),
  },
  responses: {
    200: jsonResponse(
      'Messages',
      pageOf(chatMessage, 'Messages, oldest first; upserts keyed by id').extend({
        next_cursor: z.string().openapi({
          description: 'Pass as `after` to get only what changes from now on',
          example: encodeCursor({ p: '2025-03-14 09:26:53.589+00', id: null }),
        }),
        has_more: field.boolean(
          'More changes are waiting: call again with `next_cursor` at once',
          false,
        ),
        older_cursor: z
          .string()
          .nullable()
          .openapi({
            description:
              'Pass as `before` for the messages before these; null when the first message of the ' +
              'conversation is among them (and on `after` pages)',
            example: null,
          }),
      }),
    ),
  },
});

const readRoute = route('post', '/chats/{id}/read', {
  operationId: 'markChatRead',
  summary: 'Mark a conversation read (unread count back to 0)',
  description:
    "On WhatsApp the customer's latest message is also marked read on Meta (blue ticks), after the " +
    'answer and best effort: a receipt Meta refuses is logged, never an error here.',
  request: { params: idParams },
  responses: {
    200: jsonResponse(
      'Marked read',
      z.object({
        id: field.id('The conversation id'),
        unread_count: z.literal(0).openapi({ description: 'Always 0 now', example: 0 }),
      }),
    ),
  },
});

const aiCostRoute = route('get', '/chats/{id}/ai-cost', {
  operationId: 'getChatAiCost',
  summary: 'What the AI cost in a conversation, at list price',
  request: { params: idParams },
  responses: {
    200: jsonResponse(
      "The conversation's AI cost",
      z
        .object({
          cost_usd: z.number().openapi({
            description:
              "The sum of its agent runs' costs in US dollars (core/agent/prices.ts); runs of an unpriced model add nothing",
            example: 0.0042,
          }),
          runs: z
            .number()
            .int()
            .openapi({ description: 'Agent runs that called the model', example: 7 }),
          unpriced_runs: z.number().int().openapi({
            description:
              'Of those, the runs whose cost is not known (a model without a list price)',
            example: 0,
          }),
        })
        .openapi('ChatAiCost', { description: 'What the AI cost in one conversation' }),
    ),
  },
});

export function registerChats(app: App) {
  app.openapi(summaryRoute, async (c) => {
    const query = c.req.valid('query');
    const now = c.var.services.clock.now();
    const page = await operatorPage(c, query, {
      cursor: listCursor,
      read: (ctx, page) =>
        chatSummaries(ctx, {
          humanFilter: query.human_filter,
          channel: query.channel,
          search: query.q,
          label: query.label,
          assignee:
            query.assignee === 'me'
              ? c.var.operator.userId
              : query.assignee === 'none'
                ? null
                : query.assignee,
          ...page,
        }),
      item: (row) => toChatSummary(row, now),
    });
    return c.json(page, 200);
  });

  app.openapi(aiCostRoute, async (c) => {
    const { id } = c.req.valid('param');
    const cost = await asCurrentOperator(c, ({ ctx }) => conversationAiCost(ctx, id));
    if (!cost) throw new NotFoundError('Conversation', id);
    return c.json(
      { cost_usd: cost.costUsd, runs: cost.runs, unpriced_runs: cost.unpricedRuns },
      200,
    );
  });

  app.openapi(messagesRoute, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    if (query.after && query.before)
      throw new ApiError('BAD_REQUEST', 'after and before cannot be used together');
    const after = query.after ? decodeCursor(query.after, 'after', deltaCursor) : undefined;
    const before = query.before ? decodeCursor(query.before, 'before', threadCursor) : undefined;
    const result = await readAsCurrentOperator(c, (ctx) =>
      conversationMessages(ctx, id, {
        limit: query.limit,
        after: after ? { changedAt: after.p, id: after.id } : undefined,
        before: before && threadPositionOf(before),
      }),
    );
    if (!result) throw new NotFoundError('Conversation', id);
    return c.json(
      {
        items: result.rows.map(toChatMessage),
        next_cursor: encodeCursor({ p: result.nextCursor.changedAt, id: result.nextCursor.id }),
        has_more: result.hasMore,
        older_cursor: result.olderCursor && encodeCursor(threadCursorOf(result.olderCursor)),
      },
      200,
    );
  });

  app.openapi(readRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { env, services, logger, operator } = c.var;
    const latest = await asCurrentOperator(c, async ({ ctx }) =>
      (await markConversationRead(ctx, id))
        ? { messageId: await latestInboundWhatsAppMessageId(ctx, id) }
        : null,
    );
    if (!latest) throw new NotFoundError('Conversation', id);
    if (latest.messageId) {
      markReadInBackground(
        {
          env,
          clock: services.clock,
          logger,
          waitUntil: (receipt) => afterResponse(c, 'read receipt', () => receipt),
        },
        { tenantId: operator.tenantId, channel: 'whatsapp', messageId: latest.messageId },
      );
    }
    return c.json({ id, unread_count: 0 as const }, 200);
  });
}
