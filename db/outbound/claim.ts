import { and, asc, eq, lt, max, sql } from 'drizzle-orm';
import { messageSchemaFor, type OutboundMessage } from '../../core/messaging/kinds';
import type { OutboundSender, SendPermission } from '../../core/messaging/window';
import { supersededBy } from '../agent';
import type { TenantContext } from '../client';
import {
  type ConversationForSend,
  loadConversationForSend,
  reserveSendSlot,
} from '../conversations';
import type { OutboxJob } from '../outbox';
import { messages, sendAttempts } from '../schema';
import { failMessage } from './outcomes';
import { checkSendable, enqueueSendJob, type MessageRow } from './queue';

/**
 * The send job's claim: whether a queued message may go out now, and the claim that makes sure only
 * one delivery sends it. Runs inside the send job's tenant transaction; jobs it enqueues must be
 * published by the caller after commit.
 */

export type SendPlan =
  /** Nothing to do (gone, already sent / failed / cancelled), or stopped here with a recorded reason. */
  | { action: 'done'; detail: string; jobs: OutboxJob[] }
  /** Another delivery holds a fresh claim: come back later. */
  | { action: 'busy'; detail: string; jobs: OutboxJob[] }
  | {
      action: 'send';
      jobs: OutboxJob[];
      attemptId: string;
      attempt: number;
      message: OutboundMessage;
      row: MessageRow;
      conv: ConversationForSend;
      permission: SendPermission & { allowed: true };
      /** Transient failures since the last manual retry, and how many were pair-rate (131056). */
      transientFailures: number;
      pairRateFailures: number;
    };

/** Codes that put a message back in the queue without counting as a failed try. */
const NOT_A_FAILURE = new Set(['throughput_cap']);

/**
 * The send job's first transaction: checks, then the atomic claim (queued → sending, or the
 * takeover of a claim a crash left behind). Holding the conversation row lock makes queueing,
 * claims and rescheduling of one conversation take turns.
 */
