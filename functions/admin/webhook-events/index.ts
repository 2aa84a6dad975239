import { z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import {
  getWebhookEvent,
  getWebhookEventSummary,
  listWebhookEvents,
  type WebhookEventSummary,
} from '../../../db/webhook-events';
import type { App } from '../../app';

import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';
import { processStoredBody } from '../../webhooks/process';
import { keysetCursor, operatorPage, pageOf, pageQuery } from '../paging';
import { afterResponse, field, idParams, jsonResponse, operatorRoutes } from '../route';

const route = operatorRoutes('webhooks');

export const outcome = z.enum(['received', 'processed', 'dead']).openapi({
  description:
    'received: stored, not processed yet; processed: done; dead: kept, but it could not be ' +
    'fully understood or placed (see reason)',
  example: 'processed',
});

export const webhookEvent = z
  .object({
    id: field.id('The stored webhook event'),
    object: field.nullableString(
      "Meta's `object`: whatsapp_business_account, page, instagram, …",
      'whatsapp_business_account',
    ),
    outcome,
    reason: field.nullableString('Why it is dead, and other notes', null),
    attempts: z.number().int().openapi({ description: 'How often it was processed', example: 1 }),
    received_at: field.time('When Meta delivered it'),
    processed_at: field.nullableString(
      'When it was last processed (ISO 8601); null before that',
      '2025-03-14T09:26:53.912Z',
    ),
    size_bytes: z.number().int().openapi({ description: 'Size of the raw body', example: 1432 }),
  })
  .openapi('WebhookEvent', { description: 'One webhook delivery from Meta, as we stored it' });

export function toView(row: Omit<WebhookEventSummary, 'position'>): z.infer<typeof webhookEvent> {
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

const listRoute = route('get', '/webhook-events', {
  operationId: 'listWebhookEvents',
  summary: "This business's webhook deliveries, newest first (owners and admins)",
  description:
    'Dead events are bodies we kept but could not fully understand or place (unknown account, unknown shape); the reason says which part. Bodies for accounts no business owns cannot be attributed to a tenant and are not listed here.',
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    query: z.object({
      outcome: outcome.optional().openapi({ description: 'Only events with this outcome' }),
      ...pageQuery({ default: 50, max: 100 }),
    }),
  },
  responses: {
    200: jsonResponse('One page of events', pageOf(webhookEvent, 'Events, newest first')),
  },
});

const replayRoute = route('post', '/webhook-events/{id}/replay', {
  operationId: 'replayWebhookEvent',
  summary: 'Process a stored webhook body again (owners and admins)',
  description:
    'Runs the stored raw body through processing again, e.g. after the missing channel account was added. Idempotent: what was already stored stays stored once.',
  middleware: [requireRole('owner', 'admin')] as const,
  request: { params: idParams },
  responses: { 200: jsonResponse('The event after the replay', webhookEvent) },
});

export function registerWebhookEvents(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await operatorPage(c, query, {
      cursor: keysetCursor,
      list: (ctx, page) => listWebhookEvents(ctx, { outcome: query.outcome, ...page }),
      item: toView,
    });
    return c.json(page, 200);
  });

  app.openapi(replayRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env } = c.var;
    // Read under the operator's RLS: another business's event is not found, like a missing one.
    const event = await asCurrentOperator(c, ({ ctx }) => getWebhookEvent(ctx, id));
    if (!event) throw new NotFoundError('Webhook event', id);
    const result = await processStoredBody({ services, env }, event, {
      scope: { tenantId: c.var.operator.tenantId },
    });
    afterResponse(c, 'publishing the replayed jobs', (fresh) =>
      publishJobs(fresh, env, result.jobs),
    );
    const updated = await asCurrentOperator(c, ({ ctx }) => getWebhookEventSummary(ctx, id));
    if (!updated) throw new NotFoundError('Webhook event', id);
    c.var.logger.info('webhook event replayed', { eventId: id, outcome: updated.outcome });
    return c.json(toView(updated), 200);
  });
}
