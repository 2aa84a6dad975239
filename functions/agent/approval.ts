import { formatInteractiveId } from '../../core/agent/ids';
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
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import type { EscalationContact } from '../../db/schema';
import type { Logger } from '../lib/logger';
import { notifyStaff } from './handoff';

const CHANNEL_NAMES = { whatsapp: 'WhatsApp', messenger: 'Messenger', instagram: 'Instagram' };

function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/**
 * Approval mode: the run's replies become drafts (older pending drafts of the conversation are
 * superseded: this run answered everything), and each escalation contact on WhatsApp gets every
 * draft with Approve / Edit / Cancel buttons (`msg:{draft_id}:approve|edit|cancel`).
 */
export async function draftReplies(
  ctx: TenantContext,
  input: {
    conversation: TurnConversation;
    runId: string;
    correlationId: string;
    replies: OutboundMessage[];
    escalationContacts: EscalationContact[];
    now: Date;
    logger: Logger;
  },
): Promise<{ drafts: DraftRow[]; jobs: OutboxJob[] }> {
  await supersedePendingDrafts(ctx, input.conversation.id, input.now);
  const drafts = await createDrafts(ctx, {
    conversationId: input.conversation.id,
    runId: input.runId,
    correlationId: input.correlationId,
    drafts: input.replies.map((message) => ({ message, preview: previewOf(message) })),
  });
  const jobs: OutboxJob[] = [];
  const conv = input.conversation;
  const who = conv.contact.name || conv.contact.phone || conv.contact.externalUserId;
  for (const draft of drafts) {
    jobs.push(
      ...(await notifyStaff(ctx, {
        contacts: input.escalationContacts,
        message: {
          type: 'buttons',
          body: clip(
            `Draft reply to ${who} on ${CHANNEL_NAMES[conv.channel]}:\n\n${draft.preview}`,
            1024,
          ),
          buttons: [
            { id: formatInteractiveId('msg', draft.id, 'approve'), title: 'Approve' },
            { id: formatInteractiveId('msg', draft.id, 'edit'), title: 'Edit' },
            { id: formatInteractiveId('msg', draft.id, 'cancel'), title: 'Cancel' },
          ],
        },
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
  const draft = await getDraft(ctx, input.draftId, { forUpdate: true });
  if (draft.status !== 'pending') {
    throw new ConflictError(`This draft is already ${draft.status}; nothing was changed.`);
  }
  if (input.decision.action === 'cancel') {
    const decided = await markDraftDecided(ctx, draft.id, {
      status: 'cancelled',
      userId: input.userId,
      via: input.via,
      now: input.now,
    });
    return { draft: decided, jobs: [] };
  }
  const conversation = await loadTurnConversation(ctx, draft.conversationId);
  if (conversation?.isLocked) {
    throw new ConflictError(
      'A person has taken over this conversation, so the agent’s draft is not sent; reply yourself or unlock it first.',
    );
  }
  const original = draft.message as OutboundMessage;
  const message =
    input.decision.action === 'edit' ? withText(original, input.decision.text) : original;
  const queued = await queueOutboundMessage(ctx, {
    conversationId: draft.conversationId,
    sender: 'agent',
    message,
    now: input.now,
    correlationId: draft.correlationId,
    agentLabel: { correlationId: draft.correlationId, draftId: draft.id, approvedVia: input.via },
  });
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
