import { z } from '@hono/zod-openapi';
import { consentSummary } from '../../../core/messaging/consent';
import { consentFacts, listOptIns, type OptInRow, recordConsent } from '../../../db/opt-ins';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { channelSchema } from '../messages/view';
import { field, idParams, jsonBody, jsonResponse, operatorRoutes } from '../route';
import { registerContactNotes } from './notes';

const route = operatorRoutes('contacts');

const action = z.enum(['opt_in', 'opt_out']);
const scopeState = z.enum(['opted_in', 'opted_out', 'none']);

const entryView = z.object({
  id: field.id('The ledger entry'),
  action: action.openapi({ description: 'An opt-in or an opt-out', example: 'opt_in' }),
  scope: field.string('What it covers: marketing, utility or all', 'marketing'),
  channel: channelSchema.openapi({
    description: 'The channel it was given on',
    example: 'whatsapp',
  }),
  source: field.string(
    'How it was given: web_form, paper_form, phone_call, a keyword, …',
    'web_form',
  ),
  recorded_by_user_id: field.id('The operator who recorded it; null when automatic').nullable(),
  note: field.nullableString('A note', 'Signed at the desk'),
  recorded_at: field.time('When it was recorded'),
});

const consentView = z
  .object({
    contact_id: field.id('The contact'),
    consent: z
      .object({
        opted_out_at: field.nullableString(
          'When they opted out of everything (ISO 8601); null if they did not',
          null,
        ),
        has_written: field.boolean('They have written to us (an implicit opt-in to replies)', true),
        marketing: scopeState.openapi({
          description: 'Marketing templates: opted_in is needed to send them',
          example: 'opted_in',
        }),
        utility: scopeState.openapi({ description: 'Utility messages', example: 'none' }),
      })
      .openapi({
        description: 'What the ledger allows now',
        example: { opted_out_at: null, has_written: true, marketing: 'opted_in', utility: 'none' },
      }),
    entries: z.array(entryView).openapi({
      description: 'The ledger, newest first',
      example: [
        {
          id: '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
          action: 'opt_in',
          scope: 'marketing',
          channel: 'whatsapp',
          source: 'web_form',
          recorded_by_user_id: null,
          note: null,
          recorded_at: '2025-03-14T09:26:53.589Z',
        },
      ],
    }),
  })
  .openapi('ContactConsent', { description: "A contact's consent and its ledger" });

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

/** What the ledger allows now, and the ledger itself. */
async function consentOf(ctx: Parameters<typeof consentFacts>[0], contactId: string) {
  const facts = await consentFacts(ctx, contactId);
  return {
    contact_id: contactId,
    consent: consentSummary(facts),
    entries: (await listOptIns(ctx, contactId)).map(toEntry),
  };
}

const getRoute = route('get', '/contacts/{id}/opt-ins', {
  operationId: 'getContactOptIns',
  summary: "A contact's consent: the ledger (who, channel, scope, source, when) and what it allows",
  request: { params: idParams },
  responses: { 200: jsonResponse('Consent', consentView) },
});

const postRoute = route('post', '/contacts/{id}/opt-ins', {
  operationId: 'recordContactOptIn',
  summary: 'Record an explicit opt-in or opt-out (MARKETING templates need an opt-in)',
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          action: action.openapi({
            description: 'Record an opt-in or an opt-out',
            example: 'opt_in',
          }),
          scope: z.enum(['marketing', 'utility', 'all']).openapi({
            description: 'What it covers',
            example: 'marketing',
          }),
          source: z.string().trim().min(1).max(100).openapi({
            description: 'How it was given: web_form, paper_form, phone_call, …',
            example: 'web_form',
          }),
          note: z
            .string()
            .trim()
            .max(500)
            .optional()
            .openapi({ description: 'A note for the ledger', example: 'Signed at the desk' }),
        })
        .openapi('OptInRequest', { description: 'An explicit opt-in or opt-out to record' }),
    ),
  },
  responses: { 201: jsonResponse('Recorded', consentView) },
});

export function registerContacts(app: App) {
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const view = await asCurrentOperator(c, ({ ctx }) => consentOf(ctx, id));
    return c.json(view, 200);
  });

  app.openapi(postRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const now = c.var.services.clock.now();
    const view = await asCurrentOperator(c, async ({ ctx, userId }) => {
      await recordConsent(ctx, {
        contactId: id,
        action: body.action,
        scope: body.scope,
        source: body.source,
        note: body.note ?? null,
        recordedByUserId: userId,
        now,
      });
      return consentOf(ctx, id);
    });
    return c.json(view, 201);
  });

  registerContactNotes(app);
}
