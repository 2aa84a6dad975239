import { createRoute, z } from '@hono/zod-openapi';
import { windowView } from '../../../core/messaging/window';
import { listSendAttempts, retryFailedMessage } from '../../../db/outbound';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { queuedResponse, toOutboundMessageView } from './view';

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const retryRoute = createRoute({
  method: 'post',
  path: '/messages/{id}/retry',
  tags: ['messages'],
  operationId: 'retryMessage',
  summary: 'Send a failed message again (a new attempt of the same message)',
  description:
    '409 when the message is not failed; 422 when the window or consent no longer allows it.',
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    202: {
      description: 'Queued again',
      content: { 'application/json': { schema: queuedResponse } },
    },
    ...errorResponses,
  },
});

const attempt = z
  .object({
    attempt: z.number().int(),
    outcome: z.enum(['sending', 'sent', 'simulated', 'retry', 'failed', 'abandoned']),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    error: z.object({ code: z.string().nullable(), reason: z.string().nullable() }).nullable(),
    http_status: z.number().int().nullable(),
    provider_message_id: z.string().nullable(),
    messaging_type: z.string().nullable(),
    retry_at: z.string().nullable(),
    request: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('SendAttempt');

const attemptsRoute = createRoute({
  method: 'get',
  path: '/messages/{id}/attempts',
  tags: ['messages'],
  operationId: 'listSendAttempts',
  summary: 'Every try at sending a message: what was sent, what Meta answered, why it was retried',
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    200: {
      description: 'Attempts, newest first',
      content: { 'application/json': { schema: z.object({ items: z.array(attempt) }) } },
    },
    ...errorResponses,
  },
});

export function registerMessages(app: App) {
  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env } = c.var;
    const queued = await asCurrentOperator(c, ({ tx, tenantId }) =>
      retryFailedMessage({ tx, tenantId }, { messageId: id, now: services.clock.now() }),
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

  app.openapi(attemptsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const rows = await asCurrentOperator(c, (ctx) => listSendAttempts(ctx, id));
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
