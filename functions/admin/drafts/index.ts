import { createRoute, z } from '@hono/zod-openapi';
import { type DraftRow, getDraft, listDrafts } from '../../../db/drafts';
import { type DraftDecision, decideDraft } from '../../agent/approval';
import type { App } from '../../app';
import type { HonoEnv } from '../../context';
import { errorResponses } from '../../errors';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { decodeCursor, encodeCursor } from '../chats/view';

/**
 * `/admin/drafts`: approval reply mode. The agent's replies wait here until an operator approves
 * (sent as the agent's message, with the run's correlation id), edits (the corrected text is sent)
 * or cancels them (nothing is sent). A draft already decided — also from WhatsApp by an escalation
 * contact — answers 409 and changes nothing.
 */

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
const status = z.enum(['pending', 'approved', 'edited', 'cancelled', 'superseded']);

const draft = z
  .object({
    id: z.uuid(),
    conversation_id: z.uuid(),
    correlation_id: z.string(),
    position: z.number().int(),
    status,
    message: z.record(z.string(), z.unknown()),
    preview: z.string(),
    created_at: z.string(),
    decided_at: z.string().nullable(),
    decided_by_user_id: z.uuid().nullable(),
    decided_via: z.string().nullable(),
    sent_message_id: z.uuid().nullable(),
  })
  .openapi('AgentDraft');

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

const cursorSchema = z.object({ p: z.string(), id: z.uuid() });

const listRoute = createRoute({
  method: 'get',
  path: '/drafts',
  tags: ['drafts'],
  operationId: 'listDrafts',
  summary: "The agent's drafts (approval reply mode), newest first",
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      status: status.optional().openapi({ example: 'pending' }),
      conversation_id: z.uuid().optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().max(500).optional(),
    }),
  },
  responses: {
    200: {
      description: 'A page of drafts',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(draft), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/drafts/{id}',
  tags: ['drafts'],
  operationId: 'getDraft',
  summary: 'One draft',
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    200: { description: 'The draft', content: { 'application/json': { schema: draft } } },
    ...errorResponses,
  },
});

const decisionSummaries = {
  approve: 'Approve a draft: it is queued as the agent’s message',
  edit: 'Correct a draft’s text and send that instead',
  cancel: 'Cancel a draft: nothing is sent',
};

function decisionRoute<A extends 'approve' | 'cancel'>(action: A) {
  return createRoute({
    method: 'post',
    path: `/drafts/{id}/${action}`,
    tags: ['drafts'],
    operationId: `${action}Draft`,
    summary: decisionSummaries[action],
    security: [{ bearer: [] }],
    request: { params },
    responses: {
      200: { description: 'The decided draft', content: { 'application/json': { schema: draft } } },
      ...errorResponses,
    },
  });
}

const editRoute = createRoute({
  method: 'post',
  path: '/drafts/{id}/edit',
  tags: ['drafts'],
  operationId: 'editDraft',
  summary: decisionSummaries.edit,
  description:
    'For a draft with buttons or a list, the text replaces the message body and the options stay.',
  security: [{ bearer: [] }],
  request: {
    params,
    body: {
      content: {
        'application/json': {
          schema: z.object({ text: z.string().trim().min(1).max(4096) }).openapi('DraftEdit'),
        },
      },
      required: true,
    },
  },
  responses: {
    200: { description: 'The decided draft', content: { 'application/json': { schema: draft } } },
    ...errorResponses,
  },
});

export function registerDrafts(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const after = query.cursor ? decodeCursor(query.cursor, cursorSchema, 'cursor') : undefined;
    const rows = await asCurrentOperator(c, (ctx) =>
      listDrafts(ctx, {
        status: query.status,
        conversationId: query.conversation_id,
        limit: query.limit + 1,
        after: after ? { createdAt: after.p, id: after.id } : undefined,
      }),
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map(toDraft),
        next_cursor:
          rows.length > query.limit && last
            ? encodeCursor({ p: last.position_key, id: last.id })
            : null,
      },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await asCurrentOperator(c, (ctx) => getDraft(ctx, id));
    return c.json(toDraft(row), 200);
  });

  const decide = async (c: { var: HonoEnv['Variables'] }, id: string, decision: DraftDecision) => {
    const { services, env } = c.var;
    const decided = await asCurrentOperator(c, ({ tx, tenantId, userId }) =>
      decideDraft(
        { tx, tenantId },
        { draftId: id, decision, userId, via: 'operator_api', now: services.clock.now() },
      ),
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
