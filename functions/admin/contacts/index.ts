import { createRoute, z } from '@hono/zod-openapi';
import { consentSummary } from '../../../core/messaging/consent';
import { consentFacts, listOptIns, type OptInRow, recordConsent } from '../../../db/opt-ins';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { asCurrentOperator } from '../../middleware/operator-auth';

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const entryView = z.object({
  id: z.uuid(),
  action: z.enum(['opt_in', 'opt_out']),
  scope: z.string(),
  channel: z.enum(['whatsapp', 'messenger', 'instagram']),
  source: z.string(),
  recorded_by_user_id: z.uuid().nullable(),
  note: z.string().nullable(),
  recorded_at: z.string(),
});

const consentView = z
  .object({
    contact_id: z.uuid(),
    consent: z.object({
      opted_out_at: z.string().nullable(),
      has_written: z.boolean(),
      marketing: z.enum(['opted_in', 'opted_out', 'none']),
      utility: z.enum(['opted_in', 'opted_out', 'none']),
    }),
    entries: z.array(entryView),
  })
  .openapi('ContactConsent');

const toEntry = (row: OptInRow): z.infer<typeof entryView> => ({
  id: row.id,
  action: row.action,
  scope: row.scope,
  channel: row.channel,
  source: row.source,
  recorded_by_user_id: row.recordedByUserId,
  note: row.note,
  recorded_at: row.recordedAt.toISOString(),
});

const getRoute = createRoute({
  method: 'get',
  path: '/contacts/{id}/opt-ins',
  tags: ['contacts'],
  operationId: 'getContactOptIns',
  summary: "A contact's consent: the ledger (who, channel, scope, source, when) and what it allows",
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    200: { description: 'Consent', content: { 'application/json': { schema: consentView } } },
    ...errorResponses,
  },
});

const postRoute = createRoute({
  method: 'post',
  path: '/contacts/{id}/opt-ins',
  tags: ['contacts'],
  operationId: 'recordContactOptIn',
  summary: 'Record an explicit opt-in or opt-out (MARKETING templates need an opt-in)',
  security: [{ bearer: [] }],
  request: {
    params,
    body: {
      content: {
        'application/json': {
          schema: z
            .object({
              action: z.enum(['opt_in', 'opt_out']),
              scope: z.enum(['marketing', 'utility', 'all']),
              source: z.string().trim().min(1).max(100).openapi({
                description: 'How it was given: web_form, paper_form, phone_call, …',
                example: 'web_form',
              }),
              note: z.string().trim().max(500).optional(),
            })
            .openapi('OptInRequest'),
        },
      },
      required: true,
    },
  },
  responses: {
    201: { description: 'Recorded', content: { 'application/json': { schema: consentView } } },
    ...errorResponses,
  },
});

export function registerContacts(app: App) {
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const view = await asCurrentOperator(c, async (ctx) => {
      const facts = await consentFacts(ctx, id);
      return {
        contact_id: id,
        consent: consentSummary(facts),
        entries: (await listOptIns(ctx, id)).map(toEntry),
      };
    });
    return c.json(view, 200);
  });

  app.openapi(postRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const now = c.var.services.clock.now();
    const view = await asCurrentOperator(c, async ({ tx, tenantId, userId }) => {
      const ctx = { tx, tenantId };
      await recordConsent(ctx, {
        contactId: id,
        action: body.action,
        scope: body.scope,
        source: body.source,
        note: body.note ?? null,
        recordedByUserId: userId,
        now,
      });
      const facts = await consentFacts(ctx, id);
      return {
        contact_id: id,
        consent: consentSummary(facts),
        entries: (await listOptIns(ctx, id)).map(toEntry),
      };
    });
    return c.json(view, 201);
  });
}
