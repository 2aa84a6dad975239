import { boolean, index, integer, jsonb, pgEnum, text, unique, uuid } from 'drizzle-orm/pg-core';
import { at, parentRef } from './columns';
import { conversations, lockSource, messages } from './conversations';
import { tenantTable } from './tenants';

export const sendAttemptOutcome = pgEnum('send_attempt_outcome', [
  /** Claimed and talking to Meta (or crashed doing so: see `started_at`). */
  'sending',
  'sent',
  /** WHATSAPP_ALLOW_LIVE_SEND is off: nothing reached Meta. */
  'simulated',
  /** A transient failure: the message went back to queued with a later slot. */
  'retry',
  'failed',
  /** A claim left in `sending` by a crash, taken over by a later attempt. */
  'abandoned',
]);

/**
 * One row per try at sending an outbound message: the audit trail of the send path (what was sent,
 * what Meta said, why it was retried or failed) and the claim record. An attempt still `sending`
 * long after `started_at` is a crashed claim that a later delivery may take over, unless a
 * provider id was stored (then it was sent and is never sent again).
 */
export const sendAttempts = tenantTable(
  'send_attempts',
  'append-only',
  {
    messageId: parentRef('message_id', () => messages.id),
    /** 1, 2, … per message: the claim takes the next number, so two claims cannot share one. */
    attempt: integer('attempt').notNull(),
    outcome: sendAttemptOutcome('outcome').notNull().default('sending'),
    startedAt: at('started_at').notNull(),
    finishedAt: at('finished_at'),
    /** Meta's error code (or our own: window_closed, opted_out, …) and the operator's reason. */
    errorCode: text('error_code'),
    errorReason: text('error_reason'),
    httpStatus: integer('http_status'),
    providerMessageId: text('provider_message_id'),
    /** Messenger / Instagram: RESPONSE, or MESSAGE_TAG with the HUMAN_AGENT tag. */
    messagingType: text('messaging_type'),
    /** When a `retry` outcome is due again. */
    retryAt: at('retry_at'),
    /** The Graph request body (no credentials), for the operator's "why" view and replays. */
    request: jsonb('request').$type<Record<string, unknown>>(),
  },
  (t) => [
    unique('send_attempts_number').on(t.messageId, t.attempt),
    index('send_attempts_tenant').on(t.tenantId, t.startedAt),
  ],
);

/**
 * The history of the human-override lock: conversations hold only the current lock, and
 * unlocking would otherwise forget who locked, when and why.
 */
export const conversationLockEvents = tenantTable(
  'conversation_lock_events',
  'append-only',
  {
    conversationId: parentRef('conversation_id', () => conversations.id),
    locked: boolean('locked').notNull(),
    source: lockSource('source').notNull(),
    userId: uuid('user_id'),
    reason: text('reason'),
    at: at('at').notNull(),
  },
  (t) => [
    index('conversation_lock_events_conversation').on(t.conversationId, t.at),
    // A business's handoffs by time: the dashboard (app.dashboard_facts).
    index('conversation_lock_events_tenant_at').on(t.tenantId, t.at),
  ],
);
