import { z } from '@hono/zod-openapi';
import { conversationLanguage } from '../../../core/agent/language';
import { ConflictError, NotFoundError } from '../../../core/errors';
import { asTenant } from '../../../db/client';
import {
  type Decision,
  METRICS_DEFAULT_DAYS,
  METRICS_MAX_DAYS,
  type OpportunityView,
  readOpportunities,
  readOpportunity,
  scanOpportunities,
  skipOpportunity,
  summarizeOpportunities,
} from '../../../db/opportunities';
import { opportunityKind, opportunityStatus } from '../../../db/schema';
import { getTenantSettings } from '../../../db/settings';
import { acceptOpportunity, sendOpportunityCards, staffLanguage } from '../../agent/follow-ups';
import { safeTimeZone } from '../../agent/instructions';
import { SCHEDULE_LOOKAHEAD_DAYS, scheduleOpportunity } from '../../agent/opportunity-schedule';
import type { App } from '../../app';
import { ApiError } from '../../errors';
import { publishJobs } from '../../lib/jobs';
import {
  asCurrentOperator,
  readAsCurrentOperator,
  requireRole,
} from '../../middleware/operator-auth';
import { channelSchema } from '../messages/view';
import { keysetCursor, operatorPage, pageOf, pageQuery } from '../paging';
import { field, fromRow, idParams, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/opportunities`: follow-ups the daily scan found (docs/follow-ups.md). Every member lists
 * them, counts them by status, skips one (recorded: who, when), has the agent draft a follow-up
 * for approval or has an appointment proposal with free times drafted (schedule); owners and admins run the scan by hand. Deciding is once: an opportunity already
 * decided answers 409 and stays as it was. The same decisions come from the staff's WhatsApp cards
 * (follow-ups.ts).
 */

const route = operatorRoutes('opportunities');

const kind = z.enum(opportunityKind.enumValues).openapi({
  description:
    'price_no_booking: asked about a price or a service and did not book; recall_due: due back for a service; no_show_or_cancelled: missed or cancelled and did not rebook; quiet_after_handoff: handed to a person and still waiting for an answer',
  example: 'price_no_booking',
});
const status = z.enum(opportunityStatus.enumValues).openapi({
  description:
    'open (waiting for a decision), skipped (nothing is sent: by staff, or refused by a sending rule), accepted (the agent is writing the follow-up), drafted (a draft waits for approval), sent, expired (nobody decided within 14 days)',
  example: 'open',
});

const opportunity = z
  .object({
    id: field.id('The opportunity'),
    contact_id: field.id('The customer'),
    contact_name: field.nullableString('The customer’s name, when known', 'María López'),
    contact_channel: channelSchema.openapi({
      description: 'Where the customer wrote from: the channel a follow-up would go on',
      example: 'whatsapp',
    }),
    conversation_id: field.id('The conversation to follow up in; null: none').nullable(),
    kind,
    evidence_id: field.id(
      'What it was found from: the message (price_no_booking, quiet_after_handoff) or the appointment (recall_due, no_show_or_cancelled)',
    ),
    evidence_text: field.string(
      'The evidence, short: the customer’s words, or the service, local time and status of the appointment',
      '¿Cuánto cuesta el tinte?',
    ),
    suggested_action: field.string(
      'What staff could do: offer_booking, offer_recall_appointment, offer_new_appointment, reply_to_customer',
      'offer_booking',
    ),
    status,
    decided_by_user_id: field.id('The operator who decided; null: open, or expired').nullable(),
    decided_at: field.nullableString('When it was decided (ISO 8601); null: open', null),
    decided_via: field.nullableString(
      'How: operator_api (the page), whatsapp:<phone> (a staff card on WhatsApp); null: open or expired',
      'operator_api',
    ),
    carded_at: field.nullableString(
      'When its card went to the staff on WhatsApp (a few per day); null: only in the page',
      null,
    ),
    draft_id: field
      .id('The agent draft written for it (drafted, sent): approve it like any draft')
      .nullable(),
    refused_code: field.nullableString(
      'Why a sending rule refused it (skipped), as a code: no_approved_template (outside the 24-hour window no approved follow-up template fits), no_marketing_opt_in (only marketing templates fit, and the customer has no recorded marketing opt-in); null: not refused, or a rule without a code (see refused_reason)',
      null,
    ),
    refused_reason: field.nullableString(
      'Why a sending rule refused it, in words (English, from its history); null: not refused',
      null,
    ),
    created_at: field.time('When the scan found it'),
  })
  .openapi('Opportunity', { description: 'A follow-up the daily scan found, for staff to decide' });

const toOpportunity = (row: Omit<OpportunityView, 'position'>) => fromRow(opportunity, row);

const counts = z.object(
  Object.fromEntries(
    opportunityKind.enumValues.map((k) => [
      k,
      z
        .number()
        .int()
        .openapi({ description: `New ${k} opportunities`, example: 1 }),
    ]),
  ) as Record<(typeof opportunityKind.enumValues)[number], z.ZodNumber>,
);

const scanResult = z
  .object({
    found: counts.openapi({
      description: 'New opportunities by kind',
      example: {
        price_no_booking: 2,
        recall_due: 1,
        no_show_or_cancelled: 0,
        quiet_after_handoff: 0,
      },
    }),
    expired: z.number().int().openapi({
      description: 'Open opportunities nobody decided on within 14 days, now expired',
      example: 0,
    }),
  })
  .openapi('OpportunityScan', { description: 'What a scan found' });

const metricCount = (description: string, example: number) =>
  z.number().int().openapi({ description, example });

/** What the follow-ups found in the period came to (db/opportunities.ts, opportunityMetrics). */
const metrics = z
  .object({
    days: metricCount('The period: the last this many days', 30),
    since: field.time('Its start: opportunities found from then on are counted'),
    found: metricCount('Opportunities the scan found in the period', 12),
    accepted: metricCount(
      'Of those, how many staff accepted (the agent was asked to write a follow-up)',
      5,
    ),
    sent: metricCount('Of those, how many follow-ups were sent', 4),
    replied: metricCount(
      'Of the sent, how many customers wrote to the business after the follow-up',
      2,
    ),
    booked: metricCount(
      'Of the sent, how many customers got an appointment created after the follow-up',
      1,
    ),
  })
  .openapi('OpportunityMetrics', {
    description:
      'The opportunities found in the period and what they came to: each counted at every step it reached, so the steps compare',
  });

const summary = z
  .object({
    by_status: z
      .object(
        Object.fromEntries(
          opportunityStatus.enumValues.map((s) => [
            s,
            z
              .number()
              .int()
              .openapi({ description: `How many are ${s}`, example: 0 }),
          ]),
        ) as Record<(typeof opportunityStatus.enumValues)[number], z.ZodNumber>,
      )
      .openapi({
        description: 'How many of the business’s opportunities are in each status (every status)',
        example: { open: 3, skipped: 1, accepted: 0, drafted: 0, sent: 0, expired: 2 },
      }),
    metrics,
  })
  .openapi('OpportunitySummary', {
    description: 'The business’s opportunities counted by status, and the period’s metrics',
  });

const listRoute = route('get', '/opportunities', {
  operationId: 'listOpportunities',
  summary: 'Follow-up opportunities, newest first',
  request: {
    query: z.object({
      status: status.optional().openapi({ description: 'Only opportunities with this status' }),
      ...pageQuery({ default: 50, max: 100 }),
    }),
  },
  responses: {
    200: jsonResponse('One page of opportunities', pageOf(opportunity, 'Newest first')),
  },
});

const summaryRoute = route('get', '/opportunities/summary', {
  operationId: 'summarizeOpportunities',
  summary:
    'How many opportunities are in each status, and how many found in the period were accepted, sent, replied to and booked',
  request: {
    query: z.object({
      days: z.coerce
        .number()
        .int()
        .min(1)
        .max(METRICS_MAX_DAYS)
        .default(METRICS_DEFAULT_DAYS)
        .openapi({
          description: `The metrics' period: the last this many days (1–${METRICS_MAX_DAYS})`,
          example: METRICS_DEFAULT_DAYS,
        }),
    }),
  },
  responses: { 200: jsonResponse('The counts by status and the metrics', summary) },
});

