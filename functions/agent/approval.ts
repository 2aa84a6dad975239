import { type AgentLanguage, APPROVAL_CARD } from '../../core/agent/language';
import { afterQuietHours } from '../../core/agent/quiet-hours';
import { ConflictError } from '../../core/errors';
import { type OutboundMessage, previewOf } from '../../core/messaging/kinds';
import { loadTurnConversation, type TurnConversation } from '../../db/agent';
import type { TenantContext } from '../../db/client';
import {
  createDrafts,
  type DraftRow,
  getDraft,
  markDraftDecided,
  supersedePendingDrafts,
} from '../../db/drafts';
import {
  followUpRefusal,
  markOpportunityQueued,
  type OpportunityRow,
  opportunityOfDraft,
  skipDraftedOpportunity,
} from '../../db/opportunities';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import type { EscalationContact } from '../../db/schema';
import { getTenantSettings } from '../../db/settings';
import type { Logger } from '../lib/logger';
import { notifyStaffCard } from './handoff';
import { safeTimeZone } from './instructions';

const CHANNEL_NAMES = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  web: 'the website chat',
};

/**
 * Approval mode: the run's replies become drafts (older pending drafts of the conversation are
 * superseded: this run answered everything), and each escalation contact on WhatsApp gets every
 * draft with Approve / Edit / Cancel buttons (`msg:{draft_id}:approve|edit|cancel`) in the staff's
 * language.
 */
export async function draftReplies(
  ctx: TenantContext,
  input: {
    conversation: TurnConversation;
    /** The agent run that wrote them; null for a follow-up written outside a turn. */
    runId: string | null;
    correlationId: string;
    replies: OutboundMessage[];
    /**
     * What each reply will read as, when `previewOf` cannot say (a template's filled-in text, so
     * the staff approve what the customer will see); by position.
     */
    previews?: string[];
    /** A line under each draft on the card (a follow-up template names itself). */
    cardNote?: string;
    escalationContacts: EscalationContact[];
    /** The staff's language (tenantLanguage): the card's heading and button titles. */
    staffLanguage: AgentLanguage;
    now: Date;
    logger: Logger;
  },
): Promise<{ drafts: DraftRow[]; jobs: OutboxJob[] }> {
  await supersedePendingDrafts(ctx, input.conversation.id, input.now);
  const drafts = await createDrafts(ctx, {
    conversationId: input.conversation.id,
    runId: input.runId,
    correlationId: input.correlationId,
    drafts: input.replies.map((message, i) => ({
      message,
      preview: input.previews?.[i] ?? previewOf(message),
    })),
  });
  const jobs: OutboxJob[] = [];
  const conv = input.conversation;
  const who = conv.contact.name || conv.contact.phone || conv.contact.externalUserId;
  const card = APPROVAL_CARD[input.staffLanguage];
  for (const draft of drafts) {
    jobs.push(
      ...(await notifyStaffCard(ctx, {
        contacts: input.escalationContacts,
        kind: 'msg',
        targetId: draft.id,
        body: [
          card.heading(who, CHANNEL_NAMES[conv.channel]),
          draft.preview,
          ...(input.cardNote ? [input.cardNote] : []),
        ].join('\n\n'),
        // A template's text is Meta's approved text: it is approved or cancelled, never edited.
        buttons: [
          { action: 'approve', title: card.approve },
          ...(draft.message.type === 'template' ? [] : [{ action: 'edit', title: card.edit }]),
          { action: 'cancel', title: card.cancel },
        ],
        correlationId: input.correlationId,
        now: input.now,
        logger: input.logger,
      })),
    );
  }
  return { drafts, jobs };
}

/** The draft's message with its text replaced (the body of buttons and lists, the text otherwise). */
function withText(message: OutboundMessage, text: string): OutboundMessage {
  switch (message.type) {
    case 'text':
      return { ...message, text };
    case 'buttons':
    case 'list':
      return { ...message, body: text };
    case 'quick_replies':
      return { ...message, text };
    default:
      return { type: 'text', text };
  }
}

