import { and, asc, eq, lt, max, sql } from 'drizzle-orm';
import { messageSchemaFor, type OutboundMessage } from '../../core/messaging/kinds';
import { SEND_REASONS } from '../../core/messaging/send-reasons';
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
import { cancelMessage, failMessage, recordOutcomeUnknown } from './outcomes';
import { checkSendable, enqueueSendJob, type MessageRow, type SendAttemptRow } from './queue';

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
      /** A template message's template as the provider knows it (Gupshup sends by this id). */
      providerTemplateId: string | null;
      /** Transient failures since the last manual retry, and how many were pair-rate (131056). */
      transientFailures: number;
      pairRateFailures: number;
    };

/** Codes that put a message back in the queue without counting as a failed try. */
const NOT_A_FAILURE = new Set(['throughput_cap']);

type SendTarget = { conv: ConversationForSend; row: MessageRow };
type Sendable = {
  message: OutboundMessage;
  permission: SendPermission & { allowed: true };
  providerTemplateId: string | null;
};

const done = (detail: string, jobs: OutboxJob[] = []): SendPlan => ({
  action: 'done',
  detail,
  jobs,
});
const busy = (detail: string): SendPlan => ({ action: 'busy', detail, jobs: [] });

/**
 * The send job's first transaction: checks, then the atomic claim (queued → sending, or the
 * takeover of a claim a crash left behind). Holding the conversation row lock makes queueing,
 * claims and rescheduling of one conversation take turns.
 */
export async function prepareSend(
  ctx: TenantContext,
  input: { messageId: string; now: Date; staleClaimMs: number },
): Promise<SendPlan> {
  const { now } = input;
  const target = await loadSendTarget(ctx, input.messageId);
  if (!target) return done('message not found');
  const { conv, row } = target;
  if (await alreadySent(ctx, row)) return done('already sent');
  if (row.status !== 'queued' && row.status !== 'sending') return done(`already ${row.status}`);
  const claim = await claimState(ctx, { row, now, staleClaimMs: input.staleClaimMs });
  if (claim === 'held') return busy('another delivery is sending it');
  if (claim.staleAttempt && !echoesOurId(conv.account)) {
    return notResentBlind(ctx, { row, staleAttempt: claim.staleAttempt, now });
  }

  const waiting = await waitBehindEarlier(ctx, { target, now });
  if (waiting) return waiting;
  const unwanted = await stillWanted(ctx, target);
  if (unwanted) return unwanted;
  const sendable = await sendableNow(ctx, { target, now });
  if ('action' in sendable) return sendable;

  const notTaken = await claimMessage(ctx, { row, staleAttempt: claim.staleAttempt, now });
  if (notTaken) return busy(notTaken);
  const { permission } = sendable;
  const numbered = await numberAttempt(ctx, { messageId: row.id, permission, now });
  return {
    action: 'send',
    jobs: [],
    ...numbered,
    ...sendable,
    row: { ...row, status: 'sending' },
    conv,
    ...transientFailures(claim.attempts),
  };
}

/** The message (outbound only) and its conversation, locked for the rest of the transaction. */
async function loadSendTarget(ctx: TenantContext, messageId: string): Promise<SendTarget | null> {
  const [head] = await ctx.tx
    .select({ conversationId: messages.conversationId })
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.direction, 'outbound')));
  if (!head) return null;
  const conv = await loadConversationForSend(ctx, head.conversationId, { lock: true });
  const [row] = await ctx.tx.select().from(messages).where(eq(messages.id, messageId));
  return row ? { conv, row } : null;
}

/**
 * Meta has it already (it has a provider id): never send twice. A claim that crashed after
 * recording the id is closed as sent.
 */
async function alreadySent(ctx: TenantContext, row: MessageRow): Promise<boolean> {
  if (!row.providerMessageId) return false;
  if (row.status === 'sending' || row.status === 'queued') {
    await ctx.tx
      .update(messages)
      .set({ status: 'sent', updatedAt: sql`now()` })
      .where(eq(messages.id, row.id));
  }
  return true;
}

/**
 * The message's attempts so far, and for a `sending` message the claim a crashed delivery left
 * behind (older than `staleClaimMs`), to take over. `held`: another delivery's claim is fresh.
 */