const scanRoute = route('post', '/opportunities/scan', {
  operationId: 'scanOpportunities',
  summary: 'Run the daily follow-up scan now (owners and admins)',
  description:
    'The scan also runs by itself every day at 08:00 in the business time zone. Running it again finds nothing twice: one opportunity per kind and evidence. Like the daily scan, it sends the staff contacts on WhatsApp cards about the newest open opportunities, at most 3 per business per local day.',
  middleware: [requireRole('owner', 'admin')] as const,
  responses: { 200: jsonResponse('What the scan found', scanResult) },
});

const draftRoute = route('post', '/opportunities/{id}/draft', {
  operationId: 'draftOpportunity',
  summary:
    'Accept an open opportunity: the agent writes a follow-up as a draft that still needs approval (409 when already decided)',
  description:
    'The opportunity becomes accepted at once; the draft is written in the background in the customer’s language and appears in the drafts (and on the staff’s WhatsApp approval card), then the opportunity is drafted. Nothing is sent to the customer until the draft is approved. A sending rule (opted out, never wrote, a follow-up within the business’s frequency cap, 7 days unless set otherwise) skips it instead, with the reason in its history.',
  request: { params: idParams },
  responses: { 200: jsonResponse('The accepted opportunity', opportunity) },
});

const scheduleRoute = route('post', '/opportunities/{id}/schedule', {
  operationId: 'scheduleOpportunity',
  summary:
    'Propose times: draft an appointment proposal with free times for an open opportunity, for approval (409 when already decided, 422 when there is nothing to propose)',
  description: `The same as "Propose times" on a staff card. No model: up to 3 free times of the opportunity's service in the next ${SCHEDULE_LOOKAHEAD_DAYS} days (its usual staff member first), in the customer's language, as a pending draft with a button per time; the opportunity is drafted at once. Nothing is sent until the draft is approved, and nothing is booked until the customer taps a time. The service comes from the evidence: the appointment's (recall_due, no_show_or_cancelled) or one the customer's message names (price_no_booking); never for quiet_after_handoff. No bookable service, or no free time: 422, and the opportunity stays open (Write a message still works). A sending rule (opted out, never wrote, a follow-up within the frequency cap) skips it instead: 200 with the skipped opportunity and refused_reason.`,
  request: { params: idParams },
  responses: {
    200: jsonResponse(
      'The drafted opportunity (draft_id: the proposal), or skipped when a sending rule refused',
      opportunity,
    ),
  },
});

