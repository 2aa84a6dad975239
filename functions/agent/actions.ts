import type { InteractiveId } from '../../core/agent/ids';
import { ConflictError } from '../../core/errors';
import { insertSystemNote, loadTurnConversation, type MessageRouting } from '../../db/agent';
import type { TenantContext } from '../../db/client';
import { setConversationLock } from '../../db/conversations';
import { getDraftOrNull, requestDraftEdit } from '../../db/drafts';
import type { CustomerMessage } from '../../db/inbound';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import type { EscalationContact } from '../../db/schema';
import type { TenantSettings } from '../../db/settings';
import type { Logger } from '../lib/logger';
import { appointmentAction, slotAction } from './appointment-actions';
import { decideDraft } from './approval';
import { opportunityAction } from './opportunity-actions';

/**
 * What a tapped id (`kind:{id}:action`, see ids.ts) does, by kind (appointments: `appt` and
 * `slot`, appointment-actions.ts); a kind without an entry, an action a kind does not know, or a target that is gone or already
 * decided is "unknown"/"stale": logged, recorded on the message, nothing changes, nothing is sent.
 */
/** The customer message a tap arrived in (ingestion's hook input). */
export type IntakeMessage = CustomerMessage;

export type ActionContext = {
  ctx: TenantContext;
  message: IntakeMessage;
  id: InteractiveId;
  /** The escalation contact who tapped, when the sender is one (staff actions need it). */
  staff: EscalationContact | null;
  settings: TenantSettings;
  logger: Logger;
};

export type ActionResult = { routing: MessageRouting; jobs: OutboxJob[] };
export type InteractiveAction = (action: ActionContext) => Promise<ActionResult>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function ignored(
  outcome: 'unknown' | 'stale',
  id: InteractiveId,
  detail: string,
): ActionResult {
  return {
    routing: { turn: false, outcome, kind: id.kind, detail },
    jobs: [],
  };
}

/** `msg:{draft_id}:approve|edit|cancel`, from an escalation contact (approval mode). */
const draftAction: InteractiveAction = async ({ ctx, message, id, staff, logger }) => {
  if (!staff) return ignored('unknown', id, 'only an escalation contact may decide drafts');
  if (!UUID.test(id.id) || !['approve', 'edit', 'cancel'].includes(id.action)) {
    return ignored('unknown', id, `no draft action ${id.action}`);
  }
  const draft = await getDraftOrNull(ctx, id.id);
  if (!draft) return ignored('unknown', id, 'no such draft');
  if (draft.status !== 'pending') return ignored('stale', id, `draft already ${draft.status}`);
  const via = `whatsapp:${staff.whatsapp ?? message.contact.externalUserId}`;
  if (id.action === 'edit') {
    await requestDraftEdit(ctx, draft.id, message.conversationId, message.now);
    const ask = await queueOutboundMessage(ctx, {
      conversationId: message.conversationId,
      sender: 'system',
      message:
        'Send the corrected reply as your next message; it will go to the customer instead of the draft.',
      now: message.now,
      correlationId: draft.correlationId,
      checkWindow: false,
    });
    return {
      routing: { turn: false, outcome: 'draft_edit_requested', kind: id.kind, detail: draft.id },
      jobs: [ask.job],
    };
  }
  try {
    const decided = await decideDraft(ctx, {
      draftId: draft.id,
      decision: id.action === 'approve' ? { action: 'approve' } : { action: 'cancel' },
      userId: null,
      via,
      now: message.now,
    });
    return {
      routing: {
        turn: false,
        outcome: `draft_${decided.draft.status}`,
        kind: id.kind,
        detail: draft.id,
      },
      jobs: decided.jobs,
    };
  } catch (err) {
    if (err instanceof ConflictError) {
      logger.warn('agent intake: stale draft action', { draftId: draft.id, action: id.action });
      return ignored('stale', id, err.message);
    }
    throw err;
  }
};

/** `conv:{conversation_id}:take`: a staff member takes over a handed-off conversation. */
const takeAction: InteractiveAction = async ({ ctx, message, id, staff }) => {
  if (!staff) return ignored('unknown', id, 'only an escalation contact may take conversations');
  if (!UUID.test(id.id) || id.action !== 'take') return ignored('unknown', id, 'not a take action');
  const conversation = await loadTurnConversation(ctx, id.id);
  if (!conversation) return ignored('unknown', id, 'no such conversation');
  const reason = `Taken over by ${staff.name} from WhatsApp`;
  if (conversation.isLocked && conversation.lockedBy === 'operator') {
    return ignored('stale', id, `already taken (${conversation.lockReason ?? 'locked'})`);
  }
  await setConversationLock(ctx, {
    conversationId: conversation.id,
    locked: true,
    source: 'operator',
    reason,
    now: message.now,
  });
  await insertSystemNote(ctx, {
    conversationId: conversation.id,
    channelAccountId: conversation.channelAccountId,
    text: reason,
    correlationId: null,
    now: message.now,
    details: { taken_by: staff.name, via: 'whatsapp' },
  });
  return {
    routing: { turn: false, outcome: 'taken', kind: id.kind, detail: conversation.id },
    jobs: [],
  };
};

/** `opt:{option}:pick`: the customer chose an option the agent offered; the agent answers it. */
const optionAction: InteractiveAction = async ({ id }) => ({
  routing: { turn: true, outcome: 'option', kind: id.kind, detail: id.id },
  jobs: [],
});

export const interactiveActions: Record<string, InteractiveAction> = {
  msg: draftAction,
  conv: takeAction,
  opt: optionAction,
  appt: appointmentAction,
  slot: slotAction,
  opp: opportunityAction,
};
