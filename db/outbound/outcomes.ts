import { and, desc, eq, max, sql } from 'drizzle-orm';
import { NotFoundError } from '../../core/errors';
import { SEND_REASONS, type SendReasonCode } from '../../core/messaging/send-reasons';
import type { TenantContext } from '../client';
import { loadConversationForSend, reserveSendSlot, setConversationLock } from '../conversations';
import { markOpportunitySent } from '../opportunities';
import type { OutboxJob } from '../outbox';
import { conversations, messageStatusEvents, messages, sendAttempts } from '../schema';
import { applyPendingStatuses, lockProviderMessage, OUTCOME_UNKNOWN } from '../statuses';
import { enqueueSendJob } from './queue';

/**
 * What came of a send: what Meta answered (accepted, no answer, a transient or permanent error)
 * and the send history an operator reads. Functions take `{ tx, tenantId }` and run inside the
 * caller's tenant transaction; jobs they enqueue must be published by the caller after commit.
 */

/**
 * Meta accepted the message (or, with live sending off, we pretend it did): record the provider id
 * and apply any status webhook that arrived before it. Idempotent (the follow-up `send-accepted`
 * job may record the same id again), and it never fails because the id is already taken: an echo
 * of this very send stored first is merged into it; any other holder leaves our row `sent`
 * without the id (the attempt keeps it), so nothing retries the send.
 */
export async function recordSent(
  ctx: TenantContext,
  input: {
    messageId: string;
    attemptId: string;
    channelAccountId: string;
    providerMessageId: string;
    simulated: boolean;
    request: Record<string, unknown> | null;
    now: Date;
  },
): Promise<void> {
  let idTaken = false;
  if (!input.simulated) {
    // The lock echoes and status webhooks of this id take: whoever comes second sees the other.
    await lockProviderMessage(ctx, input);
    idTaken = !(await releaseProviderId(ctx, input));
  }
  await ctx.tx
    .update(messages)
    .set({
      status: 'sent',
      ...(idTaken ? {} : { providerMessageId: input.providerMessageId }),
      errorCode: null,
      errorReason: null,
      ...(input.simulated
        ? { payload: sql`${messages.payload} || ${JSON.stringify({ simulated: true })}::jsonb` }
        : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(messages.id, input.messageId), eq(messages.status, 'sending')));
  // Sent together: a follow-up's opportunity becomes `sent` (a no-op for every other message).
  await Promise.all([
    ctx.tx
      .update(sendAttempts)
      .set({
        outcome: input.simulated ? 'simulated' : 'sent',
        finishedAt: input.now,
        providerMessageId: input.providerMessageId,
        request: input.request,
      })
      .where(eq(sendAttempts.id, input.attemptId)),
    markOpportunitySent(ctx, input.messageId),
  ]);
  if (!input.simulated) {
    await applyPendingStatuses(ctx, input.channelAccountId, input.providerMessageId);
  }
}

/**
 * A reply in a web widget conversation: nothing carries it anywhere (the visitor's widget reads it
 * on its next poll), so it is delivered the moment it is claimed. Its provider id is our own
 * (`web:<message id>`), so the unique (account, provider id) key holds as on every channel.
 */
export async function recordWidgetDelivered(
  ctx: TenantContext,
  input: { messageId: string; attemptId: string; request: Record<string, unknown>; now: Date },
): Promise<void> {
  const providerMessageId = `web:${input.messageId}`;
  await Promise.all([
    ctx.tx
      .update(messages)
      .set({
        status: 'delivered',
        providerMessageId,
        errorCode: null,
        errorReason: null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(messages.id, input.messageId), eq(messages.status, 'sending'))),
    ctx.tx
      .update(sendAttempts)
      .set({
        outcome: 'sent',
        finishedAt: input.now,
        providerMessageId,
        request: input.request,
      })
      .where(eq(sendAttempts.id, input.attemptId)),
    markOpportunitySent(ctx, input.messageId),
  ]);
}

/**
 * Makes the provider id free for our message. A Messenger / Instagram echo of our own send that
 * was not recognised as ours (its `app_id` is not META_APP_ID) is stored as an operator's message
 * and locks the conversation; when it arrives before the send job records the id, it is merged
 * here: its statuses wait for our message again, the echo row goes, and a lock it set is lifted.
 * Returns false when the id is held by something that is not such an echo (left as it is).
 */
async function releaseProviderId(
  ctx: TenantContext,
  input: { messageId: string; channelAccountId: string; providerMessageId: string; now: Date },
): Promise<boolean> {
  const [holder] = await ctx.tx
    .select({
      id: messages.id,
      direction: messages.direction,
      sender: messages.sender,
      conversationId: messages.conversationId,
    })
    .from(messages)
    .where(
      and(
        eq(messages.channelAccountId, input.channelAccountId),
        eq(messages.providerMessageId, input.providerMessageId),
      ),
    )
    .limit(1);
  if (!holder || holder.id === input.messageId) return true;
  if (holder.direction !== 'outbound' || holder.sender !== 'operator') return false;
  await ctx.tx
    .update(messageStatusEvents)
    .set({ appliedAt: null, messageId: null })
    .where(eq(messageStatusEvents.messageId, holder.id));
  await ctx.tx.delete(messages).where(eq(messages.id, holder.id));
  const [conversation] = await ctx.tx
    .select({
      isLocked: conversations.isLocked,
      lockedBy: conversations.lockedBy,
      lockedAt: conversations.lockedAt,
    })
    .from(conversations)
    .where(eq(conversations.id, holder.conversationId))
    .for('update');
  if (!conversation?.isLocked || conversation.lockedBy !== 'echo') return true;
  // Another echo since the lock (a person really did answer from Meta's app) keeps it.
  const [otherEcho] = await ctx.tx
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, holder.conversationId),
        eq(messages.direction, 'outbound'),
        eq(messages.sender, 'operator'),
        sql`${messages.payload} ? 'echo'`,
        sql`${messages.receivedAt} >= ${(conversation.lockedAt ?? new Date(0)).toISOString()}::timestamptz`,
      ),
    )
    .limit(1);
  if (otherEcho) return true;
  await setConversationLock(ctx, {
    conversationId: holder.conversationId,
    locked: false,
    source: 'echo',
    reason: 'The reply seen from outside Switchboard was our own message.',
    now: input.now,
  });
  return true;
}

