import { z } from '@hono/zod-openapi';
import { listSendAttempts, retryFailedMessage } from '../../../db/outbound';
import type { App } from '../../app';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import { field, idParams, jsonResponse, operatorRoutes } from '../route';
import { queuedResponses, sendErrorSchema, toQueuedView } from './view';

const route = operatorRoutes('messages');

const retryRoute = route('post', '/messages/{id}/retry', {
  operationId: 'retryMessage',
  summary: 'Send a failed message again (a new attempt of the same message)',
  description:
    '409 when the message is not failed; 422 when the window or consent no longer allows it.',
  request: { params: idParams },
  responses: queuedResponses,
});

const attempt = z
  .object({
    attempt: z.number().int().openapi({ description: 'The try number, from 1', example: 1 }),
    outcome: z.enum(['sending', 'sent', 'simulated', 'retry', 'failed', 'abandoned']).openapi({
      description:
        'sending: under way; sent: Meta accepted it; simulated: live sending is off; retry: ' +
        'failed for now, tried again at retry_at; failed: Meta refused it; abandoned: given up',
      example: 'sent',
    }),
    started_at: field.time('When the try began'),
    finished_at: field.nullableString('When it ended (ISO 8601); null while sending', null),
    error: sendErrorSchema
      .nullable()
      .openapi({ description: 'Why the try did not succeed; null when it did', example: null }),
    http_status: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Meta's HTTP status; null without an answer", example: 200 }),
    provider_message_id: field.nullableString(
      "Meta's id of the sent message",
      'wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQUI0',
    ),
    messaging_type: field.nullableString(
      'Messenger / Instagram: RESPONSE, or MESSAGE_TAG with the Human Agent tag',
      null,
    ),
    retry_at: field.nullableString('When a `retry` is due again (ISO 8601)', null),
    request: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({
        description: 'The body sent to Meta (credentials left out)',
        example: { messaging_product: 'whatsapp', to: '34600000000', type: 'text' },
      }),
  })
  .openapi('SendAttempt', { description: 'One try at sending a message to Meta' });

const attemptsRoute = route('get', '/messages/{id}/attempts', {
  operationId: 'listSendAttempts',
  summary: 'Every try at sending a message: what was sent, what Meta answered, why it was retried',
  request: { params: idParams },
  responses: {
    200: jsonResponse('Attempts, newest first', itemsOf(attempt, 'The tries, newest first')),
  },
});

export function registerMessages(app: App) {
  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env } = c.var;
    const queued = await asCurrentOperator(c, ({ ctx }) =>
      retryFailedMessage(ctx, { messageId: id, now: services.clock.now() }),
    );
    await publishJobs(services, env, [queued.job]);
    return c.json(toQueuedView(queued), 202);
  });

  app.openapi(attemptsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const rows = await asCurrentOperator(c, ({ ctx }) => listSendAttempts(ctx, id));
    return c.json(
      {
        items: rows.map((a) => ({
          attempt: a.attempt,
          outcome: a.outcome,
          started_at: a.startedAt.toISOString(),
          finished_at: a.finishedAt?.toISOString() ?? null,
          error: a.errorCode || a.errorReason ? { code: a.errorCode, reason: a.errorReason } : null,
          http_status: a.httpStatus,
          provider_message_id: a.providerMessageId,
          messaging_type: a.messagingType,
          retry_at: a.retryAt?.toISOString() ?? null,
          request: a.request,
        })),
      },
      200,
    );
  });
}
