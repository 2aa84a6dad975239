import { z } from '@hono/zod-openapi';
import { conversationWindow, windowView } from '../../../core/messaging/window';
import type { ChatSummaryRow } from '../../../db/chats';
import { channelSchema, lockSourceSchema, windowViewSchema } from '../messages/view';
import { EXAMPLE_TIME, field } from '../route';

export const chatSummary = z
  .object({
    id: field.id('The conversation id'),
    contact_id: field.id('The customer (their appointments are filed under it)'),
    customer_phone: field.nullableString(
      "The customer's phone number: WhatsApp only",
      '34600000000',
    ),
    display_name: field.string('Profile name, else username, phone or id', 'Lucía Fernández'),
    last_message: field.nullableString('Preview of the latest message', 'Can I book for Friday?'),
    timestamp: field.nullableString(
      'Provider time of the latest message (ISO 8601); null before the first one',
      EXAMPLE_TIME,
    ),
    channel_source: channelSchema.openapi({
      description: 'The channel the conversation is on',
      example: 'whatsapp',
    }),
    unread_count: z.number().int().openapi({
      description: 'Customer messages since an operator last read the chat',
      example: 2,
    }),
    is_locked: field.boolean('Human override: the bot stays quiet', false),
    platform_origin: field.string(
      'The business account the chat is on (its display name)',
      'Clínica Sol (WhatsApp)',
    ),
    channel_account_id: field.id('The business account the chat is on'),
    lock_reason: field.nullableString('Why it is locked, when it is', null),
    locked_by: lockSourceSchema.nullable().openapi({
      description:
        'What locked it: an operator, an echo of a reply sent from the business app, an ' +
        'escalation by the agent, or a keyword of the customer',
      example: null,
    }),
    window: windowViewSchema,
  })
  .openapi('ChatSummary', { description: 'A conversation as the inbox lists it' });

export function toChatSummary(row: ChatSummaryRow, now: Date): z.infer<typeof chatSummary> {
  return {
    id: row.id,
    contact_id: row.contactId,
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
