import { z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import { getAttachment } from '../../../db/media';
import type { App } from '../../app';
import { ApiError } from '../../errors';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { field, operatorRoutes } from '../route';

const route = operatorRoutes('chats');

const mediaRoute = route('get', '/media/{message_id}/{index}', {
  operationId: 'getMedia',
  summary: 'A file a customer sent (image, voice note, document, …), once downloaded',
  description:
    'The bytes with their content type. 404 for an unknown message or attachment; 409 while the download is pending or when it failed (the reason is in the message).',
  request: {
    params: z.object({
      message_id: field.id('The message the file came with').openapi({
        param: { name: 'message_id', in: 'path' },
      }),
      index: z
        .string()
        .regex(/^(?:[0-9]|[1-4][0-9]|50)$/, 'an attachment index (0–50)')
        .openapi({
          param: { name: 'index', in: 'path' },
          description: "The attachment's position in the message's attachments (0–50)",
          example: '0',
        }),
    }),
  },
  responses: {
    200: {
      description: 'The file',
      content: {
        'application/octet-stream': {
          schema: z.string().openapi({
            format: 'binary',
            description: 'The file as it was received',
            example: '(bytes)',
          }),
        },
      },
    },
  },
});

export function registerMedia(app: App) {
  app.openapi(mediaRoute, async (c) => {
    const { message_id: messageId } = c.req.valid('param');
    const index = Number(c.req.valid('param').index);
    // RLS decides visibility: another business's message is simply not found.
    const attachment = await asCurrentOperator(c, ({ ctx }) =>
      getAttachment(ctx, messageId, index),
    );
    if (!attachment) throw new NotFoundError('Attachment', `${messageId}/${index}`);
    if (!attachment.storageKey) {
      const download = attachment.data?.download;
      const reason =
        typeof download === 'object' && download !== null ? Reflect.get(download, 'reason') : null;
      throw new ApiError(
        'CONFLICT',
        typeof reason === 'string'
          ? `This file could not be downloaded: ${reason}`
          : 'This file has not been downloaded yet; try again shortly.',
      );
    }
    const bucket = c.var.env.MEDIA;
    if (!bucket) throw new ApiError('SERVICE_UNAVAILABLE', 'File storage is not configured.');
    const object = await bucket.get(attachment.storageKey);
    if (!object) throw new NotFoundError('Stored file', `${messageId}/${index}`);
    const headers = new Headers({
      'content-type':
        object.httpMetadata?.contentType ?? attachment.mimeType ?? 'application/octet-stream',
      'content-length': String(object.size),
      // Customers' files: never cached by shared caches, and never rendered as a page of ours.
      'cache-control': 'private, max-age=300',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    });
    if (object.httpMetadata?.contentDisposition) {
      headers.set('content-disposition', object.httpMetadata.contentDisposition);
    }
    return new Response(object.body as ReadableStream, { status: 200, headers });
  });
}
