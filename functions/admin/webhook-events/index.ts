import { createRoute, z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import {
  getWebhookEvent,
  getWebhookEventSummary,
  listWebhookEvents,
  type WebhookEventSummary,
} from '../../../db/webhook-events';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';
import { afterResponse } from '../../webhooks';
import { processStoredBody } from '../../webhooks/process';
import { decodeCursor, encodeCursor } from '../chats/view';

const outcome = z.enum(['received', 'processed', 'dead']);

const webhookEvent = z
  .object({
    id: z.uuid(),
    object: z.string().nullable().openapi({ description: 'whatsapp_business_account, page, …' }),
    outcome,
    reason: z.string().nullable().openapi({ description: 'Why it is dead, and other notes' }),
    attempts: z.number().int().openapi({ description: 'How often it was processed' }),
    received_at: z.string(),
    processed_at: z.string().nullable(),
    size_bytes: z.number().int(),
  })
  .openapi('WebhookEvent');

function toView(row: Omit<WebhookEventSummary, 'position'>): z.infer<typeof webhookEvent> {
  return {
    id: row.id,
    object: row.object,
    outcome: row.outcome,
    reason: row.reason,
    attempts: row.attempts,
    received_at: row.receivedAt.toISOString(),
    processed_at: row.processedAt?.toISOString() ?? null,
    size_bytes: row.sizeBytes,
  };
}

const cursorSchema = z.object({ t: z.string().max(64), id: z.uuid() });

const listRoute = createRoute({
  method: 'get',
  path: '/webhook-events',
  tags: ['webhooks'],
  operationId: 'listWebhookEvents',
  summary: "This business's webhook deliveries, newest first (owners and admins)",
  description:
    'Dead events are bodies we kept but could not fully understand or place (unknown account, unknown shape); the reason says which part. Bodies for accounts no business owns cannot be attributed to a tenant and are not listed here.',
  security: [{ bearer: [] }],
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    query: z.object({
      outcome: outcome.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().max(512).optional(),
    }),
  },
  responses: {
    200: {
      description: 'One page of events',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(webhookEvent), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...errorResponses,
  },
});

const replayRoute = createRoute({
  method: 'post',
  path: '/webhook-events/{id}/replay',
  tags: ['webhooks'],
  operationId: 'replayWebhookEvent',
  summary: 'Process a stored webhook body again (owners and admins)',
  description:
    'Runs the stored raw body through processing again, e.g. after the missing channel account was added. Idempotent: what was already stored stays stored once.',
  security: [{ bearer: [] }],
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    params: z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) }),
  },
  responses: {
    200: {
      description: 'The event after the replay',
      content: { 'application/json': { schema: webhookEvent } },
    },
    ...errorResponses,
  },
});

export function registerWebhookEvents(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const after = query.cursor ? decodeCursor(query.cursor, cursorSchema, 'cursor') : undefined;
    const rows = await asCurrentOperator(c, ({ tx, tenantId }) =>
      listWebhookEvents(
        { tx },
        {
          tenantId,
          outcome: query.outcome,
          limit: query.limit + 1,
          after: after ? { receivedAt: after.t, id: after.id } : undefined,
        },
      ),
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map(toView),
        next_cursor:
          rows.length > query.limit && last
            ? encodeCursor({ t: last.position, id: last.id })
            : null,
      },
      200,
    );
  });

  app.openapi(replayRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env } = c.var;
    // Read under the operator's RLS: another business's event is not found, like a missing one.
    const event = await asCurrentOperator(c, ({ tx, tenantId }) =>
      getWebhookEvent({ tx }, id, tenantId),
    );
    if (!event) throw new NotFoundError('Webhook event', id);
    const result = await processStoredBody({ services, env }, event, {
      fastPath: false,
      scope: { tenantId: c.var.operator.tenantId },
    });
    afterResponse(c, env, (fresh) => publishJobs(fresh, env, result.jobs));
    const updated = await asCurrentOperator(c, ({ tx }) => getWebhookEventSummary({ tx }, id));
    if (!updated) throw new NotFoundError('Webhook event', id);
    c.var.logger.info('webhook event replayed', { eventId: id, outcome: updated.outcome });
    return c.json(toView(updated), 200);
  });
}
