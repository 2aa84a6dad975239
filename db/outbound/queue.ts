import { and, eq, sql } from 'drizzle-orm';
import { parseInteractiveId } from '../../core/agent/ids';
import {
  ConflictError,
  type DomainError,
  InvalidInputError,
  NotFoundError,
  SendRefusedError,
} from '../../core/errors';
import { templateConsent } from '../../core/messaging/consent';
import {
  messageSchemaFor,
  type OutboundMessage,
  parseOutboundMessage,
  previewOf,
} from '../../core/messaging/kinds';
import { SEND_REASONS, templateNotSyncedReason } from '../../core/messaging/send-reasons';
import {
  templateMessagePreview,
  templateMessageProblem,
  templateRefusal,
} from '../../core/messaging/templates';
import {
  conversationWindow,
  type OutboundSender,
  type SendPermission,
  type WindowState,
  windowPermission,
} from '../../core/messaging/window';
import type { TenantContext } from '../client';
import {
  type ConversationForSend,
  loadConversationForSend,
  reserveSendSlot,
  sendSlot,
  setConversationLock,
} from '../conversations';
import { getDraftOrNull } from '../drafts';
import { consentFacts } from '../opt-ins-ledger';
import { enqueueJob, type OutboxJob } from '../outbox';
import { type Attachment, conversations, messages, type sendAttempts } from '../schema';
import { findTemplate, getTemplateOrNull, type TemplateRow } from '../templates';

/**
 * What may be sent and queueing it: one function for the operator API, the AI agent and system
 * messages, and operator retries. Functions take `{ tx, tenantId }` and run inside the caller's
 * tenant or operator transaction; jobs they enqueue must be published by the caller after commit.
 */

export type MessageRow = typeof messages.$inferSelect;
export type SendAttemptRow = typeof sendAttempts.$inferSelect;

export const SEND_JOB_KIND = 'send';

/** QStash runs one send per conversation at a time, so retries cannot overtake each other there. */
export function sendFlowControlKey(conversationId: string) {
  return `conv-${conversationId}`;
}

export async function enqueueSendJob(
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
    return { code: 'template_unknown', reason: SEND_REASONS.no_waba_id };
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
    return { code: 'template_unknown', reason: templateNotSyncedReason(message) };
  }
  return template;
}

/**
 * Everything that can refuse a message before Meta is called: the template's status, the
 * customer's consent to it, and the messaging window. Pins `template_id` on template messages.
 * Returns the refusal, or the Messenger / Instagram messaging type to use.
 */
export async function checkSendable(
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
  /**
   * The conversation as loadConversationForSend read it, under its row lock, earlier in this
   * transaction (the agent's turn reads it with its other reads): then it is not read again.
   */
  loaded?: ConversationForSend;
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
  expectedChannel?: 'whatsapp' | 'messenger' | 'instagram' | 'web';
  /**
   * A message the agent wrote: its label (`payload.agent`: the model, the draft it came from, who
   * approved it), stored with the message.
   */
  agentLabel?: Record<string, unknown>;
  /**
   * Not sent before this (a follow-up approved in the business's quiet hours waits until the
   * morning); the conversation's spacing still applies after it.
   */
  notBefore?: Date;
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
  const conv =
    input.loaded ?? (await loadConversationForSend(ctx, input.conversationId, { lock: true }));
  const message = parseForConversation(conv, input);
  const quoted =
    message.type === 'reaction' ? message.message_id : (input.replyToMessageId ?? undefined);
  const replyTo = quoted ? await targetProviderId(ctx, quoted, conv.conversation.id) : null;
  const preview = await sendablePreview(ctx, { conv, message, input });

  await lockOnOperatorReply(ctx, { conv, input });
  // The writes need no answer of each other (the message's id is made here, for its send job):
  // sent together, one round trip.
  const messageId = crypto.randomUUID();
  const earliest = input.notBefore && input.notBefore > input.now ? input.notBefore : input.now;
  const notBefore = sendSlot(conv.conversation, earliest);
  const [, , stored, job] = await Promise.all([
    reserveSendSlot(ctx, conv.conversation, earliest, conv.spacingSeconds),
    showAsLastMessage(ctx, { conv, preview, now: input.now }),
    insertQueuedMessage(ctx, { id: messageId, conv, message, preview, notBefore, replyTo, input }),
    enqueueSendJob(ctx, { messageId, conversationId: conv.conversation.id, notBefore }),
  ]);
  return {
    message: stored,
    job,
    notBefore,
    window: conversationWindow(conv.account.channel, conv.conversation.lastInboundAt, input.now),
  };
}

