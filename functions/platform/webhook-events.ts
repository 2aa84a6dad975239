import { z } from '@hono/zod-openapi';
import { NotFoundError } from '../../core/errors';
import { getUnattributedEvent, listUnattributedEvents } from '../../db/webhook-events';
import { keysetCursor, keysetPage, pageOf, pageQuery } from '../admin/paging';
import { afterResponse, field, idParams, jsonResponse, operatorRoutes } from '../admin/route';
import { outcome, toView, webhookEvent } from '../admin/webhook-events';
import type { App } from '../app';
import { publishJobs } from '../lib/jobs';
import { processStoredBody } from '../webhooks/process';
import { asCurrentPlatformOperator } from '.';

/**
 * Webhook bodies no business owns: a number or page not connected yet, or one typed wrong. A
 * business cannot see them (they name no account of theirs), so they were visible only through
 * SQL (issue 15). Platform operators list them, read one raw, and replay it once the account is
 * connected: it then lands in that business's inbox like any delivery.
 */
const route = operatorRoutes('platform');

const unattributedEvent = webhookEvent
  .extend({
    raw_body: field.string(
      'The body exactly as Meta sent it (customers’ words: handle with care)',
      '{"object":"whatsapp_business_account","entry":[]}',
    ),
    signed_for: z.array(z.uuid()).nullable().openapi({
      description:
        "The channel accounts whose own app secret signed it (a replay writes only to them); null: Meta's app secret",
      example: null,
    }),
  })
  .openapi('UnattributedWebhookEvent', { description: 'A stored body no business owns' });

const replayResult = z
  .object({
    id: field.id('The stored webhook event'),
    outcome,
    reason: field.nullableString('Why it is still dead, when it is', null),
    tenant_id: z.uuid().nullable().openapi({
      description: 'The business it now belongs to; null while no account of it is connected',
      example: null,
    }),
    stored: z.number().int().openapi({ description: 'Messages and statuses stored', example: 1 }),
  })
  .openapi('PlatformReplay', { description: 'What a replay did' });

const listRoute = route('get', '/webhook-events', {
  operationId: 'listUnattributedWebhookEvents',
  summary: 'Webhook bodies no business owns, newest first (platform operators)',
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

const getRoute = route('get', '/webhook-events/{id}', {
  operationId: 'getUnattributedWebhookEvent',
  summary: 'One body no business owns, raw (platform operators)',
  request: { params: idParams },
  responses: { 200: jsonResponse('The event', unattributedEvent) },
});

const replayRoute = route('post', '/webhook-events/{id}/replay', {
  operationId: 'replayUnattributedWebhookEvent',
  summary: 'Process a body no business owned again, e.g. after its account was connected',
  description:
    'Idempotent: what was already stored stays stored once. A body signed with accounts’ own app secret writes only to those accounts.',
  request: { params: idParams },
  responses: { 200: jsonResponse('What the replay did', replayResult) },
});

export function registerPlatformWebhookEvents(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await keysetPage({
      query,
      cursor: keysetCursor,
      fetch: ({ after, limit }) =>
        asCurrentPlatformOperator(c, (tx) =>
          listUnattributedEvents(tx, {
            outcome: query.outcome,
            limit,
            after: after && { position: after.p, id: after.id },
          }),
        ),
      item: toView,
      positionOf: (row) => ({ p: row.position, id: row.id }),
    });
    return c.json(page, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const event = await asCurrentPlatformOperator(c, (tx) => getUnattributedEvent(tx, id));
    if (!event) throw new NotFoundError('Webhook event', id);
    return c.json(
      { ...toView(event), raw_body: event.rawBody, signed_for: event.signedFor ?? null },
      200,
    );
  });

  app.openapi(replayRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env } = c.var;
    // Read under the platform operator's RLS: an event a business owns is not found here.
    const event = await asCurrentPlatformOperator(c, (tx) => getUnattributedEvent(tx, id));
    if (!event) throw new NotFoundError('Webhook event', id);
    const result = await processStoredBody({ services, env }, event, {
      scope: event.signedFor ? { channelAccountIds: new Set(event.signedFor) } : undefined,
    });
    afterResponse(c, 'publishing the replayed jobs', (fresh) =>
      publishJobs(fresh, env, result.jobs),
    );
    c.var.logger.info('unattributed webhook event replayed', {
      eventId: id,
      outcome: result.outcome,
      tenantId: result.tenantId,
    });
    return c.json(
      {
        id,
        outcome: result.outcome,
        reason: result.reason,
        tenant_id: result.tenantId,
        stored: result.counts.stored,
      },
      200,
    );
  });
}
