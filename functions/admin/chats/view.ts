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
    last_sender: z
      .enum(['user', 'agent', 'operator', 'system'])
      .nullable()
      .openapi({
        description:
          'Who wrote the latest message: user (the customer), agent (the AI), operator or system; ' +
          'null before the first one',
        example: 'user',
      }),
    timestamp: field.nullableString(
      'Provider time of the latest message (ISO 8601); null before the first one',
      EXAMPLE_TIME,
    ),
    last_customer_message_at: field.nullableString(
      "Provider time of the customer's latest message (ISO 8601); null before the first one",
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
    bot_enabled: field.boolean(
      'Whether the agent may answer in this chat at all (off: it stays out until turned on)',
      true,
    ),
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
    customer: z
      .object({
        name: field.nullableString('Their profile name', 'Lucía Fernández'),
        username: field.nullableString('Their Instagram username', null),
        external_user_id: field.string(
          "The channel's id for them: wa_id or BSUID on WhatsApp, PSID on Messenger, IGSID on Instagram",
          '34600000000',
        ),
        bsuid: field.nullableString("WhatsApp's business-scoped user id, when Meta sent one", null),
      })
      .openapi({
        description: "The customer's name and channel ids, for the contact panel",
        example: {
          name: 'Lucía Fernández',
          username: null,
          external_user_id: '34600000000',
          bsuid: null,
        },
      }),
    staff_name: field.nullableString(
      "A staff chat: the escalation contact (settings) whose WhatsApp number it is with, where the agent's approval cards and hand-offs go; null for a customer's chat",
      null,
    ),
    labels: z
      .array(z.string())
      .openapi({ description: "Operators' labels on the conversation", example: ['vip'] }),
    assigned_user_id: field
      .id('The operator it is assigned to (GET /admin/team names them); null: nobody')
      .nullable(),
    pending_drafts: z.number().int().openapi({
      description: "The AI's drafts waiting for approval (reply mode approval)",
      example: 0,
    }),
  })
  .openapi('ChatSummary', { description: 'A conversation as the inbox lists it' });

export function toChatSummary(row: ChatSummaryRow, now: Date): z.infer<typeof chatSummary> {
  return {
    id: row.id,
    contact_id: row.contactId,
    customer_phone: row.phone,
    display_name: row.name || row.username || row.phone || row.externalUserId,
    last_message: row.lastMessagePreview,
    last_sender: row.lastSender,
    timestamp: row.lastMessageAt?.toISOString() ?? null,
    last_customer_message_at: row.lastInboundAt?.toISOString() ?? null,
    channel_source: row.channel,
    unread_count: row.unreadCount,
    is_locked: row.isLocked,
    bot_enabled: row.botEnabled,
    platform_origin: row.accountName,
    channel_account_id: row.channelAccountId,
    lock_reason: row.lockReason,
    locked_by: row.lockedBy as z.infer<typeof chatSummary>['locked_by'],
    window: windowView(conversationWindow(row.channel, row.lastInboundAt, now)),
    customer: {
      name: row.name,
      username: row.username,
      external_user_id: row.externalUserId,
      bsuid: row.bsuid,
    },
    staff_name: row.staffName,
    labels: row.labels,
    assigned_user_id: row.assignedUserId,
    pending_drafts: row.pendingDrafts,
  };
}
