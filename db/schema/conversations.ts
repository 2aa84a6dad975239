import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgPolicy,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { channel, channelAccounts } from './channels';
import { at, createdAt, parentRef, timestamps, updatedAt } from './columns';
import { authenticatedRole } from './roles';
import { tenantTable } from './tenants';

/**
 * A customer as seen on one channel. `external_user_id` is what Meta keys the user by: the
 * business-scoped user id (BSUID) or, when there is none, the wa_id on WhatsApp; PSID on
 * Messenger; IGSID on Instagram. Either phone or BSUID may be missing on WhatsApp.
 */
export const contacts = tenantTable(
  'contacts',
  'read-write',
  {
    channel: channel('channel').notNull(),
    externalUserId: text('external_user_id').notNull(),
    phone: text('phone'),
    bsuid: text('bsuid'),
    name: text('name'),
    username: text('username'),
    /** What a web widget visitor left to be reached at (Meta's channels never give one). */
    email: text('email'),
    /** Set when the customer opted out of outreach; the full history is in opt_ins. */
    optedOutAt: at('opted_out_at'),
    ...timestamps(),
  },
  (t) => [
    // Ingest finds a customer by any key Meta has used for them (db/inbound.ts upsertContact):
    // one index per key, so each arm of that lookup is an index probe, not a scan of the tenant's
    // customers. The key leads and the channel trails: under RLS the planner may not use the
    // channel comparison in an index condition (enum equality is not leakproof), and with the
    // channel second it would scan every index entry of the tenant. Many customers have no phone
    // (Messenger, Instagram) or no BSUID yet. ON CONFLICT finds contacts_external by its columns,
    // whatever their order.
    unique('contacts_external').on(t.tenantId, t.externalUserId, t.channel),
    index('contacts_phone').on(t.tenantId, t.phone, t.channel).where(sql`${t.phone} is not null`),
    index('contacts_bsuid').on(t.tenantId, t.bsuid, t.channel).where(sql`${t.bsuid} is not null`),
  ],
);

/**
 * Operators' private notes on a customer: never sent, never shown to the agent. Members read and
 * add them; a note is its author's, so an operator can only write one in their own name.
 */
export const contactNotes = tenantTable(
  'contact_notes',
  'append-only',
  {
    contactId: parentRef('contact_id', () => contacts.id),
    authorUserId: uuid('author_user_id').notNull(),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    check('contact_notes_body', sql`char_length(${t.body}) between 1 and 2000`),
    // The contact panel lists a customer's notes newest first.
    index('contact_notes_contact_recent').on(t.contactId, t.createdAt.desc()),
    // Restrictive: on top of the members' append policy, the author is the signed-in operator.
    pgPolicy('contact_notes: authored by the operator', {
      as: 'restrictive',
      for: 'insert',
      to: authenticatedRole,
      withCheck: sql`${t.authorUserId} = auth.uid()`,
    }),
    // The one exception to append-only: an operator takes back their own note (nobody else's).
    pgPolicy('contact_notes: author deletes', {
      for: 'delete',
      to: authenticatedRole,
      using: sql`${t.tenantId} in (select app.member_tenant_ids()) and ${t.authorUserId} = auth.uid()`,
    }),
  ],
);

export const lockSource = pgEnum('lock_source', ['operator', 'echo', 'escalation', 'keyword']);