/**
 * Graph gave no answer (timeout, connection dropped after sending): Meta may have the message.
 * It is failed with OUTCOME_UNKNOWN and the reason, never resent on its own; an operator may retry
 * it, and a WhatsApp status carrying our message id (`biz_opaque_callback_data`) binds the
 * provider id to it later (db/statuses.ts). When such a status already did, the attempt is
 * recorded as sent instead. Returns which happened.
 */
export async function recordOutcomeUnknown(
  ctx: TenantContext,
  input: {
    messageId: string;
    attemptId: string;
    reason: string;
    now: Date;
    request?: Record<string, unknown> | null;
  },
): Promise<'failed' | 'already-sent'> {
  const [row] = await ctx.tx
    .select({ providerMessageId: messages.providerMessageId, status: messages.status })
    .from(messages)
    .where(eq(messages.id, input.messageId))
    .for('update');
  if (row?.providerMessageId) {
    await ctx.tx
      .update(sendAttempts)
      .set({
        outcome: 'sent',
        finishedAt: input.now,
        providerMessageId: row.providerMessageId,
        request: input.request ?? null,
      })
      .where(eq(sendAttempts.id, input.attemptId));
    return 'already-sent';
  }
  if (row?.status === 'sending') {
    await failMessage(ctx, { ...input, code: OUTCOME_UNKNOWN });
    return 'failed';
  }
  // Moved on meanwhile (an operator cancelled it, …): only this attempt's answer is recorded.
  await ctx.tx
    .update(sendAttempts)
    .set({
      outcome: 'failed',
      finishedAt: input.now,
      errorCode: OUTCOME_UNKNOWN,
      errorReason: input.reason,
      request: input.request ?? null,
    })
    .where(eq(sendAttempts.id, input.attemptId));
  return 'failed';
}

/**
 * The follow-up `send-accepted` job: records a provider id the send job could not store (its
 * database writes failed after Meta accepted the message). Safe to run more than once.
 */
export async function recordAcceptedSend(
  ctx: TenantContext,
  input: {
    messageId: string;
    attemptId: string;
    providerMessageId: string;
    request: Record<string, unknown> | null;
    now: Date;
  },
): Promise<'recorded' | 'message gone'> {
  const [row] = await ctx.tx
    .select({ channelAccountId: messages.channelAccountId })
    .from(messages)
    .where(eq(messages.id, input.messageId));
  if (!row) return 'message gone';
  await recordSent(ctx, { ...input, channelAccountId: row.channelAccountId, simulated: false });
  return 'recorded';
}

/** Why a message is cancelled: only ever an agent reply that is no longer wanted. */
export type CancelCode = Extract<SendReasonCode, 'conversation_locked' | 'superseded'>;

/**
 * Not sent, on purpose: the message is `cancelled` with the code and its reason from SEND_REASONS.
 * No attempt is recorded (nothing was tried); the message's code and reason say why.
 */
export async function cancelMessage(
  ctx: TenantContext,
  input: { messageId: string; code: CancelCode },
): Promise<void> {
  await ctx.tx
    .update(messages)
    .set({
      status: 'cancelled',
      errorCode: input.code,
      errorReason: SEND_REASONS[input.code],
      updatedAt: sql`now()`,
    })
    .where(eq(messages.id, input.messageId));
}

