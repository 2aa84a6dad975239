import { z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import {
  assignConversation,
  type ConversationTags,
  setConversationLabels,
} from '../../../db/contact-panel';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { field, idParams, jsonBody, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/conversations/{id}/labels` and `/assignee`: how operators sort their work, from the
 * contact panel. The chat list shows both (`labels`, `assigned_user_id` on each chat).
 */

const route = operatorRoutes('conversations');

export const MAX_LABELS = 10;
export const LABEL_MAX_CHARS = 32;

const label = z
  .string()
  .trim()
  .min(1, 'a label must not be empty')
  .max(LABEL_MAX_CHARS, `a label must be at most ${LABEL_MAX_CHARS} characters`)
  .openapi({ description: `A label, 1–${LABEL_MAX_CHARS} characters`, example: 'vip' });

/**
 * The labels as stored: inner runs of whitespace made one space, and each label once (the first
 * spelling wins over later ones differing only in case).
 */
export function normalizeLabels(labels: string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const raw of labels) {
    const tidy = raw.replace(/\s+/g, ' ');
    const key = tidy.toLocaleLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(tidy);
  }
  return kept;
}

const conversationTags = z
  .object({
    id: field.id('The conversation'),
    labels: z.array(label).openapi({ description: 'Its labels', example: ['vip', 'billing'] }),
    assigned_user_id: field.id('The operator it is assigned to; null: nobody').nullable(),
  })
  .openapi('ConversationTags', { description: "A conversation's labels and assignee" });

const toTags = (row: ConversationTags): z.infer<typeof conversationTags> => ({
  id: row.id,
  labels: row.labels,
  assigned_user_id: row.assignedUserId,
});

const labelsRoute = route('put', '/conversations/{id}/labels', {
  operationId: 'setConversationLabels',
  summary: "Replace a conversation's labels",
  description: `Up to ${MAX_LABELS} labels of at most ${LABEL_MAX_CHARS} characters each, trimmed; repeats (ignoring case) are kept once. An empty list removes them all.`,
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          labels: z
            .array(label)
            .max(MAX_LABELS, `at most ${MAX_LABELS} labels`)
            .openapi({ description: 'The whole new list', example: ['vip', 'billing'] }),
        })
        .strict()
        .openapi('ConversationLabels', { description: "A conversation's new labels" }),
    ),
  },
  responses: { 200: jsonResponse('The conversation', conversationTags) },
});

const assigneeRoute = route('put', '/conversations/{id}/assignee', {
  operationId: 'assignConversation',
  summary: 'Assign a conversation to an operator of the business, or to nobody',
  description:
    'The operator must be a member of this business (GET /admin/team lists them); anyone else ' +
    'is refused (400, BAD_REQUEST, saying so).',
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          user_id: field.id('The operator to assign; null: nobody').nullable(),
        })
        .strict()
        .openapi('ConversationAssignee', { description: "A conversation's new assignee" }),
    ),
  },
  responses: { 200: jsonResponse('The conversation', conversationTags) },
});

export function registerLabelsAndAssignee(app: App) {
  app.openapi(labelsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { labels } = c.req.valid('json');
    const row = await asCurrentOperator(c, ({ ctx }) =>
      setConversationLabels(ctx, id, normalizeLabels(labels)),
    );
    if (!row) throw new NotFoundError('Conversation', id);
    return c.json(toTags(row), 200);
  });

  app.openapi(assigneeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { user_id } = c.req.valid('json');
    const row = await asCurrentOperator(c, ({ ctx }) => assignConversation(ctx, id, user_id));
    if (!row) throw new NotFoundError('Conversation', id);
    return c.json(toTags(row), 200);
  });
}
