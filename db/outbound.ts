import { and, asc, desc, eq, lt, max, sql } from 'drizzle-orm';
import {
  ConflictError,
  type DomainError,
  InvalidInputError,
  NotFoundError,
  SendRefusedError,
} from '../core/errors';
import { templateConsent } from '../core/messaging/consent';
import {
  messageSchemaFor,
  type OutboundMessage,
  parseOutboundMessage,
  previewOf,
} from '../core/messaging/kinds';
import {
  templateMessagePreview,
  templateMessageProblem,
  templateRefusal,
} from '../core/messaging/templates';
import {
  conversationWindow,
  type OutboundSender,
  type SendPermission,
  type WindowState,
  windowPermission,
} from '../core/messaging/window';
import { supersededBy } from './agent';
import type { TenantContext } from './client';
import {
  type ConversationForSend,
  loadConversationForSend,
  reserveSendSlot,
  setConversationLock,
} from './conversations';
import { consentFacts } from './opt-ins-ledger';
import { enqueueJob, type OutboxJob } from './outbox';
import {
  type Attachment,
  channelCredentials,
  conversations,
  messageStatusEvents,
  messages,
  sendAttempts,
} from './schema';
import { applyPendingStatuses, lockProviderMessage, OUTCOME_UNKNOWN } from './statuses';

export { OUTCOME_UNKNOWN };

import { findTemplate, getTemplateOrNull, type TemplateRow } from './templates';

/**
 * The outbound message path in the database: queueing (one function for the operator API, the AI
 * agent and system messages), the send job's claim and its outcomes, and operator retries.
 * Functions take `{ tx, tenantId }` and run inside the caller's tenant or operator transaction;
 * jobs they enqueue must be published by the caller after commit.
 */

export type MessageRow = typeof messages.$inferSelect;
export type SendAttemptRow = typeof sendAttempts.$inferSelect;

export const SEND_JOB_KIND = 'send';

/** QStash runs one send per conversation at a time, so retries cannot overtake each other there. */
export function sendFlowControlKey(conversationId: string) {
  return `conv-${conversationId}`;
}

async function enqueueSendJob(
  ctx: TenantContext,
  input: { messageId: string; conversationId: string; notBefore: Date },
): Promise<OutboxJob> {
  const job = await enqueueJob(ctx, {
    kind: SEND_JOB_KIND,
    payload: { messageId: input.messageId },
    notBefore: input.notBefore,
    flowControl: { key: sendFlowControlKey(input.conversationId), parallelism: 1 },
  });
  // Without a dedupe key the insert cannot be skipped.
  if (!job) throw new Error('enqueueSendJob: the outbox insert returned nothing');
  return job;
}

// ---------------------------------------------------------------------------------------------
// What may be sent
// ---------------------------------------------------------------------------------------------

export type Refusal = { code: string; reason: string };

/** Refusals that mean the request itself is wrong (400), not that a rule forbids it now (422). */
const INVALID_REQUEST_CODES = new Set(['template_parameters']);

function refusalError(refusal: Refusal): DomainError {
  return INVALID_REQUEST_CODES.has(refusal.code)
    ? new InvalidInputError(refusal.reason)
    : new SendRefusedError(refusal.code, refusal.reason);
}

async function resolveTemplate(
  ctx: TenantContext,
  conv: ConversationForSend,
  message: Extract<OutboundMessage, { type: 'template' }>,
): Promise<TemplateRow | Refusal> {
  const wabaId = conv.account.wabaId;
  if (!wabaId) {
    return {
      code: 'template_unknown',
      reason: 'This WhatsApp number has no WhatsApp Business Account id, so it has no templates.',
    };
  }
  const template = message.template_id
    ? await getTemplateOrNull(ctx, message.template_id)
    : await findTemplate(ctx, { wabaId, name: message.name, language: message.language });
  if (
    !template ||
    template.wabaId !== wabaId ||
    template.name !== message.name ||
    template.language !== message.language
  ) {
    return {
      code: 'template_unknown',
      reason: `Template ${message.name} (${message.language}) is not among the synced templates of this number. Sync the templates and pick one from the list.`,
    };
  }
  return template;
}

