import { and, asc, eq, gte, isNull, type SQL, sql } from 'drizzle-orm';
import type { IntakeContext, TenantContext, Tx } from './client';
import {
  contacts,
  conversations,
  type MessageStatus,
  messageStatusEvents,
  messages,
  sendAttempts,
} from './schema';

/**
 * How far along a message is. A status only ever replaces a lower one, so a late `delivered`
 * never overwrites `read`, and Meta's unordered webhooks settle on the furthest state.
 *
 * `failed` sits above `sent` (Meta accepted the message, then could not deliver it) but below
 * `delivered` and `read`: Meta gives no ordering guarantee and has been seen to send `delivered`
 * after `failed`; a message the customer received or read did reach them, so that wins and the
 * error is cleared (the failure stays in message_status_events). `cancelled` (an operator stopped
 * a queued message) is final: no webhook can revive it. `received` is for inbound messages, which
 * statuses never touch.
 */
export const statusRank: Record<MessageStatus, number> = {
  received: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  failed: 4,
  delivered: 5,
  read: 6,
  cancelled: 99,
};

/** The same ranking inside SQL, so "only forward" is decided under the row lock. */
function rankSql(column: SQL | typeof messages.status): SQL {
  const cases = Object.entries(statusRank).map(([status, rank]) =>
    sql.raw(`when '${status}' then ${rank}`),
  );
  return sql`(case ${column} ${sql.join(cases, sql` `)} else 0 end)`;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

/** Meta's status names → ours. `played` (a voice note was listened to) is the strongest read. */
export function deliveryStatusOf(providerStatus: string): DeliveryStatus | null {
  switch (providerStatus) {
    case 'sent':
    case 'delivered':
    case 'read':
    case 'failed':
      return providerStatus;
    case 'played':
      return 'read';
    default:
      return null;
  }
}

/** When Meta reports a failure without any error details. */
const UNKNOWN_FAILURE = 'The message could not be delivered.';

export type StatusReport = {
  providerMessageId: string;
  /** Meta's word, kept for the audit trail (`played` stays `played`). */
  providerStatus: string;
  status: DeliveryStatus;
  timestamp: Date;
  recipientId?: string | null;
  /**
   * `reason` is the plain-language explanation for operators, worked out by the caller from
   * Meta's error table (core/messaging/graph-errors.ts) so webhooks and sends say the same thing.
   */
  error?: { code: string; title?: string | null; details?: string | null; reason: string } | null;
  payload?: Record<string, unknown>;
  webhookEventId?: string | null;
  /**
   * WhatsApp's `biz_opaque_callback_data`: our send sets it to our message id, so a status can
   * find its message even when the provider id was never recorded (see `bindUnrecordedSend`).
   */
  callbackData?: string | null;
  /**
   * Instagram's echo of our own send names no message of ours (its send API takes no metadata):
   * its text, to find the send whose answer was lost by the customer and the text.
   */
  echoText?: string | null;
};

export type StatusOutcome = 'applied' | 'pending' | 'duplicate';

/**
 * Serialises everyone who looks up or records this provider message id, for the rest of the
 * transaction: the webhook that found no message yet and the send job that is recording the id
 * cannot both miss each other (each sees the other's committed row once it holds the lock).
 */
export async function lockProviderMessage(
  { tx }: IntakeContext,
  { channelAccountId, providerMessageId }: { channelAccountId: string; providerMessageId: string },
) {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`${channelAccountId}:${providerMessageId}`}, 0))`,
  );
}

type OutboundRow = { id: string; conversationId: string; providerTimestamp: Date };

async function findOutbound(
  tx: Tx,
  channelAccountId: string,
  providerMessageId: string,
): Promise<OutboundRow | undefined> {
  const [row] = await tx
    .select({
      id: messages.id,
      conversationId: messages.conversationId,
      providerTimestamp: messages.providerTimestamp,
    })
    .from(messages)
    .where(
      and(
        eq(messages.channelAccountId, channelAccountId),
        eq(messages.providerMessageId, providerMessageId),
        eq(messages.direction, 'outbound'),
      ),
    )
    .limit(1);
  return row;
}

/** Moves one message forward to `status` (never back); returns whether it changed. */
async function moveForward(
  tx: Tx,
  messageId: string,
  status: DeliveryStatus,
  error?: { code: string | null; reason: string | null },
): Promise<boolean> {
  const errorFields =
    status === 'failed'
      ? { errorCode: error?.code ?? null, errorReason: error?.reason ?? UNKNOWN_FAILURE }
      : status === 'delivered' || status === 'read'
        ? { errorCode: null, errorReason: null }
        : {};
  const changed = await tx
    .update(messages)
    .set({ status, ...errorFields })
    .where(
      and(eq(messages.id, messageId), sql`${rankSql(messages.status)} < ${statusRank[status]}`),
    )
    .returning({ id: messages.id });
  return changed.length > 0;
}

/**
 * Records a delivery status from a webhook and applies it to its message when the message is
 * known; otherwise it waits in message_status_events for `applyPendingStatuses`. A status Meta
 * sends twice is recorded once (`duplicate`).
 */
export async function recordStatus(
  { tx, tenantId }: TenantContext,
  channelAccountId: string,
  report: StatusReport,
): Promise<StatusOutcome> {
  const errorReason = report.status === 'failed' ? (report.error?.reason ?? UNKNOWN_FAILURE) : null;
  // Sent together, in this order: the lock, then the event and the message's lookup, which the
  // server runs under it (one round trip, not three).
  const [, [event], message] = await Promise.all([
    lockProviderMessage(
      { tx },
      { channelAccountId: channelAccountId, providerMessageId: report.providerMessageId },
    ),
    tx
      .insert(messageStatusEvents)
      .values({
        tenantId,
        channelAccountId,
        providerMessageId: report.providerMessageId,
        recipientId: report.recipientId ?? null,
        providerStatus: report.providerStatus,
        status: report.status,
        providerTimestamp: report.timestamp,
        errorCode: report.error?.code ?? null,
        errorTitle: report.error?.title ?? null,
        errorDetails: report.error?.details ?? null,
        errorReason,
        payload: report.payload ?? {},
        webhookEventId: report.webhookEventId ?? null,
      })
      .onConflictDoNothing()
      .returning({ id: messageStatusEvents.id }),
    findOutbound(tx, channelAccountId, report.providerMessageId),
  ]);
  if (!event) return 'duplicate';
  if (!message) {
    const bound = await bindUnrecordedSend({ tx, tenantId }, channelAccountId, report);
    return bound ? 'applied' : 'pending';
  }
  await Promise.all([
    moveForward(tx, message.id, report.status, {
      code: report.error?.code ?? null,
      reason: errorReason,
    }),
    tx
      .update(messageStatusEvents)
      .set({ appliedAt: sql`now()`, messageId: message.id })
      .where(eq(messageStatusEvents.id, event.id)),
  ]);
  return 'applied';
}

/** The error code of a send that got no answer from Meta (set by the send job). */
export const OUTCOME_UNKNOWN = 'outcome_unknown';

const OUTCOME_LEARNED =
  'Meta did not answer in time; its status webhook showed later that the message went out.';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A status for a provider id we never recorded, whose `biz_opaque_callback_data` names one of our
 * outbound messages on this account that has no provider id yet and is still `sending` (the send
 * job died, or its database write failed, after Meta accepted it) or failed with an unknown outcome
 * (Meta did not answer in time). Meta has the message, so the provider id is bound to it, it is
 * `sent`, and this status and any others already waiting for that id are applied (forward only).
 * A claim with a provider id is never sent again, so a takeover of the claim sends nothing.
 * Runs under the provider id's lock (taken by `recordStatus`). Returns whether it bound.
 */
async function bindUnrecordedSend(
  ctx: TenantContext,
  channelAccountId: string,
  report: StatusReport,
): Promise<boolean> {
  const { tx } = ctx;
  // Any app on the number can set the field: only a well-formed id of ours is looked up.
  const messageId =
    report.callbackData && UUID.test(report.callbackData)
      ? report.callbackData
      : await echoedSend(ctx, channelAccountId, report);
  if (!messageId) return false;
  const [taken] = await tx
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.channelAccountId, channelAccountId),
        eq(messages.providerMessageId, report.providerMessageId),
      ),
    )
    .limit(1);
  if (taken) return false;
  const [bound] = await tx
    .update(messages)
    .set({
      providerMessageId: report.providerMessageId,
      status: 'sent',
      errorCode: null,
      errorReason: null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(messages.id, messageId),
        eq(messages.channelAccountId, channelAccountId),
        eq(messages.direction, 'outbound'),
        isNull(messages.providerMessageId),
        sql`(${messages.status} = 'sending' or (${messages.status} = 'failed' and ${messages.errorCode} = ${OUTCOME_UNKNOWN}))`,
      ),
    )
    .returning({ id: messages.id });
  if (!bound) return false;
  // The attempt that is (or was) waiting for Meta's answer learns it went out.
  await tx
    .update(sendAttempts)
    .set({
      outcome: 'sent',
      providerMessageId: report.providerMessageId,
      finishedAt: sql`coalesce(${sendAttempts.finishedAt}, now())`,
      errorReason: sql`case when ${sendAttempts.errorCode} = ${OUTCOME_UNKNOWN} then ${OUTCOME_LEARNED} else ${sendAttempts.errorReason} end`,
    })
    .where(
      and(
        eq(sendAttempts.messageId, bound.id),
        isNull(sendAttempts.providerMessageId),
        sql`(${sendAttempts.outcome} = 'sending' or (${sendAttempts.outcome} = 'failed' and ${sendAttempts.errorCode} = ${OUTCOME_UNKNOWN}))`,
        sql`${sendAttempts.attempt} = (select max(a.attempt) from ${sendAttempts} a where a.message_id = ${bound.id})`,
      ),
    );
  await applyPendingStatuses(ctx, channelAccountId, report.providerMessageId);
  return true;
}

/**
 * The send an Instagram echo of ours names by its customer and text: the oldest outbound message
 * to that customer on this account with exactly that text, no provider id, and still `sending`
 * or failed with an unknown outcome. Null when none (or the echo carries neither).
 */
async function echoedSend(
  { tx }: TenantContext,
  channelAccountId: string,
  report: StatusReport,
): Promise<string | null> {
  if (!report.echoText || !report.recipientId) return null;
  const [row] = await tx
    .select({ id: messages.id })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(
      and(
        eq(messages.channelAccountId, channelAccountId),
        eq(messages.direction, 'outbound'),
        isNull(messages.providerMessageId),
        eq(messages.content, report.echoText),
        eq(contacts.externalUserId, report.recipientId),
        sql`(${messages.status} = 'sending' or (${messages.status} = 'failed' and ${messages.errorCode} = ${OUTCOME_UNKNOWN}))`,
      ),
    )
    .orderBy(asc(messages.receivedAt), asc(messages.id))
    .limit(1);
  return row?.id ?? null;
}

export type WatermarkReport = {
  /** PSID of the customer whose device reports it. */
  recipientId: string;
  status: 'delivered' | 'read';
  watermark: Date;
  timestamp: Date;
  webhookEventId?: string | null;
};

/** Which stored states a watermark may move forward: only messages known to have gone out. */
function watermarkApplies(status: 'delivered' | 'read'): SQL {
  return status === 'read'
    ? sql`${messages.status} in ('sent', 'delivered')`
    : sql`${messages.status} = 'sent'`;
}

/**
 * Messenger's "everything up to `watermark` was delivered / read" for one customer: applied to the
 * outbound messages of that conversation sent by then, and kept (for messages whose provider id
 * is recorded later, see `applyPendingStatuses`). Returns how many messages moved.
 */
export async function recordWatermark(
  { tx, tenantId }: TenantContext,
  channelAccountId: string,
  report: WatermarkReport,
): Promise<number> {
  await tx
    .insert(messageStatusEvents)
    .values({
      tenantId,
      channelAccountId,
      providerMessageId: null,
      recipientId: report.recipientId,
      providerStatus: report.status,
      status: report.status,
      watermark: report.watermark,
      providerTimestamp: report.timestamp,
      webhookEventId: report.webhookEventId ?? null,
      appliedAt: sql`now()`,
    })
    .onConflictDoNothing();
  const moved = await tx
    .update(messages)
    .set({ status: report.status })
    .where(
      and(
        eq(messages.channelAccountId, channelAccountId),
        eq(messages.direction, 'outbound'),
        sql`${messages.providerTimestamp} <= ${report.watermark.toISOString()}::timestamptz`,
        watermarkApplies(report.status),
        sql`${messages.conversationId} in (
          select ${conversations.id} from ${conversations}
          join ${contacts} on ${contacts.id} = ${conversations.contactId}
          where ${conversations.channelAccountId} = ${channelAccountId}
            and ${contacts.externalUserId} = ${report.recipientId})`,
      ),
    )
    .returning({ id: messages.id });
  return moved.length;
}

/**
 * Applies the statuses that arrived before this message's provider id was known. The send job
 * (Outbound) calls it in the same transaction, right after writing `provider_message_id` (and the
 * status `sent`): Meta posts status webhooks immediately, often before that write commits. Both
 * sides take the same per-message lock, so a status is either seen here or finds the message
 * itself. Returns how many statuses were applied.
 */
export async function applyPendingStatuses(
  { tx }: TenantContext,
  channelAccountId: string,
  providerMessageId: string,
): Promise<number> {
  await lockProviderMessage(
    { tx },
    { channelAccountId: channelAccountId, providerMessageId: providerMessageId },
  );
  const message = await findOutbound(tx, channelAccountId, providerMessageId);
  if (!message) return 0;
  const pending = await tx
    .select()
    .from(messageStatusEvents)
    .where(
      and(
        eq(messageStatusEvents.channelAccountId, channelAccountId),
        eq(messageStatusEvents.providerMessageId, providerMessageId),
        isNull(messageStatusEvents.appliedAt),
      ),
    );
  const watermarks = await tx
    .select({ status: messageStatusEvents.status })
    .from(messageStatusEvents)
    .innerJoin(contacts, eq(contacts.externalUserId, messageStatusEvents.recipientId))
    .innerJoin(
      conversations,
      and(eq(conversations.contactId, contacts.id), eq(conversations.id, message.conversationId)),
    )
    .where(
      and(
        eq(messageStatusEvents.channelAccountId, channelAccountId),
        isNull(messageStatusEvents.providerMessageId),
        gte(messageStatusEvents.watermark, message.providerTimestamp),
      ),
    )
    .orderBy(asc(messageStatusEvents.createdAt));
  const ordered = [...pending].sort((a, b) => statusRank[a.status] - statusRank[b.status]);
  for (const event of ordered) {
    await moveForward(tx, message.id, event.status as DeliveryStatus, {
      code: event.errorCode,
      reason: event.errorReason,
    });
  }
  for (const mark of watermarks) {
    const status = mark.status === 'read' ? 'read' : 'delivered';
    await tx
      .update(messages)
      .set({ status })
      .where(and(eq(messages.id, message.id), watermarkApplies(status)));
  }
  if (pending.length > 0) {
    await tx
      .update(messageStatusEvents)
      .set({ appliedAt: sql`now()`, messageId: message.id })
      .where(
        and(
          eq(messageStatusEvents.channelAccountId, channelAccountId),
          eq(messageStatusEvents.providerMessageId, providerMessageId),
          isNull(messageStatusEvents.appliedAt),
        ),
      );
  }
  return pending.length + watermarks.length;
}
