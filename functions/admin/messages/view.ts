import { z } from '@hono/zod-openapi';
import { windowView } from '../../../core/messaging/window';
import type { MessageRow, QueuedOutbound } from '../../../db/outbound';
import type { Attachment } from '../../../db/schema';
import { EXAMPLE_TIME, field, jsonResponse } from '../route';

/**
 * The views the messaging routes share: the one message shape (the chat thread, the send answers
 * and the retries all return it), the messaging window, and the 202 answer of every send.
 */

export const channelSchema = z.enum(['whatsapp', 'messenger', 'instagram', 'web']);

export const lockSourceSchema = z.enum(['operator', 'echo', 'escalation', 'keyword']);

export const windowViewSchema = z
  .object({
    open: field.boolean('Whether free-form messages may be sent now', true),
    closes_at: field.nullableString(
      'When the window closes (ISO 8601); null when the customer never wrote',
      EXAMPLE_TIME,
    ),
    human_agent_until: field.nullableString(
      'Messenger / Instagram: until when an operator may still reply with the Human Agent tag ' +
        '(ISO 8601); null on WhatsApp or when it has passed',
      null,
    ),
  })
  .openapi('MessagingWindow', {
    description:
      "The customer-service window: free-form messages only while open (24 h after the customer's last message); Messenger / Instagram operators may reply with the Human Agent tag until human_agent_until.",
  });

const attachmentView = z
  .object({
    kind: field.string(
      'image, audio, video, document, sticker, file, location, contacts or other (a link preview, …)',
      'image',
    ),
    mime_type: field.nullableString('The file type, when known', 'image/jpeg'),
    caption: field.nullableString('The caption sent with it', 'Our menu'),
    filename: field.nullableString('A document’s file name', 'invoice-4521.pdf'),
    provider_media_id: field.nullableString(
      "Meta's id of the media, when it was sent or received by id",
      '1234567890123456',
    ),
    download: z
      .object({
        status: z.enum(['pending', 'stored', 'failed', 'none']).openapi({
          description:
            'pending: not downloaded yet; stored: see url; failed: see reason; ' +
            'none: nothing to download (a location, a contact card, a link)',
          example: 'stored',
        }),
        reason: field.nullableString('Why the download failed', null),
        size: z
          .number()
          .int()
          .nullable()
          .openapi({ description: 'Size of the stored file in bytes', example: 48213 }),
      })
      .openapi({
        description: 'Whether we hold a copy of the file',
        example: { status: 'stored', reason: null, size: 48213 },
      }),
    url: field.nullableString(
      'Operator API path of the stored file, once downloaded',
      '/admin/media/0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60/0',
    ),
    data: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({
        description: 'Kind-specific details: a location’s coordinates, a contact card, …',
        example: { latitude: 40.4168, longitude: -3.7038, name: 'Puerta del Sol' },
      }),
  })
  .openapi('ChatAttachment', { description: 'A file or other attachment of a message' });

/** What Meta (or our own checks) answered when a send did not succeed. */
export const sendErrorSchema = z.object({
  code: field.nullableString("Meta's error code, or ours", '131047'),
  reason: field.nullableString(
    'What went wrong, in words an operator can act on',
    'More than 24 hours have passed since the customer last replied',
  ),
});

export const chatMessage = z
  .object({
    id: field.id('The message id'),
    conversation_id: field.id('The conversation it belongs to'),
    direction: z.enum(['inbound', 'outbound']).openapi({
      description: 'inbound: from the customer; outbound: from the business',
      example: 'outbound',
    }),
    sender: z.enum(['user', 'agent', 'operator', 'system']).openapi({
      description: 'Who wrote it: user (the customer), agent (the AI), operator or system',
      example: 'operator',
    }),
    type: field.string(
      'The message kind: text, image, buttons, list, template, reaction, …',
      'text',
    ),
    content: field.nullableString(
      'The text (or a summary of a non-text message); null when there is none',
      'Hello! Your appointment is confirmed.',
    ),
    timestamp: field.time(
      'Provider time; for a message we send, its send slot. The ordering key of a thread',
    ),
    attachments: z
      .array(attachmentView)
      .openapi({ description: 'Files and other attachments, in order' }),
    correlation_id: field.nullableString(
      'The agent run that caused it (see GET /admin/logs/ai/{correlation_id})',
      'turn-0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
    ),
    status: field.string(
      'received (inbound); queued, sending, sent, delivered, read, failed or cancelled (outbound)',
      'delivered',
    ),
    error: sendErrorSchema.nullable().openapi({
      description: 'Why sending failed (status failed); null otherwise',
      example: null,
    }),
    reply_to: field.nullableString(
      'Provider id of the quoted message',
      'wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQUI0',
    ),
    reactions: z
      .object({
        customer: field.nullableString("The customer's reaction (an emoji)", '👍'),
        business: field.nullableString('Our reaction (an emoji)', null),
      })
      .openapi({
        description: 'Current reaction of each side (null: none or removed)',
        example: { customer: '👍', business: null },
      }),
    deleted: field.boolean('The customer deleted it (content is kept)', false),
    edited: field.boolean('The customer edited it (content is the latest)', false),
    simulated: field.boolean('Sent with live sending off: it never reached Meta', false),
    choices: z
      .array(
        z.object({
          title: field.string('What the button or row says', 'Tomorrow 10:00'),
          description: field.nullableString("A list row's second line", null),
        }),
      )
      .nullable()
      .openapi({
        description:
          'The reply buttons, quick replies or list rows of an interactive message we sent ' +
          '(buttons, quick_replies, list), in ' +
          "order; null for other messages. A customer's tap arrives as its own inbound message " +
          '(type interactive or button) whose content is the title tapped.',
        example: [
          { title: 'Approve', description: null },
          { title: 'Cancel', description: null },
        ],
      }),
  })
  .openapi('ChatMessage', {
    description: 'A message of a conversation, either way, with its delivery state',
  });