/** One thread: a contact talking to one of the tenant's channel accounts. */
export const conversations = tenantTable(
  'conversations',
  'read-write',
  {
    contactId: parentRef('contact_id', () => contacts.id),
    channelAccountId: parentRef('channel_account_id', () => channelAccounts.id),
    /** The human-override lock: while set, the bot neither answers nor sends. */
    isLocked: boolean('is_locked').notNull().default(false),
    lockedBy: lockSource('locked_by'),
    lockedByUserId: uuid('locked_by_user_id'),
    lockedAt: at('locked_at'),
    lockReason: text('lock_reason'),
    /** Provider time of the customer's last message: the 24-hour window is measured from it. */
    lastInboundAt: at('last_inbound_at'),
    lastMessagePreview: text('last_message_preview'),
    lastMessageAt: at('last_message_at'),
    unreadCount: integer('unread_count').notNull().default(0),
    /** The newest inbound message: a debounced agent turn for an older one is superseded. */
    latestInboundMessageId: uuid('latest_inbound_message_id'),
    /** Earliest time the next outbound message may go out (send spacing). */
    nextSendAt: at('next_send_at'),
    botEnabled: boolean('bot_enabled').notNull().default(true),
    /**
     * When the scheduled agent turn is due; null when none is waiting. The first customer message
     * of a debounce window sets it and enqueues the one turn; later ones find it set and join that
     * turn, which reads the history when it runs and clears it (docs/agent.md §1).
     */
    agentTurnDueAt: at('agent_turn_due_at'),
    /** Operators' labels (trimmed, at most 10 of 32 characters; functions/admin/conversations). */
    labels: jsonb('labels').$type<string[]>().notNull().default([]),
    /** The operator in charge; a member of the tenant (checked where it is set), or nobody. */
    assignedUserId: uuid('assigned_user_id'),
    ...timestamps(),
  },
  (t) => [
    check('conversations_labels_array', sql`jsonb_typeof(${t.labels}) = 'array'`),
    // "Assigned to me" and reassigning a departing operator's conversations.
    index('conversations_tenant_assignee')
      .on(t.tenantId, t.assignedUserId)
      .where(sql`${t.assignedUserId} is not null`),
    unique('conversations_thread').on(t.channelAccountId, t.contactId),
    // The inbox list's order (db/chats.ts listChatSummaries), id included so a keyset cursor is
    // an index condition, not a filter over every row before it. `id desc` in a query means nulls
    // first: the index says the same, or the planner would not take the order from it (ids are
    // never null, but the planner does not reason about that).
    index('conversations_tenant_recent').on(
      t.tenantId,
      t.lastMessageAt.desc().nullsLast(),
      t.id.desc().nullsFirst(),
    ),
    // `human_only`: the few conversations under human override, in the same order.
    index('conversations_tenant_recent_locked')
      .on(t.tenantId, t.lastMessageAt.desc().nullsLast(), t.id.desc().nullsFirst())
      .where(sql`${t.isLocked}`),
  ],
);

export const messageDirection = pgEnum('message_direction', ['inbound', 'outbound']);
export const messageSender = pgEnum('message_sender', ['user', 'agent', 'operator', 'system']);
export const messageStatus = pgEnum('message_status', [
  'received',
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'failed',
  'cancelled',
]);
export type MessageStatus = (typeof messageStatus.enumValues)[number];

export type Attachment = {
  kind:
    | 'image'
    | 'audio'
    | 'video'
    | 'document'
    | 'sticker'
    | 'file'
    | 'location'
    | 'contacts'
    | 'other';
  mimeType?: string;
  providerMediaId?: string;
  url?: string;
  caption?: string;
  filename?: string;
  sha256?: string;
  /** Where the downloaded bytes are kept once the media job has fetched them. */
  storageKey?: string;
  data?: Record<string, unknown>;
};

export const messages = tenantTable(
  'messages',
  'read-write',
  {
    conversationId: parentRef('conversation_id', () => conversations.id),
    channelAccountId: parentRef('channel_account_id', () => channelAccounts.id),
    direction: messageDirection('direction').notNull(),
    sender: messageSender('sender').notNull(),
    /** text, image, audio, interactive, template, reaction, … as the provider names it. */
    type: text('type').notNull(),
    content: text('content'),
    attachments: jsonb('attachments').$type<Attachment[]>().notNull().default([]),
    /** Provider-specific details kept for replay and for the agent (buttons, referral, …). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    /** wamid / mid: with channel_account_id, the durable dedupe key. Null until an outbound send is accepted. */
    providerMessageId: text('provider_message_id'),
    /** The provider's timestamp: messages are ordered by it, not by arrival. */
    providerTimestamp: at('provider_timestamp').notNull(),
    receivedAt: at('received_at').notNull().defaultNow(),
    status: messageStatus('status').notNull(),
    errorCode: text('error_code'),
    errorReason: text('error_reason'),
    correlationId: text('correlation_id'),
    replyToProviderMessageId: text('reply_to_provider_message_id'),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('messages_provider_id').on(t.channelAccountId, t.providerMessageId),
    // A thread in conversation order (provider time, then arrival, then id): its newest page.
    index('messages_conversation_time').on(
      t.conversationId,
      t.providerTimestamp,
      t.receivedAt,
      t.id,
    ),
    // A thread in change order: the inbox's delta sync (`?after=`), an empty range when idle.
    // Created by hand in migration 0006; declared here so the schema says what exists.
    index('messages_conversation_changes').on(t.conversationId, t.updatedAt, t.id),
    index('messages_correlation').on(t.tenantId, t.correlationId),
    // A business's messages by time: the dashboard's days not yet rolled up (app.dashboard_facts).
    index('messages_tenant_time').on(t.tenantId, t.providerTimestamp),
    // Outbound messages not yet settled: the stuck-send sweeper reads only these every minute.
    index('messages_in_flight')
      .on(t.updatedAt)
      .where(sql`${t.direction} = 'outbound' and ${t.status} in ('queued', 'sending')`),
  ],
);