const skipRoute = route('post', '/opportunities/{id}/skip', {
  operationId: 'skipOpportunity',
  summary: 'Skip an open opportunity: nothing is sent for it (409 when already decided)',
  request: { params: idParams },
  responses: { 200: jsonResponse('The skipped opportunity', opportunity) },
});

export function registerOpportunities(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await operatorPage(c, query, {
      cursor: keysetCursor,
      read: (ctx, page) => readOpportunities(ctx, { status: query.status, ...page }),
      item: toOpportunity,
    });
    return c.json(page, 200);
  });

  app.openapi(summaryRoute, async (c) => {
    const { days } = c.req.valid('query');
    const now = c.var.services.clock.now();
    const { byStatus, metrics } = await readAsCurrentOperator(c, (ctx) =>
      summarizeOpportunities(ctx, { now, days }),
    );
    return c.json({ by_status: byStatus, metrics }, 200);
  });

  app.openapi(scanRoute, async (c) => {
    const now = c.var.services.clock.now();
    const { services, env } = c.var;
    // The same as the daily job: what is new, and the staff's cards within today's budget.
    const { result, jobs } = await asCurrentOperator(c, async ({ ctx }) => {
      const scanned = await scanOpportunities(ctx, { now });
      const settings = await getTenantSettings(ctx);
      const cards = await sendOpportunityCards(ctx, { settings, now, logger: c.var.logger });
      return { result: scanned, jobs: cards };
    });
    await publishJobs(services, env, jobs);
    c.var.logger.info('opportunities scanned by hand', {
      ...result.found,
      expired: result.expired,
    });
    return c.json(result, 200);
  });

  app.openapi(draftRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env } = c.var;
    const now = services.clock.now();
    const accepted = await asCurrentOperator(c, ({ ctx, userId }) =>
      acceptOpportunity(ctx, { id, userId, via: 'operator_api', now }),
    );
    const decision = decided(accepted.decision, id);
    await publishJobs(services, env, accepted.jobs);
    return c.json(toOpportunity(decision.opportunity), 200);
  });

  app.openapi(scheduleRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env, operator, logger } = c.var;
    const now = services.clock.now();
    // Membership first, under the operator's RLS: an unknown or another business's id is a 404
    // before anything runs as the worker.
    const seen = await asCurrentOperator(c, ({ ctx }) => readOpportunity(ctx, id));
    if (!seen) throw new NotFoundError('Opportunity', id);
    // Then as a staff card's tap does: the worker role, bound to this business (the draft and its
    // approval card are the agent's work).
    const { scheduled, current } = await asTenant(services.db, operator.tenantId, async (ctx) => {
      const settings = await getTenantSettings(ctx);
      const result = await scheduleOpportunity(ctx, {
        id,
        userId: operator.userId,
        via: 'operator_api',
        now,
        settings,
        // The draft card goes to the staff on WhatsApp, in the language their opportunity cards use.
        staffLanguage: staffLanguage(settings, conversationLanguage([seen.evidenceText], 'en')),
        timeZone: safeTimeZone(settings.timeZone),
        logger,
      });
      return { scheduled: result, current: await readOpportunity(ctx, id) };
    });
    switch (scheduled.kind) {
      case 'not_found':
        throw new NotFoundError('Opportunity', id);
      case 'already_decided':
        throw new ConflictError(
          `This opportunity is already ${scheduled.status}; nothing was changed.`,
        );
      case 'no_service':
        throw new ApiError(
          'UNPROCESSABLE',
          'No bookable service is known for this opportunity, so there are no times to propose; it is still open.',
        );
      case 'no_slots':
        throw new ApiError(
          'UNPROCESSABLE',
          `There is no free time for ${scheduled.service} in the next ${SCHEDULE_LOOKAHEAD_DAYS} days; nothing was drafted and the opportunity is still open.`,
        );
      case 'drafted':
        await publishJobs(services, env, scheduled.jobs);
        break;
      case 'refused':
        break;
    }
    if (!current) throw new NotFoundError('Opportunity', id);
    return c.json(toOpportunity(current), 200);
  });

  app.openapi(skipRoute, async (c) => {
    const { id } = c.req.valid('param');
    const now = c.var.services.clock.now();
    const decision = await asCurrentOperator(c, ({ ctx, userId }) =>
      skipOpportunity(ctx, { id, userId, now }),
    );
    return c.json(toOpportunity(decided(decision, id).opportunity), 200);
  });
}

/** A decision taken, or why not: 404 (unknown or another business's), 409 (decided already). */
function decided(decision: Decision, id: string): Extract<Decision, { kind: 'decided' }> {
  if (decision.kind === 'not_found') throw new NotFoundError('Opportunity', id);
  if (decision.kind === 'already_decided') {
    throw new ConflictError(`This opportunity is already ${decision.status}; nothing was changed.`);
  }
  return decision;
}
