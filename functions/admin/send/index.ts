import { createRoute, z } from '@hono/zod-openapi';
import { KINDS_BY_CHANNEL } from '../../../core/messaging/kinds';
import { windowView } from '../../../core/messaging/window';
import { queueOutboundMessage } from '../../../db/outbound';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { queuedResponse, toOutboundMessageView } from '../messages/view';

const kinds = [...new Set(Object.values(KINDS_BY_CHANNEL).flat())];

const sendBody = z
  .object({
    conversation_id: z.uuid(),
    message: z.union([z.string(), z.object({ type: z.enum(kinds) }).loose()]).openapi({
      description:
        'Text, or a message kind: text, image, video, audio, document, sticker (by id or link, with caption), ' +
        'buttons (≤3, titles ≤20), list (≤10 rows), reaction, template (WhatsApp); text, quick_replies (≤13), ' +
        "buttons, attachments (Messenger / Instagram). Meta's limits are checked before anything is queued.",
      example: 'Hello! Your appointment is confirmed.',
    }),
    channel_source: z.enum(['whatsapp', 'messenger', 'instagram']).optional().openapi({
      description:
        "Checked against the conversation's channel; every channel is routed by its account.",
    }),
    reply_to_message_id: z
      .uuid()
      .optional()
      .openapi({ description: 'Quote this message (WhatsApp)' }),
  })
  .openapi('SendRequest');

const route = createRoute({
  method: 'post',
  path: '/whatsapp/send',
  tags: ['messages'],
  operationId: 'sendMessage',
  summary: "Queue an operator's message on any channel (spaced, in order, inside Meta's rules)",
  description:
    "Routes by the conversation's channel account (WhatsApp, Messenger or Instagram). An operator reply " +
    'takes over the conversation when the tenant setting lock_on_operator_reply is on. 400: a limit is ' +
    'broken; 422: the window or consent does not allow it (the message says why and what to do).',
  security: [{ bearer: [] }],
  request: { body: { content: { 'application/json': { schema: sendBody } }, required: true } },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: queuedResponse } } },
    ...errorResponses,
  },
});

export function registerSend(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { services, env } = c.var;
    const queued = await asCurrentOperator(c, ({ tx, tenantId, userId }) =>
      queueOutboundMessage(
        { tx, tenantId },
        {
          conversationId: body.conversation_id,
          sender: 'operator',
          message: body.message,
          now: services.clock.now(),
          requestedByUserId: userId,
          replyToMessageId: body.reply_to_message_id,
          expectedChannel: body.channel_source,
        },
      ),
    );
    await publishJobs(services, env, [queued.job]);
    return c.json(
      {
        message: toOutboundMessageView(queued.message),
        not_before: queued.notBefore.toISOString(),
        window: windowView(queued.window),
      },
      202,
    );
  });
}