export type DraftDecision =
  | { action: 'approve' }
  | { action: 'edit'; text: string }
  | { action: 'cancel' };

/**
 * Approves (queues the draft as the agent's message, with the run's correlation id), edits (queues
 * the corrected text instead) or cancels (sends nothing) a pending draft. A draft that is no
 * longer pending, or whose conversation a person has taken over, is a CONFLICT: nothing changes.
 */
export async function decideDraft(
  ctx: TenantContext,
  input: {
    draftId: string;
    decision: DraftDecision;
    userId: string | null;
    via: string;
    now: Date;
  },
): Promise<{ draft: DraftRow; jobs: OutboxJob[] }> {
  // A follow-up's draft (docs/follow-ups.md) is bound by the sending rules once more at approval.
  // Read with the draft (one round trip): null for every ordinary agent draft.
  const [draft, opportunity] = await Promise.all([
    getDraft(ctx, input.draftId, { forUpdate: true }),
    opportunityOfDraft(ctx, input.draftId),
  ]);
  if (draft.status !== 'pending') {
    throw new ConflictError(`This draft is already ${draft.status}; nothing was changed.`);
  }
  const actor = input.userId ? `operator:${input.userId}` : input.via;
  if (input.decision.action === 'cancel') {
    const decided = await markDraftDecided(ctx, draft.id, {
      status: 'cancelled',
      userId: input.userId,
      via: input.via,
      now: input.now,
    });
    if (opportunity) {
      await skipDraftedOpportunity(ctx, { id: opportunity.id, actor, now: input.now });
    }
    return { draft: decided, jobs: [] };
  }
  const conversation = await loadTurnConversation(ctx, draft.conversationId);
  if (conversation?.isLocked) {
    throw new ConflictError(
      'A person has taken over this conversation, so the agent’s draft is not sent; reply yourself or unlock it first.',
    );
  }
  const original = draft.message as OutboundMessage;
  if (input.decision.action === 'edit' && original.type === 'template') {
    throw new ConflictError(
      'This draft is an approved WhatsApp template: its text is fixed by Meta, so approve or cancel it.',
    );
  }
  const notBefore = opportunity ? await followUpSendTime(ctx, opportunity, input.now) : undefined;
  const message =
    input.decision.action === 'edit' ? withText(original, input.decision.text) : original;
  const queued = await queueOutboundMessage(ctx, {
    conversationId: draft.conversationId,
    sender: 'agent',
    message,
    now: input.now,
    notBefore,
    correlationId: draft.correlationId,
    agentLabel: { correlationId: draft.correlationId, draftId: draft.id, approvedVia: input.via },
  });
  if (opportunity) {
    await markOpportunityQueued(ctx, {
      id: opportunity.id,
      messageId: queued.message.id,
      notBefore: queued.notBefore,
      via: actor,
    });
  }
  const decided = await markDraftDecided(ctx, draft.id, {
    status: input.decision.action === 'edit' ? 'edited' : 'approved',
    userId: input.userId,
    via: input.via,
    now: input.now,
    sentMessageId: queued.message.id,
    ...(input.decision.action === 'edit' ? { message, preview: previewOf(message) } : {}),
  });
  return { draft: decided, jobs: [queued.job] };
}

/**
 * When an approved follow-up may leave: refused (CONFLICT, nothing written) when a sending rule
 * forbids it now (opt-out since it was drafted, another follow-up meanwhile), else now or, in the
 * business's quiet hours, the morning after them.
 */
async function followUpSendTime(
  ctx: TenantContext,
  opportunity: OpportunityRow,
  now: Date,
): Promise<Date> {
  const [refusal, settings] = await Promise.all([
    followUpRefusal(ctx, opportunity, now),
    getTenantSettings(ctx),
  ]);
  if (refusal) throw new ConflictError(`This follow-up is not sent: ${refusal}.`);
  return afterQuietHours(now, safeTimeZone(settings.timeZone));
}