/**
 * Everything that can refuse a message before Meta is called: the template's status, the
 * customer's consent to it, and the messaging window. Pins `template_id` on template messages.
 * Returns the refusal, or the Messenger / Instagram messaging type to use.
 */
async function checkSendable(
  ctx: TenantContext,
  conv: ConversationForSend,
  message: OutboundMessage,
  sender: OutboundSender,
  now: Date,
  options: { checkWindow: boolean },
): Promise<
  | { ok: false; refusal: Refusal }
  | { ok: true; permission: SendPermission & { allowed: true }; template?: TemplateRow }
> {
  let template: TemplateRow | undefined;
  if (message.type === 'template') {
    const resolved = await resolveTemplate(ctx, conv, message);
    if ('code' in resolved) return { ok: false, refusal: resolved };
    template = resolved;
    const notApproved = templateRefusal(template);
    if (notApproved)
      return { ok: false, refusal: { code: 'template_not_approved', reason: notApproved } };
    // The same check whichever route built the message: a wrong parameter is Meta's 132000 later.
    const wrongParameters = templateMessageProblem(template, message);
    if (wrongParameters)
      return { ok: false, refusal: { code: 'template_parameters', reason: wrongParameters } };
    const consent = templateConsent(template.category, await consentFacts(ctx, conv.contact.id));
    if (!consent.allowed)
      return { ok: false, refusal: { code: consent.code, reason: consent.reason } };
    message.template_id = template.id;
  }
  const permission = windowPermission({
    channel: conv.account.channel,
    sender,
    kind: message.type,
    lastInboundAt: conv.conversation.lastInboundAt,
    now,
  });
  if (!permission.allowed) {
    if (options.checkWindow) {
      return { ok: false, refusal: { code: permission.code, reason: permission.reason } };
    }
    // Not checked now (the caller knows the customer just wrote); the send job checks again.
    return { ok: true, permission: { allowed: true, messagingType: 'RESPONSE' }, template };
  }
  return { ok: true, permission, template };
}

/** The provider id of a message of this conversation, to quote it or react to it. */
async function targetProviderId(
  { tx }: TenantContext,
  messageId: string,
  conversationId: string,
): Promise<string> {
  const [row] = await tx
    .select({ providerMessageId: messages.providerMessageId })
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.conversationId, conversationId)));
  if (!row) throw new InvalidInputError(`message ${messageId} is not in this conversation`);
  if (!row.providerMessageId) {
    throw new InvalidInputError(
      `message ${messageId} has not reached Meta yet, so it cannot be quoted or reacted to`,
    );
  }
  return row.providerMessageId;
}