async function claimState(
  ctx: TenantContext,
  input: { row: MessageRow; now: Date; staleClaimMs: number },
): Promise<'held' | { attempts: SendAttemptRow[]; staleAttempt: SendAttemptRow | null }> {
  const attempts = await ctx.tx
    .select()
    .from(sendAttempts)
    .where(eq(sendAttempts.messageId, input.row.id))
    .orderBy(asc(sendAttempts.attempt));
  if (input.row.status !== 'sending') return { attempts, staleAttempt: null };
  const latest = attempts.at(-1);
  const staleBefore = new Date(input.now.getTime() - input.staleClaimMs);
  if (latest?.outcome !== 'sending' || latest.startedAt >= staleBefore) return 'held';
  return { attempts, staleAttempt: latest };
}

/** The longest a message waiting behind an earlier one of its conversation waits between looks. */
export const MAX_WAIT_POLL_MS = 60_000;

/**
 * Order: while an earlier message of this conversation still waits, this one gets a later slot and
 * a new send job. Returns that plan, or null when nothing earlier waits.
 */
async function waitBehindEarlier(
  ctx: TenantContext,
  { target: { conv, row }, now }: { target: SendTarget; now: Date },
): Promise<SendPlan | null> {
  const [earlier] = await ctx.tx
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, row.conversationId),
        eq(messages.direction, 'outbound'),
        sql`${messages.status} in ('queued', 'sending')`,
        lt(messages.providerTimestamp, row.providerTimestamp),
      ),
    )
    .limit(1);
  if (!earlier) return null;
  // The longer it has waited, the longer it waits before looking again (half of it, at most a
  // minute): a head message held up for minutes (retries after an outage) costs its followers a
  // handful of polls, not one every few seconds (issue 15: 2,000 send jobs for 47 replies).
  const waitedMs = Math.max(0, now.getTime() - row.providerTimestamp.getTime());
  const backoffMs = Math.min(MAX_WAIT_POLL_MS, waitedMs / 2);
  const notBefore = await reserveSendSlot(
    ctx,
    conv.conversation,
    new Date(now.getTime() + backoffMs),
    conv.spacingSeconds,
  );
  const job = await enqueueSendJob(ctx, {
    messageId: row.id,
    conversationId: row.conversationId,
    notBefore,
  });
  return done(`waiting for earlier message ${earlier.id}; next try at ${notBefore.toISOString()}`, [
    job,
  ]);
}

/**
 * An agent reply is cancelled when an operator took over the conversation (the lock), or — the
 * agent's last check; the turn checked when it started and before storing — when the customer
 * wrote again after it was queued: they get one answer to everything from the newer turn, not this
 * one first. Replies an operator approved as drafts are theirs to send. Returns the plan of a
 * cancelled message, or null when it is still wanted.
 */
async function stillWanted(
  ctx: TenantContext,
  { conv, row }: SendTarget,
): Promise<SendPlan | null> {
  if (row.sender !== 'agent') return null;
  if (conv.conversation.isLocked) {
    await cancelMessage(ctx, { messageId: row.id, code: 'conversation_locked' });
    return done('cancelled: the conversation is locked');
  }
  const triggerId = agentTurnTrigger(row.correlationId);
  if (!triggerId || approvedDraft(row.payload)) return null;
  const newer = await supersededBy(ctx, {
    id: triggerId,
    conversationId: row.conversationId,
    receivedAt: row.providerTimestamp,
  });
  if (!newer) return null;
  await cancelMessage(ctx, { messageId: row.id, code: 'superseded' });
  return done(`cancelled: superseded by ${newer}`);
}

/**
 * The rules again at send time (window, template, consent), on the stored message. A refusal
 * fails the message with its reason and ends the job.
 */
async function sendableNow(
  ctx: TenantContext,
  { target: { conv, row }, now }: { target: SendTarget; now: Date },
): Promise<Sendable | SendPlan> {
  const parsed = messageSchemaFor(conv.account.channel).safeParse(row.payload.message);
  const sender = row.sender as OutboundSender;
  const sendable = parsed.success
    ? await checkSendable(ctx, conv, parsed.data, sender, now, { checkWindow: true })
    : {
        ok: false as const,
        refusal: { code: 'invalid_message', reason: SEND_REASONS.invalid_message },
      };
  if (!sendable.ok) {
    const { code, reason } = sendable.refusal;
    await failMessage(ctx, { messageId: row.id, code, reason, now });
    return done(`refused: ${code}`);
  }
  // checkSendable pinned template_id on a template message: send that one.
  return {
    message: (parsed as { data: OutboundMessage }).data,
    permission: sendable.permission,
    providerTemplateId: sendable.template?.providerTemplateId ?? null,
  };
}

