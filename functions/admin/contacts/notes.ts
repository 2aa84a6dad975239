import { z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import {
  addContactNote,
  type ContactNoteRow,
  deleteContactNote,
  listContactNotes,
} from '../../../db/contact-panel';
import type { App } from '../../app';
import { ApiError } from '../../errors';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import {
  EXAMPLE_ID,
  field,
  fromRow,
  idParams,
  jsonBody,
  jsonResponse,
  operatorRoutes,
} from '../route';

/**
 * `/admin/contacts/{id}/notes`: operators' private notes on a customer (never sent to them, never
 * read by the agent). Any member reads and adds; the author is always the signed-in operator, and
 * only the author deletes one.
 */

const route = operatorRoutes('contacts');

export const NOTE_MAX_CHARS = 2000;

const contactNote = z
  .object({
    id: field.id('The note'),
    contact_id: field.id('The customer it is about'),
    author_user_id: field.id('The operator who wrote it'),
    body: field.string('The note (plain text)', 'Prefers afternoon appointments'),
    created_at: field.time('When it was written'),
  })
  .openapi('ContactNote', { description: 'A private note on a customer' });

const toNote = (row: ContactNoteRow) => fromRow(contactNote, row);

const listRoute = route('get', '/contacts/{id}/notes', {
  operationId: 'listContactNotes',
  summary: "A customer's private notes, newest first",
  request: { params: idParams },
  responses: { 200: jsonResponse('Notes', itemsOf(contactNote, 'Notes, newest first')) },
});

const addRoute = route('post', '/contacts/{id}/notes', {
  operationId: 'addContactNote',
  summary: 'Add a private note on a customer, in the signed-in operator’s name',
  request: {
    params: idParams,
    body: jsonBody(
      z
        .object({
          body: z
            .string()
            .trim()
            .min(1, 'must not be empty')
            .max(NOTE_MAX_CHARS, `must be at most ${NOTE_MAX_CHARS} characters`)
            .openapi({
              description: `The note, 1–${NOTE_MAX_CHARS} characters (trimmed)`,
              example: 'Prefers afternoon appointments',
            }),
        })
        .strict()
        .openapi('ContactNoteRequest', { description: 'A note to add' }),
    ),
  },
  responses: { 201: jsonResponse('The note', contactNote) },
});

const deleteRoute = route('delete', '/contacts/{id}/notes/{note_id}', {
  operationId: 'deleteContactNote',
  summary: 'Delete a private note; only its author may',
  request: {
    params: idParams.extend({
      note_id: z.uuid().openapi({
        param: { name: 'note_id', in: 'path' },
        description: 'The note (its author deletes it)',
        example: EXAMPLE_ID,
      }),
    }),
  },
  responses: { 204: { description: 'Deleted' } },
});

export function registerContactNotes(app: App) {
  app.openapi(listRoute, async (c) => {
    const { id } = c.req.valid('param');
    const notes = await asCurrentOperator(c, ({ ctx }) => listContactNotes(ctx, id));
    if (!notes) throw new NotFoundError('Contact', id);
    return c.json({ items: notes.map(toNote) }, 200);
  });

  app.openapi(addRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { body } = c.req.valid('json');
    const note = await asCurrentOperator(c, ({ ctx, userId }) =>
      addContactNote(ctx, { contactId: id, authorUserId: userId, body }),
    );
    if (!note) throw new NotFoundError('Contact', id);
    return c.json(toNote(note), 201);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id, note_id } = c.req.valid('param');
    const outcome = await asCurrentOperator(c, ({ ctx, userId }) =>
      deleteContactNote(ctx, { contactId: id, noteId: note_id, userId }),
    );
    if (!outcome) throw new NotFoundError('Note', note_id);
    if (outcome === 'not_author') throw new ApiError('FORBIDDEN', 'Only its author deletes a note');
    return c.body(null, 204);
  });
}
