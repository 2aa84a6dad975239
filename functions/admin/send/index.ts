import { z } from '@hono/zod-openapi';
import { KINDS_BY_CHANNEL } from '../../../core/messaging/kinds';
import { queueOutboundMessage } from '../../../db/outbound';
import type { App } from '../../app';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { channelSchema, queuedResponses, toQueuedView } from '../messages/view';
import { field, jsonBody, operatorRoutes } from '../route';

const route = operatorRoutes('messages');

const kinds = [...new Set(Object.values(KINDS_BY_CHANNEL).flat())];

const sendBody = z
  .object({
    conversation_id: field.id('The conversation to send on'),
    message: z
      .union([
        z.string(),
        z
          .object({
            type: z.enum(kinds).openapi({
              description: 'The message kind; its other fields depend on it (see docs/sending.md)',
              example: 'image',
            }),
          })
          .loose(),
      ])
      .openapi({
        description:
          'Text, or a message kind: text, image, video, audio, document, sticker (by id or link, with caption), ' +
          'buttons (≤3, titles ≤20), list (≤10 rows), reaction, template (WhatsApp); text, quick_replies (≤13), ' +
          "buttons, attachments (Messenger / Instagram). Meta's limits are checked before anything is queued.",
        example: 'Hello! Your appointment is confirmed.',
      }),
    channel_source: channelSchema.optional().openapi({
      description:
        "Checked against the conversation's channel; every channel is routed by its account.",
      example: 'whatsapp',
    }),
    reply_to_message_id: field.id('Quote this message (WhatsApp): its id').optional(),
  })
  .openapi('SendRequest', { description: "An operator's message to a conversation" });

const sendRoute = route('post', '/whatsapp/send', {
  operationId: 'sendMessage',
  summary: "Queue an operator's message on any channel (spaced, in order, inside Meta's rules)",
  description:
    "Routes by the conversation's channel account (WhatsApp, Messenger or Instagram). An operator reply " +
    'takes over the conversation when the tenant setting lock_on_operator_reply is on. 400: a limit is ' +
    'broken; 422: the window or consent does not allow it (the message says why and what to do).',
  request: { body: jsonBody(sendBody) },
  responses: queuedResponses,
});

export function registerSend(app: App) {
  app.openapi(sendRoute, async (c) => {
    const body = c.req.valid('json');
    const { services, env } = c.var;
    const queued = await asCurrentOperator(c, ({ ctx, userId }) =>
      queueOutboundMessage(ctx, {
        conversationId: body.conversation_id,
        sender: 'operator',
        message: body.message,
        now: services.clock.now(),
        requestedByUserId: userId,
        replyToMessageId: body.reply_to_message_id,
        expectedChannel: body.channel_source,
      }),
    );
    await publishJobs(services, env, [queued.job]);
    return c.json(toQueuedView(queued), 202);
  });
}