function downloadOf(attachment: Attachment) {
  const download = attachment.data?.download;
  const state = typeof download === 'object' && download !== null ? download : {};
  const status = Reflect.get(state, 'status');
  const reason = Reflect.get(state, 'reason');
  const size = Reflect.get(state, 'size');
  const downloadable =
    ['image', 'audio', 'video', 'document', 'sticker', 'file'].includes(attachment.kind) &&
    Boolean(attachment.providerMediaId || attachment.url);
  return {
    status: attachment.storageKey
      ? ('stored' as const)
      : status === 'failed'
        ? ('failed' as const)
        : downloadable
          ? ('pending' as const)
          : ('none' as const),
    reason: typeof reason === 'string' ? reason : null,
    size: typeof size === 'number' ? size : null,
  };
}

function reactionOf(payload: Record<string, unknown>, side: 'customer' | 'business') {
  const reactions = payload.reactions;
  if (typeof reactions !== 'object' || reactions === null) return null;
  const value = Reflect.get(reactions, side);
  const emoji = typeof value === 'object' && value !== null ? Reflect.get(value, 'emoji') : null;
  return typeof emoji === 'string' ? emoji : null;
}

export function toChatMessage(row: MessageRow): z.infer<typeof chatMessage> {
  return {
    id: row.id,
    conversation_id: row.conversationId,
    direction: row.direction,
    sender: row.sender,
    type: row.type,
    content: row.content,
    timestamp: row.providerTimestamp.toISOString(),
    attachments: row.attachments.map((a, index) => {
      const { download: _download, ...data } = a.data ?? {};
      return {
        kind: a.kind,
        mime_type: a.mimeType ?? null,
        caption: a.caption ?? null,
        filename: a.filename ?? null,
        provider_media_id: a.providerMediaId ?? null,
        download: downloadOf(a),
        url: a.storageKey ? `/admin/media/${row.id}/${index}` : null,
        data: Object.keys(data).length > 0 ? data : null,
      };
    }),
    correlation_id: row.correlationId,
    status: row.status,
    error:
      row.status === 'failed' && (row.errorCode || row.errorReason)
        ? { code: row.errorCode, reason: row.errorReason }
        : null,
    reply_to: row.replyToProviderMessageId,
    reactions: {
      customer: reactionOf(row.payload, 'customer'),
      business: reactionOf(row.payload, 'business'),
    },
    deleted: row.payload.deleted !== undefined,
    edited: row.payload.edited !== undefined,
    simulated: row.payload.simulated === true,
    choices: choicesOf(row),
  };
}

/** The buttons, quick replies or list rows of an interactive message we sent, as stored. */
function choicesOf(row: MessageRow) {
  const message = row.payload.message;
  if (row.direction !== 'outbound' || typeof message !== 'object' || message === null) return null;
  const key = { buttons: 'buttons', quick_replies: 'quick_replies', list: 'sections' }[
    row.type as 'buttons' | 'quick_replies' | 'list'
  ];
  const value = key ? Reflect.get(message, key) : null;
  if (!Array.isArray(value)) return null;
  const records = (items: unknown[]) =>
    items.filter((item): item is Record<string, unknown> => typeof item === 'object' && !!item);
  // A list's rows are inside its sections.
  const items =
    row.type === 'list' ? records(value).flatMap((s) => records([s.rows].flat())) : records(value);
  return items.flatMap(({ title, description }) =>
    typeof title === 'string'
      ? [{ title, description: typeof description === 'string' ? description : null }]
      : [],
  );
}

const queuedMessage = z
  .object({
    message: chatMessage,
    not_before: field.time('Earliest send time (messages to one customer are spaced)'),
    window: windowViewSchema,
  })
  .openapi('QueuedMessage', { description: 'A message queued for sending, and when it may go' });

/** The 202 answer of every route that queues a send. */
export const queuedResponses = {
  202: jsonResponse('Queued', queuedMessage),
} as const;

export function toQueuedView(queued: QueuedOutbound): z.infer<typeof queuedMessage> {
  return {
    message: toChatMessage(queued.message),
    not_before: queued.notBefore.toISOString(),
    window: windowView(queued.window),
  };
}
