import { z } from '@hono/zod-openapi';
import { conversationWindow, windowView } from '../../../core/messaging/window';
import {
  type ConversationForSend,
  loadConversationForSend,
  lockHistory,
  setBotEnabled,
  setConversationLock,
} from '../../../db/conversations';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { channelSchema, lockSourceSchema, windowViewSchema } from '../messages/view';
import { EXAMPLE_TIME, field, idParams, jsonBody, jsonResponse, operatorRoutes } from '../route';
import { registerLabelsAndAssignee } from './labels-assignee';

const route = operatorRoutes('conversations');

const lockSource = lockSourceSchema.openapi({
  description:
    'operator; echo: a reply sent from the business app; escalation: the agent handed off; ' +
    'keyword: the customer asked for a person',
  example: 'operator',
});

const lockEvent = z.object({
  locked: field.boolean('Locked (true) or unlocked (false)', true),
  source: lockSource,
  user_id: field.id('The operator who did it; null when not an operator').nullable(),
  reason: field.nullableString('Why', 'Taken over by an operator'),
  at: field.time('When'),
});

const conversationState = z
  .object({
    id: field.id('The conversation id'),
    channel_source: channelSchema.openapi({
      description: 'The channel the conversation is on',
      example: 'whatsapp',
    }),
    contact: z
      .object({
        id: field.id('The contact (the customer)'),
        name: field.nullableString('Their profile name', 'Lucía Fernández'),
        phone: field.nullableString('Their phone number: WhatsApp only', '34600000000'),
      })
      .openapi({
        description: 'The customer',
        example: {
          id: '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
          name: 'Lucía Fernández',
          phone: '34600000000',
        },
      }),
    is_locked: field.boolean('Human override: the bot neither answers nor sends', true),
    locked_by: lockSource
      .nullable()
      .openapi({ description: 'What locked it', example: 'operator' }),
    locked_by_user_id: field.id('The operator who locked it').nullable(),
    locked_at: field.nullableString('When it was locked (ISO 8601)', EXAMPLE_TIME),
    lock_reason: field.nullableString('Why it is locked', 'Taken over by an operator'),
    bot_enabled: field.boolean('Whether the agent may answer in this conversation at all', true),
    window: windowViewSchema,
    next_send_at: field.nullableString(
      'The next free send slot (messages are spaced; ISO 8601)',
      null,
    ),
    lock_history: z.array(lockEvent).openapi({
      description: 'Every lock and unlock, newest first',
      example: [
        {
          locked: true,
          source: 'operator',
          user_id: '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
          reason: 'Taken over by an operator',
          at: EXAMPLE_TIME,
        },
      ],
    }),
  })
  .openapi('ConversationState', {
    description: "A conversation's human-override lock and messaging window",
  });

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

const getRoute = route('get', '/conversations/{id}', {
  operationId: 'getConversation',
  summary: 'A conversation: its human-override lock (and history) and its messaging window',
  request: { params: idParams },
  responses: { 200: jsonResponse('The conversation', conversationState) },
});

const overrideRoute = route('post', '/conversations/{id}/human-override', {
  operationId: 'setHumanOverride',
  summary: 'Take over a conversation from the bot (locked: true) or hand it back (locked: false)',
  description:
    'Records who, when and why. While locked, the bot neither answers nor sends (queued bot messages are ' +
    'cancelled at send time). Unlocking does not make the bot answer messages that arrived meanwhile.',
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          locked: field.boolean('true: take over from the bot; false: hand it back', true),
          reason: z.string().trim().min(1).max(500).optional().openapi({
            description: 'Why (kept in the lock history)',
            example: 'Customer asked for a refund',
          }),
        })
        .openapi('HumanOverride', { description: 'Take over a conversation, or hand it back' }),
    ),
  },
  responses: { 200: jsonResponse('The conversation', conversationState) },
});

const botRoute = route('put', '/conversations/{id}/bot', {
  operationId: 'setConversationBot',
  summary: 'Let the AI agent answer in a conversation, or keep it out',
  description:
    'Off keeps the agent out of this conversation until it is turned on again: it neither answers ' +
    'nor drafts, and a turn already queued ends without a word. Taking over (human-override) is ' +
    'for a while; this is for good. Turning it on does not answer messages that arrived while off.',
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          enabled: field.boolean('true: the agent may answer; false: it stays out', false),
        })
        .strict()
        .openapi('ConversationBot', {
          description: 'Whether the AI agent answers in a conversation',
        }),
    ),
  },
  responses: { 200: jsonResponse('The conversation', conversationState) },
});

export function registerConversations(app: App) {
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const now = c.var.services.clock.now();
    const state = await asCurrentOperator(c, async ({ ctx }) =>
      toState(await loadConversationForSend(ctx, id), await lockHistory(ctx, id), now),
    );
    return c.json(state, 200);
  });

  app.openapi(overrideRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const now = c.var.services.clock.now();
    const state = await asCurrentOperator(c, async ({ ctx, userId }) => {
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

  app.openapi(botRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { enabled } = c.req.valid('json');
    const now = c.var.services.clock.now();
    const state = await asCurrentOperator(c, async ({ ctx }) => {
      await setBotEnabled(ctx, id, enabled);
      return toState(await loadConversationForSend(ctx, id), await lockHistory(ctx, id), now);
    });
    return c.json(state, 200);
  });

  registerLabelsAndAssignee(app);
}