/**
 * Whether the provider's statuses carry our message id back (Meta's WhatsApp
 * `biz_opaque_callback_data`, YCloud's `externalId`), so a send whose answer was lost binds when
 * its first status comes and a takeover is safe. Gupshup's do not, like Messenger and Instagram.
 */
function echoesOurId(account: ConversationForSend['account']): boolean {
  return account.channel === 'whatsapp' && account.provider !== 'gupshup';
}

/**
 * A Messenger/Instagram claim a crash left behind: Meta may have the message, and these channels
 * have no idempotency key to resend it safely, so it is not sent again. It fails with the unknown
 * outcome (an operator checks the chat and retries); on Messenger the echo of our own send
 * carries our message id (`metadata`) and binds it as sent when it comes (db/statuses.ts), as a
 * WhatsApp status does with `biz_opaque_callback_data`. WhatsApp claims are taken over and sent
 * (a status bound by the callback data stops that first).
 */
async function notResentBlind(
  ctx: TenantContext,
  input: { row: MessageRow; staleAttempt: SendAttemptRow; now: Date },
): Promise<SendPlan> {
  const outcome = await recordOutcomeUnknown(ctx, {
    messageId: input.row.id,
    attemptId: input.staleAttempt.id,
    reason: SEND_REASONS.outcome_unknown,
    now: input.now,
  });
  return done(
    outcome === 'already-sent'
      ? 'already sent (its echo named it)'
      : 'a crashed claim: Meta may have it, so it is not sent again (outcome unknown)',
  );
}

/**
 * The claim. The status guard makes it atomic: a second delivery finds nothing to update; taking
 * over a stale claim marks its attempt abandoned, guarded the same way. Returns why it was not
 * taken, or null when this delivery holds it.
 */
async function claimMessage(
  ctx: TenantContext,
  input: { row: MessageRow; staleAttempt: SendAttemptRow | null; now: Date },
): Promise<string | null> {
  if (!input.staleAttempt) {
    const claimed = await ctx.tx
      .update(messages)
      .set({ status: 'sending', updatedAt: sql`now()` })
      .where(and(eq(messages.id, input.row.id), eq(messages.status, 'queued')))
      .returning({ id: messages.id });
    return claimed.length === 0 ? 'claimed by another delivery' : null;
  }
  const abandoned = await ctx.tx
    .update(sendAttempts)
    .set({
      outcome: 'abandoned',
      finishedAt: input.now,
      errorReason: SEND_REASONS.claim_abandoned,
    })
    .where(and(eq(sendAttempts.id, input.staleAttempt.id), eq(sendAttempts.outcome, 'sending')))
    .returning({ id: sendAttempts.id });
  return abandoned.length === 0 ? 'taken over by another delivery' : null;
}

/** This try's attempt row, numbered after the last one, with the messaging type it is sent with. */
async function numberAttempt(
  ctx: TenantContext,
  input: { messageId: string; permission: Sendable['permission']; now: Date },
): Promise<{ attemptId: string; attempt: number }> {
  const [numbered] = await ctx.tx
    .select({ last: max(sendAttempts.attempt) })
    .from(sendAttempts)
    .where(eq(sendAttempts.messageId, input.messageId));
  const attempt = (numbered?.last ?? 0) + 1;
  const { messagingType, tag } = input.permission;
  const [claim] = await ctx.tx
    .insert(sendAttempts)
    .values({
      tenantId: ctx.tenantId,
      messageId: input.messageId,
      attempt,
      outcome: 'sending',
      startedAt: input.now,
      messagingType: messagingType ? [messagingType, tag].filter(Boolean).join(':') : null,
    })
    .returning({ id: sendAttempts.id });
  if (!claim) throw new Error('numberAttempt: the attempt insert returned nothing');
  return { attemptId: claim.id, attempt };
}

/** Transient failures count from the last time an operator retried (a failed attempt). */
function transientFailures(attempts: SendAttemptRow[]) {
  const lastFailed = attempts.findLastIndex((a) => a.outcome === 'failed');
  const sinceRetry = attempts
    .slice(lastFailed + 1)
    .filter((a) => a.outcome === 'retry' && !NOT_A_FAILURE.has(a.errorCode ?? ''));
  return {
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