/** A permanent refusal or failure: the message is failed with the code and the operator's reason. */
export async function failMessage(
  ctx: TenantContext,
  input: {
    messageId: string;
    code: string;
    reason: string;
    now: Date;
    attemptId?: string;
    httpStatus?: number | null;
    request?: Record<string, unknown> | null;
  },
): Promise<void> {
  await ctx.tx
    .update(messages)
    .set({
      status: 'failed',
      errorCode: input.code,
      errorReason: input.reason,
      updatedAt: sql`now()`,
    })
    .where(eq(messages.id, input.messageId));
  const outcome = {
    outcome: 'failed' as const,
    finishedAt: input.now,
    errorCode: input.code,
    errorReason: input.reason,
    httpStatus: input.httpStatus ?? null,
    request: input.request ?? null,
  };
  if (input.attemptId) {
    await ctx.tx.update(sendAttempts).set(outcome).where(eq(sendAttempts.id, input.attemptId));
    return;
  }
  // Refused before any claim: still one line in the history, so "why" has an answer.
  const [numbered] = await ctx.tx
    .select({ last: max(sendAttempts.attempt) })
    .from(sendAttempts)
    .where(eq(sendAttempts.messageId, input.messageId));
  await ctx.tx.insert(sendAttempts).values({
    tenantId: ctx.tenantId,
    messageId: input.messageId,
    attempt: (numbered?.last ?? 0) + 1,
    startedAt: input.now,
    ...outcome,
  });
}

/**
 * Gives back a claim whose send Meta did not take: the database or the network failed before Meta
 * was called, or Meta answered an error and recording it failed. The message is `queued` again
 * and the attempt closed as a retry, so the job's next delivery claims it at once, rather than
 * finding it held until the claim is stale (and, on Messenger and Instagram, leaving it
 * `outcome_unknown` though Meta does not have it). True when it was given back.
 */
export async function releaseUnsentClaim(
  ctx: TenantContext,
  input: { messageId: string; attemptId: string; now: Date },
): Promise<boolean> {
  const released = await ctx.tx
    .update(messages)
    .set({ status: 'queued', updatedAt: sql`now()` })
    .where(and(eq(messages.id, input.messageId), eq(messages.status, 'sending')))
    .returning({ id: messages.id });
  await ctx.tx
    .update(sendAttempts)
    .set({
      outcome: 'retry',
      finishedAt: input.now,
      errorCode: 'send_interrupted',
      errorReason: SEND_REASONS.send_interrupted,
    })
    .where(and(eq(sendAttempts.id, input.attemptId), eq(sendAttempts.outcome, 'sending')));
  return released.length > 0;
}

/**
 * Fails a message only while it is still `queued` (it never reached Meta); one being sent, or
 * already settled, is left as it is. True when it was failed.
 */
export async function failQueuedMessage(
  ctx: TenantContext,
  input: { messageId: string; code: string; reason: string; now: Date },
): Promise<boolean> {
  const [row] = await ctx.tx
    .select({ status: messages.status })
    .from(messages)
    .where(eq(messages.id, input.messageId))
    .for('update');
  if (row?.status !== 'queued') return false;
  await failMessage(ctx, input);
  return true;
}

/**
 * A transient failure (or the throughput cap): the message goes back to `queued` with a new send
 * job at `earliest` or later (its next slot), keeping its place in the conversation's order.
 */
export async function requeueAfterTransient(
  ctx: TenantContext,
  input: {
    messageId: string;
    attemptId: string;
    earliest: Date;
    code: string;
    reason: string;
    now: Date;
    httpStatus?: number | null;
    request?: Record<string, unknown> | null;
  },
): Promise<{ job: OutboxJob; notBefore: Date }> {
  const [row] = await ctx.tx
    .select({ conversationId: messages.conversationId })
    .from(messages)
    .where(eq(messages.id, input.messageId));
  if (!row) throw new NotFoundError('Message', input.messageId);
  const conv = await loadConversationForSend(ctx, row.conversationId, { lock: true });
  const notBefore = await reserveSendSlot(
    ctx,
    conv.conversation,
    input.earliest,
    conv.spacingSeconds,
  );
  await ctx.tx
    .update(messages)
    .set({
      status: 'queued',
      // Shown while it waits: why it has not gone out yet.
      errorCode: input.code,
      errorReason: input.reason,
      updatedAt: sql`now()`,
    })
    .where(and(eq(messages.id, input.messageId), eq(messages.status, 'sending')));
  await ctx.tx
    .update(sendAttempts)
    .set({
      outcome: 'retry',
      finishedAt: input.now,
      retryAt: notBefore,
      errorCode: input.code,
      errorReason: input.reason,
      httpStatus: input.httpStatus ?? null,
      request: input.request ?? null,
    })
    .where(eq(sendAttempts.id, input.attemptId));
  const job = await enqueueSendJob(ctx, {
    messageId: input.messageId,
    conversationId: row.conversationId,
    notBefore,
  });
  return { job, notBefore };
}

/** The send history of a message, newest first (operator "why" view). */
export async function listSendAttempts({ tx }: TenantContext, messageId: string) {
  const [message] = await tx
    .select({ id: messages.id })
    .from(messages)
    .where(eq(messages.id, messageId));
  if (!message) throw new NotFoundError('Message', messageId);
  return tx
    .select()
    .from(sendAttempts)
    .where(eq(sendAttempts.messageId, messageId))
    .orderBy(desc(sendAttempts.attempt));
}
