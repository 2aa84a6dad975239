import { z } from '@hono/zod-openapi';
import {
  type CannedReply,
  createCannedReply,
  deleteCannedReply,
  listCannedReplies,
  updateCannedReply,
} from '../../../db/canned-replies';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { registerItemRoutes } from '../item-routes';
import { itemsOf } from '../paging';
import { field, fromRow, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/canned-replies`: the tenant's saved answers, which operators insert into the composer
 * (typing "/") and edit before sending. Every member reads them; owners and admins write them, as
 * they are what the whole team says.
 */

const route = operatorRoutes('canned-replies');

/** Long enough for a phrase one recognises in the picker, short enough to fit it on a phone. */
export const TITLE_MAX = 60;
/** WhatsApp's limit for a text message body. */
export const TEXT_MAX = 4096;

const doc = {
  title: { description: `What the picker shows and filters by (≤ ${TITLE_MAX})`, example: 'Hours' },
  text: {
    description: `The text inserted into the composer (≤ ${TEXT_MAX})`,
    example: 'We are open Monday to Friday, 9:00 to 20:00.',
  },
};

const title = z.string().trim().min(1).max(TITLE_MAX).openapi(doc.title);
const text = z.string().trim().min(1).max(TEXT_MAX).openapi(doc.text);

const replyInput = z
  .object({ title, text })
  .openapi('CannedReplyInput', { description: 'A new canned reply' });

const replyPatch = z
  .object({ title, text })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .openapi('CannedReplyPatch', { description: 'The fields to change; the others stay' });

const reply = z
  .object({
    id: field.id('The canned reply'),
    title: z.string().openapi(doc.title),
    text: z.string().openapi(doc.text),
    created_at: field.time('When it was written'),
    updated_at: field.time('When it last changed'),
  })
  .openapi('CannedReply', { description: 'A saved answer for the composer' });

const toReply = (row: CannedReply) => fromRow(reply, row);

// Not paged: a team keeps tens of these, and the picker filters them all as one types.
const listRoute = route('get', '/canned-replies', {
  operationId: 'listCannedReplies',
  summary: "The tenant's canned replies, by title",
  responses: { 200: jsonResponse('Every canned reply', itemsOf(reply, 'Replies, by title')) },
});

export function registerCannedReplies(app: App) {
  app.openapi(listRoute, async (c) => {
    const rows = await asCurrentOperator(c, ({ ctx }) => listCannedReplies(ctx));
    return c.json({ items: rows.map(toReply) }, 200);
  });

  registerItemRoutes(app, {
    tag: 'canned-replies',
    path: '/canned-replies',
    operation: 'CannedReply',
    thing: 'canned reply',
    schemas: { item: reply, input: replyInput, patch: replyPatch },
    summaries: {
      create: 'Add a canned reply (owners and admins)',
      update: 'Change a canned reply (owners and admins)',
      delete: 'Delete a canned reply (owners and admins)',
    },
    toItem: toReply,
    db: {
      create: (ctx, body) => createCannedReply(ctx, body),
      update: (ctx, { id }, body) => updateCannedReply(ctx, id, body),
      delete: (ctx, { id }) => deleteCannedReply(ctx, id),
    },
  });
}