function attachmentsOf(message: OutboundMessage): Attachment[] {
  switch (message.type) {
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      return [
        {
          kind: message.type,
          ...(message.id !== undefined ? { providerMediaId: message.id } : {}),
          ...(message.link !== undefined ? { url: message.link } : {}),
          ...('caption' in message && message.caption ? { caption: message.caption } : {}),
          ...('filename' in message && message.filename ? { filename: message.filename } : {}),
        },
      ];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Queueing
// ---------------------------------------------------------------------------------------------

export type QueueOutboundInput = {
  conversationId: string;
  sender: OutboundSender;
  /** A message kind (core/messaging/kinds.ts) or a bare string for text; validated here. */
  message: unknown;
  /** The caller's clock (services.clock.now()). */
  now: Date;
  /** The agent run's correlation id, so the inbox can show why the AI said it. */
  correlationId?: string | null;
  /** Our id of a message to quote (WhatsApp reply context). */
  replyToMessageId?: string | null;
  /** The operator who asked for it (sender `operator`). */
  requestedByUserId?: string | null;
  /**
   * Default true: refuse now when the window rules would refuse at send time. Only callers who
   * know the customer just wrote (the opt-out confirmation, inside inbound ingestion) skip it; the
   * send job checks again either way.
   */
  checkWindow?: boolean;
  /** The channel the caller believes the conversation is on (the API's channel_source); checked. */
  expectedChannel?: 'whatsapp' | 'messenger' | 'instagram';
};

export type QueuedOutbound = {
  message: MessageRow;
  /** Publish after commit: `publishJobs(services, env, [job])`. */
  job: OutboxJob;
  notBefore: Date;
  window: WindowState;
};

/**
 * Stores an outbound message as `queued`, reserves its send slot in the conversation (spacing and
 * order), and enqueues its `send` job (QStash flow control per conversation) in the caller's
 * transaction. Refusals are thrown before anything is written: invalid message or broken limit →
 * InvalidInputError (400) naming it; window, template or consent → SendRefusedError (422) with the
 * reason; unknown conversation (or another tenant's) → NotFoundError.
 *
 * An operator's reply also takes over the conversation (the human-override lock) when the
 * tenant's `lock_on_operator_reply` setting is on.
 */
export async function queueOutboundMessage(
  ctx: TenantContext,
  input: QueueOutboundInput,
): Promise<QueuedOutbound> {
  const conv = await loadConversationForSend(ctx, input.conversationId, { lock: true });
  const channel = conv.account.channel;
  if (input.expectedChannel && input.expectedChannel !== channel) {
    throw new InvalidInputError(
      `channel_source: the conversation is on ${channel}, not ${input.expectedChannel}`,
    );
  }
  const parsed = parseOutboundMessage(channel, input.message);
  if (!parsed.ok) throw new InvalidInputError(parsed.error);
  const message = parsed.message;

  const quoted =
    message.type === 'reaction' ? message.message_id : (input.replyToMessageId ?? undefined);
  const replyTo = quoted ? await targetProviderId(ctx, quoted, conv.conversation.id) : null;

  const sendable = await checkSendable(ctx, conv, message, input.sender, input.now, {
    checkWindow: input.checkWindow ?? true,
  });
  if (!sendable.ok) throw refusalError(sendable.refusal);
  const preview =
    message.type === 'template' && sendable.template
      ? templateMessagePreview(sendable.template, message)
      : previewOf(message);

  const notBefore = await reserveSendSlot(ctx, conv.conversation, input.now, conv.spacingSeconds);
  if (input.sender === 'operator' && conv.lockOnOperatorReply && !conv.conversation.isLocked) {
    await setConversationLock(ctx, {
      conversationId: conv.conversation.id,
      locked: true,
      source: 'operator',
      userId: input.requestedByUserId ?? null,
      reason: 'An operator replied',
      now: input.now,
    });
  }
  await ctx.tx
    .update(conversations)
    .set({
      lastMessagePreview: preview.slice(0, 200),
      // Raw SQL parameters are not serialised by column type: pass the time as ISO text.
      lastMessageAt: sql`greatest(coalesce(${conversations.lastMessageAt}, ${input.now.toISOString()}::timestamptz), ${input.now.toISOString()}::timestamptz)`,
    })
    .where(eq(conversations.id, conv.conversation.id));

  const [row] = await ctx.tx
    .insert(messages)
    .values({
      tenantId: ctx.tenantId,
      conversationId: conv.conversation.id,
      channelAccountId: conv.account.id,
      direction: 'outbound',
      sender: input.sender,
      type: message.type,
      content: preview,
      attachments: attachmentsOf(message),
      payload: {
        message,
        ...(input.requestedByUserId ? { requested_by_user_id: input.requestedByUserId } : {}),
      },
      // The reserved slot is the ordering key: strictly increasing per conversation, and the
      // earliest moment the customer can see it.
      providerTimestamp: notBefore,
      status: 'queued',
      correlationId: input.correlationId ?? null,
      replyToProviderMessageId: replyTo,
    })
    .returning();
  // biome-ignore lint/style/noNonNullAssertion: insert … returning yields the row
  const stored = row!;
  const job = await enqueueSendJob(ctx, {
    messageId: stored.id,
    conversationId: conv.conversation.id,
    notBefore,
  });
  return {
    message: stored,
    job,
    notBefore,
    window: conversationWindow(channel, conv.conversation.lastInboundAt, input.now),
  };
}

/**
 * `POST /admin/messages/{id}/retry`: a failed outbound message is queued again as a new attempt of
 * the same row, in a fresh slot at the end of the conversation. The rules are checked again (the
 * window may have closed since).
 */
export async function retryFailedMessage(
  ctx: TenantContext,
  input: { messageId: string; now: Date },
): Promise<QueuedOutbound> {
  const [found] = await ctx.tx
    .select({ id: messages.id, conversationId: messages.conversationId })
    .from(messages)
    .where(and(eq(messages.id, input.messageId), eq(messages.direction, 'outbound')));
  if (!found) throw new NotFoundError('Message', input.messageId);
  const conv = await loadConversationForSend(ctx, found.conversationId, { lock: true });
  const [row] = await ctx.tx
    .select()
    .from(messages)
    .where(eq(messages.id, input.messageId))
    .for('update');
  // biome-ignore lint/style/noNonNullAssertion: found above, in this transaction
  const current = row!;
  if (current.status !== 'failed') {
    throw new ConflictError(`Only failed messages can be retried; this one is ${current.status}.`);
  }
  const parsed = messageSchemaFor(conv.account.channel).safeParse(current.payload.message);
  if (!parsed.success) {
    throw new ConflictError('This message was stored in a form that can no longer be sent.');
  }
  const sendable = await checkSendable(
    ctx,
    conv,
    parsed.data,
    current.sender as OutboundSender,
    input.now,
    {
      checkWindow: true,
    },
  );
  if (!sendable.ok) throw refusalError(sendable.refusal);
  const notBefore = await reserveSendSlot(ctx, conv.conversation, input.now, conv.spacingSeconds);
  const [updated] = await ctx.tx
    .update(messages)
    .set({
      status: 'queued',
      errorCode: null,
      errorReason: null,
      // A new send gets a new provider id; the old one stays in send_attempts.
      providerMessageId: null,
      providerTimestamp: notBefore,
      updatedAt: sql`now()`,
    })
    .where(eq(messages.id, current.id))
    .returning();
  const job = await enqueueSendJob(ctx, {
    messageId: current.id,
    conversationId: conv.conversation.id,
    notBefore,
  });
  return {
    // biome-ignore lint/style/noNonNullAssertion: the row is locked above
    message: updated!,
    job,
    notBefore,
    window: conversationWindow(conv.account.channel, conv.conversation.lastInboundAt, input.now),
  };
}

// ---------------------------------------------------------------------------------------------
// The send job
// ---------------------------------------------------------------------------------------------

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

/** The channel's Graph access token, still encrypted (functions/lib/crypto.ts decrypts it). */
export async function loadSealedAccessToken(
  { tx }: TenantContext,
  channelAccountId: string,
): Promise<string | null> {
  const [row] = await tx
    .select({ accessToken: channelCredentials.accessToken })
    .from(channelCredentials)
    .where(eq(channelCredentials.channelAccountId, channelAccountId));
  return row?.accessToken ?? null;
}

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
  await ctx.tx
    .update(sendAttempts)
    .set({
      outcome: input.simulated ? 'simulated' : 'sent',
      finishedAt: input.now,
      providerMessageId: input.providerMessageId,
      request: input.request,
    })
    .where(eq(sendAttempts.id, input.attemptId));
  if (!input.simulated) {
    await applyPendingStatuses(ctx, input.channelAccountId, input.providerMessageId);
  }
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

/**
 * What a read receipt for a customer's message needs: its provider id, the account it came in on
 * and the customer's id there (Messenger / Instagram address sender actions to the user).
 */
export async function loadReadReceiptTarget(ctx: TenantContext, messageId: string) {
  const [row] = await ctx.tx
    .select({
      providerMessageId: messages.providerMessageId,
      direction: messages.direction,
      conversationId: messages.conversationId,
    })
    .from(messages)
    .where(eq(messages.id, messageId));
  if (!row) throw new NotFoundError('Message', messageId);
  const conv = await loadConversationForSend(ctx, row.conversationId);
  return {
    providerMessageId: row.direction === 'inbound' ? row.providerMessageId : null,
    account: conv.account,
    recipientId: conv.contact.externalUserId,
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
