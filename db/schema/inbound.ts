import { sql } from 'drizzle-orm';
import { index, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { channelAccounts } from './channels';
import { at, createdAt, parentRef } from './columns';
import { messageStatus, messages } from './conversations';
import { tenantTable } from './tenants';

/**
 * Every delivery status Meta reported for a message we sent, kept as received: the audit trail of
 * how a message went sent → delivered → read (or failed, and why). It is also the waiting room for
 * statuses that arrive before the send job has recorded the provider message id (Meta posts them
 * immediately): such a row stays with `applied_at` null until `applyPendingStatuses` finds its
 * message (db/statuses.ts).
 *
 * Messenger reports reads and deliveries as a watermark ("everything up to this time") for a user
 * rather than per message: those rows have no provider message id and carry `watermark` and
 * `recipient_id` instead.
 */
export const messageStatusEvents = tenantTable(
  'message_status_events',
  'read-only',
  {
    channelAccountId: parentRef('channel_account_id', () => channelAccounts.id),
    /** wamid / mid of the message the status is about; null for watermark events. */
    providerMessageId: text('provider_message_id'),
    /** The customer: wa_id or BSUID on WhatsApp, PSID / IGSID on Messenger and Instagram. */
    recipientId: text('recipient_id'),
    /** As Meta named it: sent, delivered, read, played, failed. */
    providerStatus: text('provider_status').notNull(),
    /** What it means for our message (played counts as read). */
    status: messageStatus('status').notNull(),
    /** Messenger: every message sent up to this time is delivered / read. */
    watermark: at('watermark'),
    providerTimestamp: at('provider_timestamp').notNull(),
    errorCode: text('error_code'),
    errorTitle: text('error_title'),
    errorDetails: text('error_details'),
    /** The plain-language explanation shown to operators. */
    errorReason: text('error_reason'),
    /** The status object as Meta sent it (pricing, conversation, …). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    webhookEventId: uuid('webhook_event_id'),
    messageId: uuid('message_id').references(() => messages.id, { onDelete: 'set null' }),
    /** Null while the status waits for its message. */
    appliedAt: at('applied_at'),
    createdAt: createdAt(),
  },
  (t) => [
    // Meta resends statuses: one row per message and status is the dedupe key.
    uniqueIndex('message_status_events_once')
      .on(t.channelAccountId, t.providerMessageId, t.providerStatus)
      .where(sql`${t.providerMessageId} is not null`),
    uniqueIndex('message_status_events_watermark_once')
      .on(t.channelAccountId, t.recipientId, t.providerStatus, t.watermark)
      .where(sql`${t.providerMessageId} is null`),
    index('message_status_events_pending')
      .on(t.channelAccountId, t.providerMessageId)
      .where(sql`${t.appliedAt} is null`),
  ],
);
