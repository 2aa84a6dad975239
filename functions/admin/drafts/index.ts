import { z } from '@hono/zod-openapi';
import { type DraftRow, getDraft, listDrafts } from '../../../db/drafts';
import { type DraftDecision, decideDraft } from '../../agent/approval';
import type { App } from '../../app';
import type { HonoEnv } from '../../context';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { keysetCursor, keysetPage, pageOf, pageQuery } from '../paging';
import { EXAMPLE_ID, field, idParams, jsonBody, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/drafts`: approval reply mode. The agent's replies wait here until an operator approves
 * (sent as the agent's message, with the run's correlation id), edits (the corrected text is sent)
 * or cancels them (nothing is sent). A draft already decided — also from WhatsApp by an escalation
 * contact — answers 409 and changes nothing.
 */

const route = operatorRoutes('drafts');

const status = z.enum(['pending', 'approved', 'edited', 'cancelled', 'superseded']).openapi({
  description:
    'pending: waiting for an operator; approved / edited: sent; cancelled: not sent; ' +
    'superseded: a newer turn replaced it',
  example: 'pending',
});

const draft = z
  .object({
    id: field.id('The draft'),
    conversation_id: field.id('The conversation'),
    correlation_id: z.string().openapi({
      description: 'The agent run that wrote it',
      example: `turn-${EXAMPLE_ID}`,
    }),
    position: z
      .number()
      .int()
      .openapi({ description: "Its place among the run's replies, from 0", example: 0 }),
    status,
    message: z.record(z.string(), z.unknown()).openapi({
      description:
        'The message that will be sent (a message kind, as in POST /admin/whatsapp/send)',
      example: { type: 'text', text: 'We are open until 20:00 today.' },
    }),
    preview: field.string('Its text, for a list', 'We are open until 20:00 today.'),
    created_at: field.time('When the agent wrote it'),
    decided_at: field.nullableString('When it was decided (ISO 8601); null while pending', null),
    decided_by_user_id: field.id('The operator who decided').nullable(),
    decided_via: field.nullableString(
      'operator_api, or whatsapp (an escalation contact answered)',
      null,
    ),
    sent_message_id: field.id('The message it became, once sent').nullable(),
  })
  .openapi('AgentDraft', {
    description: "A reply of the agent waiting for an operator's decision",
  });

function toDraft(row: DraftRow): z.infer<typeof draft> {
  return {
    id: row.id,
    conversation_id: row.conversationId,
    correlation_id: row.correlationId,
    position: row.position,
    status: row.status,
    message: row.message,
    preview: row.preview,
    created_at: row.createdAt.toISOString(),
    decided_at: row.decidedAt?.toISOString() ?? null,
    decided_by_user_id: row.decidedByUserId,
    decided_via: row.decidedVia,
    sent_message_id: row.sentMessageId,
  };
}

const listRoute = route('get', '/drafts', {
  operationId: 'listDrafts',
  summary: "The agent's drafts (approval reply mode), newest first",
  request: {
    query: z.object({
      status: status.optional().openapi({ description: 'Only drafts in this state' }),
      conversation_id: field.id('Only drafts of this conversation').optional(),
      ...pageQuery({ default: 50, max: 100 }),
    }),
  },
  responses: { 200: jsonResponse('A page of drafts', pageOf(draft, 'Drafts, newest first')) },
});

const getRoute = route('get', '/drafts/{id}', {
  operationId: 'getDraft',
  summary: 'One draft',
  request: { params: idParams },
  responses: { 200: jsonResponse('The draft', draft) },
});

const decisionSummaries = {
  approve: 'Approve a draft: it is queued as the agent’s message',
  edit: 'Correct a draft’s text and send that instead',
  cancel: 'Cancel a draft: nothing is sent',
};

const decidedResponses = {
  200: jsonResponse('The decided draft', draft),
};

function decisionRoute<A extends 'approve' | 'cancel'>(action: A) {
  return route('post', `/drafts/{id}/${action}`, {
    operationId: `${action}Draft`,
    summary: decisionSummaries[action],
    request: { params: idParams },
    responses: decidedResponses,
  });
}

const editRoute = route('post', '/drafts/{id}/edit', {
  operationId: 'editDraft',
  summary: decisionSummaries.edit,
  description:
    'For a draft with buttons or a list, the text replaces the message body and the options stay.',
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          text: z.string().trim().min(1).max(4096).openapi({
            description: 'The corrected text to send',
            example: 'We are open until 21:00 today.',
          }),
        })
        .openapi('DraftEdit', { description: "An operator's correction of a draft" }),
    ),
  },
  responses: decidedResponses,
});

export function registerDrafts(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await keysetPage({
      query,
      cursor: keysetCursor,
      fetch: ({ after, limit }) =>
        asCurrentOperator(c, ({ ctx }) =>
          listDrafts(ctx, {
            status: query.status,
            conversationId: query.conversation_id,
            limit,
            after: after && { createdAt: after.p, id: after.id },
          }),
        ),
      item: toDraft,
      positionOf: (row) => ({ p: row.position_key, id: row.id }),
    });
    return c.json(page, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await asCurrentOperator(c, ({ ctx }) => getDraft(ctx, id));
    return c.json(toDraft(row), 200);
  });

  const decide = async (c: { var: HonoEnv['Variables'] }, id: string, decision: DraftDecision) => {
    const { services, env } = c.var;
    const decided = await asCurrentOperator(c, ({ ctx, userId }) =>
      decideDraft(ctx, {
        draftId: id,
        decision,
        userId,
        via: 'operator_api',
        now: services.clock.now(),
      }),
    );
    await publishJobs(services, env, decided.jobs);
    return toDraft(decided.draft);
  };

  app.openapi(decisionRoute('approve'), async (c) =>
    c.json(await decide(c, c.req.valid('param').id, { action: 'approve' }), 200),
  );
  app.openapi(decisionRoute('cancel'), async (c) =>
    c.json(await decide(c, c.req.valid('param').id, { action: 'cancel' }), 200),
  );
  app.openapi(editRoute, async (c) =>
    c.json(
      await decide(c, c.req.valid('param').id, { action: 'edit', text: c.req.valid('json').text }),
      200,
    ),
  );
}