export async function prepareSend(
  ctx: TenantContext,
  input: { messageId: string; now: Date; staleClaimMs: number },
): Promise<SendPlan> {
  const [head] = await ctx.tx
    .select({ conversationId: messages.conversationId })
    .from(messages)
    .where(and(eq(messages.id, input.messageId), eq(messages.direction, 'outbound')));
  if (!head) return { action: 'done', detail: 'message not found', jobs: [] };
  const conv = await loadConversationForSend(ctx, head.conversationId, { lock: true });
  const [row] = await ctx.tx.select().from(messages).where(eq(messages.id, input.messageId));
  // biome-ignore lint/style/noNonNullAssertion: found above, in this transaction
  const current = row!;
  if (current.providerMessageId) {
    // Meta has it already: never send twice. A claim that crashed after recording the id is closed.
    if (current.status === 'sending' || current.status === 'queued') {
      await ctx.tx
        .update(messages)
        .set({ status: 'sent', updatedAt: sql`now()` })
        .where(eq(messages.id, current.id));
    }
    return { action: 'done', detail: 'already sent', jobs: [] };
  }
  if (current.status !== 'queued' && current.status !== 'sending') {
    return { action: 'done', detail: `already ${current.status}`, jobs: [] };
  }

  const attempts = await ctx.tx
    .select()
    .from(sendAttempts)
    .where(eq(sendAttempts.messageId, current.id))
    .orderBy(asc(sendAttempts.attempt));
  const latest = attempts.at(-1);
  if (current.status === 'sending') {
    const staleBefore = new Date(input.now.getTime() - input.staleClaimMs);
    if (latest?.outcome !== 'sending' || latest.startedAt >= staleBefore) {
      return { action: 'busy', detail: 'another delivery is sending it', jobs: [] };
    }
  }

  // Order: an earlier message of this conversation still waiting goes first.
  const [earlier] = await ctx.tx
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, current.conversationId),
        eq(messages.direction, 'outbound'),
        sql`${messages.status} in ('queued', 'sending')`,
        lt(messages.providerTimestamp, current.providerTimestamp),
      ),
    )
    .limit(1);
  if (earlier) {
    const notBefore = await reserveSendSlot(ctx, conv.conversation, input.now, conv.spacingSeconds);
    const job = await enqueueSendJob(ctx, {
      messageId: current.id,
      conversationId: current.conversationId,
      notBefore,
    });
    return {
      action: 'done',
      detail: `waiting for earlier message ${earlier.id}; next try at ${notBefore.toISOString()}`,
      jobs: [job],
    };
  }

  const sender = current.sender as OutboundSender;
  if (sender === 'agent' && conv.conversation.isLocked) {
    await ctx.tx
      .update(messages)
      .set({
        status: 'cancelled',
        errorCode: 'conversation_locked',
        errorReason: 'Not sent: an operator took over the conversation before it went out.',
        updatedAt: sql`now()`,
      })
      .where(eq(messages.id, current.id));
    return { action: 'done', detail: 'cancelled: the conversation is locked', jobs: [] };
  }

  // The agent's last check (the turn checked when it started and before storing): a customer who
  // wrote again after this reply was queued gets one answer to everything from the newer turn,
  // not this one first. Replies an operator approved as drafts are theirs to send.
  const triggerId = agentTurnTrigger(current.correlationId);
  if (sender === 'agent' && triggerId && !approvedDraft(current.payload)) {
    const newer = await supersededBy(ctx, {
      id: triggerId,
      conversationId: current.conversationId,
      receivedAt: current.providerTimestamp,
    });
    if (newer) {
      await ctx.tx
        .update(messages)
        .set({
          status: 'cancelled',
          errorCode: 'superseded',
          errorReason:
            'Not sent: the customer wrote again before it went out; the agent answers the newer messages together.',
          updatedAt: sql`now()`,
        })
        .where(eq(messages.id, current.id));
      return { action: 'done', detail: `cancelled: superseded by ${newer}`, jobs: [] };
    }
  }

  const parsed = messageSchemaFor(conv.account.channel).safeParse(current.payload.message);
  const sendable = parsed.success
    ? await checkSendable(ctx, conv, parsed.data, sender, input.now, { checkWindow: true })
    : {
        ok: false as const,
        refusal: {
          code: 'invalid_message',
          reason: 'The stored message is not valid for this channel.',
        },
      };
  if (!sendable.ok) {
    await failMessage(ctx, {
      messageId: current.id,
      code: sendable.refusal.code,
      reason: sendable.refusal.reason,
      now: input.now,
    });
    return { action: 'done', detail: `refused: ${sendable.refusal.code}`, jobs: [] };
  }

  // The claim. The status guard makes it atomic: a second delivery finds nothing to update.
  if (current.status === 'queued') {
    const claimed = await ctx.tx
      .update(messages)
      .set({ status: 'sending', updatedAt: sql`now()` })
      .where(and(eq(messages.id, current.id), eq(messages.status, 'queued')))
      .returning({ id: messages.id });
    if (claimed.length === 0)
      return { action: 'busy', detail: 'claimed by another delivery', jobs: [] };
  } else {
    // biome-ignore lint/style/noNonNullAssertion: a stale `sending` attempt was found above
    const stale = latest!;
    const abandoned = await ctx.tx
      .update(sendAttempts)
      .set({
        outcome: 'abandoned',
        finishedAt: input.now,
        errorReason: 'The sending worker stopped without an answer; a new attempt took over.',
      })
      .where(and(eq(sendAttempts.id, stale.id), eq(sendAttempts.outcome, 'sending')))
      .returning({ id: sendAttempts.id });
    if (abandoned.length === 0)
      return { action: 'busy', detail: 'taken over by another delivery', jobs: [] };
  }
  const [numbered] = await ctx.tx
    .select({ last: max(sendAttempts.attempt) })
    .from(sendAttempts)
    .where(eq(sendAttempts.messageId, current.id));
  const attempt = (numbered?.last ?? 0) + 1;
  const [claim] = await ctx.tx
    .insert(sendAttempts)
    .values({
      tenantId: ctx.tenantId,
      messageId: current.id,
      attempt,
      outcome: 'sending',
      startedAt: input.now,
      messagingType: sendable.permission.messagingType
        ? [sendable.permission.messagingType, sendable.permission.tag].filter(Boolean).join(':')
        : null,
    })
    .returning({ id: sendAttempts.id });

  // Transient failures count from the last time an operator retried (a failed attempt).
  const lastFailed = attempts.findLastIndex((a) => a.outcome === 'failed');
  const sinceRetry = attempts
    .slice(lastFailed + 1)
    .filter((a) => a.outcome === 'retry' && !NOT_A_FAILURE.has(a.errorCode ?? ''));
  return {
    action: 'send',
    jobs: [],
    // biome-ignore lint/style/noNonNullAssertion: insert … returning yields the row
    attemptId: claim!.id,
    attempt,
    message: (parsed as { data: OutboundMessage }).data,
    row: { ...current, status: 'sending' },
    conv,
    permission: sendable.permission,
    transientFailures: sinceRetry.length,
    pairRateFailures: sinceRetry.filter((a) => a.errorCode === '131056').length,
  };
}

/** The customer message an agent reply answers, from the turn's correlation id (`turn-<id>`). */
function agentTurnTrigger(correlationId: string | null): string | null {
  const match = /^turn-([0-9a-f-]{36})$/.exec(correlationId ?? '');
  return match?.[1] ?? null;
}

function approvedDraft(payload: Record<string, unknown>): boolean {
  const agent = payload.agent;
  return typeof agent === 'object' && agent !== null && 'draftId' in agent;
}