/** The caller's message validated for the conversation's channel (and the channel it expects). */
function parseForConversation(conv: ConversationForSend, input: QueueOutboundInput) {
  const channel = conv.account.channel;
  if (input.expectedChannel && input.expectedChannel !== channel) {
    throw new InvalidInputError(
      `channel_source: the conversation is on ${channel}, not ${input.expectedChannel}`,
    );
  }
  const parsed = parseOutboundMessage(channel, input.message);
  if (!parsed.ok) throw new InvalidInputError(parsed.error);
  return parsed.message;
}

/** Throws the refusal when the message may not be sent; else the preview the inbox shows. */
async function sendablePreview(
  ctx: TenantContext,
  {
    conv,
    message,
    input,
  }: { conv: ConversationForSend; message: OutboundMessage; input: QueueOutboundInput },
): Promise<string> {
  const sendable = await checkSendable(ctx, conv, message, input.sender, input.now, {
    checkWindow: input.checkWindow ?? true,
  });
  if (!sendable.ok) throw refusalError(sendable.refusal);
  return message.type === 'template' && sendable.template
    ? templateMessagePreview(sendable.template, message)
    : previewOf(message);
}

/** An operator's reply takes over the conversation when the tenant's setting says so. */
async function lockOnOperatorReply(
  ctx: TenantContext,
  { conv, input }: { conv: ConversationForSend; input: QueueOutboundInput },
): Promise<void> {
  if (input.sender !== 'operator' || !conv.lockOnOperatorReply || conv.conversation.isLocked) {
    return;
  }
  await setConversationLock(ctx, {
    conversationId: conv.conversation.id,
    locked: true,
    source: 'operator',
    userId: input.requestedByUserId ?? null,
    reason: 'An operator replied',
    now: input.now,
  });
}

/** The conversation list shows the newest message's preview and time. */
async function showAsLastMessage(
  ctx: TenantContext,
  input: { conv: ConversationForSend; preview: string; now: Date },
): Promise<void> {
  const now = input.now.toISOString();
  await ctx.tx
    .update(conversations)
    .set({
      lastMessagePreview: input.preview.slice(0, 200),
      // Raw SQL parameters are not serialised by column type: pass the time as ISO text.
      lastMessageAt: sql`greatest(coalesce(${conversations.lastMessageAt}, ${now}::timestamptz), ${now}::timestamptz)`,
    })
    .where(eq(conversations.id, input.conv.conversation.id));
}

async function insertQueuedMessage(
  ctx: TenantContext,
  input: {
    /** Made by the caller, so the send job can name the message in the same round trip. */
    id: string;
    conv: ConversationForSend;
    message: OutboundMessage;
    preview: string;
    notBefore: Date;
    replyTo: string | null;
    input: QueueOutboundInput;
  },
): Promise<MessageRow> {
  const { conv, message, input: queued } = input;
  const [row] = await ctx.tx
    .insert(messages)
    .values({
      id: input.id,
      tenantId: ctx.tenantId,
      conversationId: conv.conversation.id,
      channelAccountId: conv.account.id,
      direction: 'outbound',
      sender: queued.sender,
      type: message.type,
      content: input.preview,
      attachments: attachmentsOf(message),
      payload: {
        message,
        ...(queued.requestedByUserId ? { requested_by_user_id: queued.requestedByUserId } : {}),
        ...(queued.agentLabel ? { agent: queued.agentLabel } : {}),
      },
      // The reserved slot is the ordering key: strictly increasing per conversation, and the
      // earliest moment the customer can see it.
      providerTimestamp: input.notBefore,
      status: 'queued',
      correlationId: queued.correlationId ?? null,
      replyToProviderMessageId: input.replyTo,
    })
    .returning();
  if (!row) throw new Error('insertQueuedMessage: insert … returning yielded no row');
  return row;
}

/**
 * A staff approval card (buttons `msg:{draft_id}:approve|edit|cancel`, functions/agent/approval.ts)
 * asks about one draft: once that draft is decided (or superseded), sending the card again would
 * offer buttons that can only be refused, so its retry is refused here instead.
 */
async function refuseDecidedApprovalCard(ctx: TenantContext, message: OutboundMessage) {
  if (message.type !== 'buttons') return;
  const draftIds = new Set(
    message.buttons.flatMap((button) => {
      const id = parseInteractiveId(button.id);
      return id?.kind === 'msg' ? [id.id] : [];
    }),
  );
  for (const draftId of draftIds) {
    const draft = await getDraftOrNull(ctx, draftId);
    if (draft && draft.status !== 'pending') {
      throw new ConflictError(
        `This approval card asks about a draft that is already ${draft.status}; it is not sent again.`,
      );
    }
  }
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
  await refuseDecidedApprovalCard(ctx, parsed.data);
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
