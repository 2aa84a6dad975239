import { z } from '@hono/zod-openapi';
import { conversationWindow, windowView } from '../../../core/messaging/window';
import type { ChatSummaryRow, MessageRow } from '../../../db/chats';
import type { Attachment } from '../../../db/schema';
import { ApiError } from '../../errors';
import { windowViewSchema } from '../messages/view';

const channel = z.enum(['whatsapp', 'messenger', 'instagram']);

export const chatSummary = z
  .object({
    id: z.uuid().openapi({ description: 'The conversation id' }),
    customer_phone: z.string().nullable().openapi({ description: 'WhatsApp only; may be absent' }),
    display_name: z.string().openapi({ description: 'Profile name, else username, phone or id' }),
    last_message: z.string().nullable().openapi({ description: 'Preview of the latest message' }),
    timestamp: z
      .string()
      .nullable()
      .openapi({ description: 'Provider time of the latest message' }),
    channel_source: channel,
    unread_count: z.number().int(),
    is_locked: z.boolean().openapi({ description: 'Human override: the bot stays quiet' }),
    platform_origin: z
      .string()
      .openapi({ description: 'The business account the chat is on (its display name)' }),
    channel_account_id: z.uuid(),
    lock_reason: z.string().nullable(),
    locked_by: z.enum(['operator', 'echo', 'escalation', 'keyword']).nullable(),
    window: windowViewSchema,
  })
  .openapi('ChatSummary');

export function toChatSummary(row: ChatSummaryRow, now: Date): z.infer<typeof chatSummary> {
  return {
    id: row.id,
    customer_phone: row.phone,
    display_name: row.name || row.username || row.phone || row.externalUserId,
    last_message: row.lastMessagePreview,
    timestamp: row.lastMessageAt?.toISOString() ?? null,
    channel_source: row.channel,
    unread_count: row.unreadCount,
    is_locked: row.isLocked,
    platform_origin: row.accountName,
    channel_account_id: row.channelAccountId,
    lock_reason: row.lockReason,
    locked_by: row.lockedBy as z.infer<typeof chatSummary>['locked_by'],
    window: windowView(conversationWindow(row.channel, row.lastInboundAt, now)),
  };
}

const attachmentView = z
  .object({
    kind: z.string(),
    mime_type: z.string().nullable(),
    caption: z.string().nullable(),
    filename: z.string().nullable(),
    provider_media_id: z.string().nullable(),
    download: z.object({
      status: z.enum(['pending', 'stored', 'failed', 'none']).openapi({
        description: 'none: nothing to download (a location, a contact card, a link)',
      }),
      reason: z.string().nullable(),
      size: z.number().int().nullable(),
    }),
    url: z
      .string()
      .nullable()
      .openapi({ description: 'Operator API path of the stored file, once downloaded' }),
    data: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('ChatAttachment');

export const chatMessage = z
  .object({
    id: z.uuid(),
    conversation_id: z.uuid(),
    direction: z.enum(['inbound', 'outbound']),
    sender: z.enum(['user', 'agent', 'operator', 'system']),
    type: z.string(),
    content: z.string().nullable(),
    timestamp: z.string().openapi({ description: 'Provider time, ISO 8601: the ordering key' }),
    attachments: z.array(attachmentView),
    correlation_id: z.string().nullable(),
    status: z.string(),
    error: z.object({ code: z.string().nullable(), reason: z.string().nullable() }).nullable(),
    reply_to: z.string().nullable().openapi({ description: 'Provider id of the quoted message' }),
    reactions: z
      .object({ customer: z.string().nullable(), business: z.string().nullable() })
      .openapi({ description: 'Current reaction of each side (null: none or removed)' }),
    deleted: z.boolean(),
    edited: z.boolean(),
  })
  .openapi('ChatMessage');

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
  };
}

/** Cursors are opaque to clients: base64url JSON, validated on the way back in. */
export function encodeCursor(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>, name: string): T {
  try {
    const binary = atob(cursor.replaceAll('-', '+').replaceAll('_', '/'));
    const text = new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    return schema.parse(JSON.parse(text));
  } catch {
    throw new ApiError('BAD_REQUEST', `${name}: not a cursor this API handed out`);
  }
}
