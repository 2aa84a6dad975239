import { createRoute, z } from '@hono/zod-openapi';
import { conversationWindow, windowView } from '../../../core/messaging/window';
import {
  type ConversationForSend,
  loadConversationForSend,
  lockHistory,
  setConversationLock,
} from '../../../db/conversations';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { windowViewSchema } from '../messages/view';

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const lockEvent = z.object({
  locked: z.boolean(),
  source: z.enum(['operator', 'echo', 'escalation', 'keyword']),
  user_id: z.uuid().nullable(),
  reason: z.string().nullable(),
  at: z.string(),
});

const conversationState = z
  .object({
    id: z.uuid(),
    channel_source: z.enum(['whatsapp', 'messenger', 'instagram']),
    contact: z.object({ id: z.uuid(), name: z.string().nullable(), phone: z.string().nullable() }),
    is_locked: z.boolean(),
    locked_by: z.enum(['operator', 'echo', 'escalation', 'keyword']).nullable(),
    locked_by_user_id: z.uuid().nullable(),
    locked_at: z.string().nullable(),
    lock_reason: z.string().nullable(),
    bot_enabled: z.boolean(),
    window: windowViewSchema,
    next_send_at: z.string().nullable(),
    lock_history: z.array(lockEvent),
  })
  .openapi('ConversationState');

type History = Awaited<ReturnType<typeof lockHistory>>;

function toState(conv: ConversationForSend, history: History, now: Date) {
  const c = conv.conversation;
  return {
    id: c.id,
    channel_source: conv.account.channel,
    contact: { id: conv.contact.id, name: conv.contact.name, phone: conv.contact.phone },
    is_locked: c.isLocked,
    locked_by: c.lockedBy,
    locked_by_user_id: c.lockedByUserId,
    locked_at: c.lockedAt?.toISOString() ?? null,
    lock_reason: c.lockReason,
    bot_enabled: c.botEnabled,
    window: windowView(conversationWindow(conv.account.channel, c.lastInboundAt, now)),
    next_send_at: c.nextSendAt?.toISOString() ?? null,
    lock_history: history.map((e) => ({
      locked: e.locked,
      source: e.source,
      user_id: e.userId,
      reason: e.reason,
      at: e.at.toISOString(),
    })),
  };
}

const getRoute = createRoute({
  method: 'get',
  path: '/conversations/{id}',
  tags: ['conversations'],
  operationId: 'getConversation',
  summary: 'A conversation: its human-override lock (and history) and its messaging window',
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    200: {
      description: 'The conversation',
      content: { 'application/json': { schema: conversationState } },
    },
    ...errorResponses,
  },
});

const overrideRoute = createRoute({
  method: 'post',
  path: '/conversations/{id}/human-override',
  tags: ['conversations'],
  operationId: 'setHumanOverride',
  summary: 'Take over a conversation from the bot (locked: true) or hand it back (locked: false)',
  description:
    'Records who, when and why. While locked, the bot neither answers nor sends (queued bot messages are ' +
    'cancelled at send time). Unlocking does not make the bot answer messages that arrived meanwhile.',
  security: [{ bearer: [] }],
  request: {
    params,
    body: {
      content: {
        'application/json': {
          schema: z
            .object({ locked: z.boolean(), reason: z.string().trim().min(1).max(500).optional() })
            .openapi('HumanOverride'),
        },
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'The conversation',
      content: { 'application/json': { schema: conversationState } },
    },
    ...errorResponses,
  },
});

export function registerConversations(app: App) {
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const now = c.var.services.clock.now();
    const state = await asCurrentOperator(c, async (ctx) =>
      toState(await loadConversationForSend(ctx, id), await lockHistory(ctx, id), now),
    );
    return c.json(state, 200);
  });

  app.openapi(overrideRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const now = c.var.services.clock.now();
    const state = await asCurrentOperator(c, async ({ tx, tenantId, userId }) => {
      const ctx = { tx, tenantId };
      await setConversationLock(ctx, {
        conversationId: id,
        locked: body.locked,
        source: 'operator',
        userId,
        reason: body.reason ?? (body.locked ? 'Taken over by an operator' : null),
        now,
      });
      return toState(await loadConversationForSend(ctx, id), await lockHistory(ctx, id), now);
    });
    return c.json(state, 200);
  });
}
