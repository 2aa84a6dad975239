import {
  conversationLanguage,
  OPPORTUNITY_CARD,
  OPPORTUNITY_SCHEDULE,
} from '../../core/agent/language';
import { decideOpportunity } from '../../db/opportunities';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import { safeErrorFields } from '../lib/logger';
import { type InteractiveAction, ignored } from './actions';
import { acceptOpportunity, staffLanguage } from './follow-ups';
import { safeTimeZone } from './instructions';
import { SCHEDULE_LOOKAHEAD_DAYS, scheduleOpportunity } from './opportunity-schedule';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const CARD_ACTIONS = ['accept', 'skip', 'draft', 'schedule'];

/**
 * `opp:{opportunity_id}:accept|skip|draft|schedule`, from an escalation contact. Skip records the
 * decision and sends nothing; accept and draft (the same: the draft still needs approval) queue
 * the draft's writing; schedule drafts an appointment proposal at once (opportunity-schedule.ts).
 * The staff member always gets a short answer (for schedule, the draft card itself); an unknown,
 * foreign or already decided id changes nothing.
 */
export const opportunityAction: InteractiveAction = async (action) => {
  const { ctx, message, id, staff, settings, logger } = action;
  if (!staff) return ignored('unknown', id, 'only an escalation contact may decide opportunities');
  const card = OPPORTUNITY_CARD[staffLanguage(settings, conversationLanguage([message.content]))];
  const answer = async (text: string): Promise<OutboxJob[]> => {
    try {
      const queued = await queueOutboundMessage(ctx, {
        conversationId: message.conversationId,
        sender: 'system',
        message: text,
        now: message.now,
        // The staff member just tapped: their window is open.
        checkWindow: false,
      });
      return [queued.job];
    } catch (err) {
      logger.warn('opportunity card: answer to staff refused', safeErrorFields(err));
      return [];
    }
  };
  if (!UUID.test(id.id) || !CARD_ACTIONS.includes(id.action)) {
    const result = ignored('unknown', id, `no opportunity action ${id.action}`);
    return { ...result, jobs: await answer(card.stale) };
  }
  const via = `whatsapp:${staff.whatsapp ?? message.contact.externalUserId}`;
  // --- opp-schedule: an appointment proposal, drafted in this transaction -----------------------
  if (id.action === 'schedule') {
    const language = staffLanguage(settings, conversationLanguage([message.content]));
    const scheduled = await scheduleOpportunity(ctx, {
      id: id.id,
      via,
      now: message.now,
      settings,
      staffLanguage: language,
      timeZone: safeTimeZone(settings.timeZone),
      logger,
    });
    const words = OPPORTUNITY_SCHEDULE[language];
    const routed = (outcome: string, detail: string) => ({
      turn: false as const,
      outcome,
      kind: id.kind,
      detail,
    });
    switch (scheduled.kind) {
      case 'not_found':
        return { ...ignored('unknown', id, 'no such opportunity'), jobs: await answer(card.stale) };
      case 'already_decided': {
        const result = ignored('stale', id, `opportunity already ${scheduled.status}`);
        return { ...result, jobs: await answer(card.stale) };
      }
      case 'refused':
        return {
          routing: routed('opportunity_refused', scheduled.reason),
          jobs: await answer(`${card.notDrafted} ${scheduled.reason}.`),
        };
      case 'no_service':
        return {
          routing: routed('opportunity_no_slots', 'no bookable service'),
          jobs: await answer(words.noService),
        };
      case 'no_slots':
        return {
          routing: routed('opportunity_no_slots', id.id),
          jobs: await answer(words.noSlots(scheduled.service, SCHEDULE_LOOKAHEAD_DAYS)),
        };
      case 'drafted':
        // The draft card (msg:{draft_id}:approve|edit|cancel) is the answer.
        return { routing: routed('opportunity_drafted', id.id), jobs: scheduled.jobs };
    }
  }
  // --- end opp-schedule ---------------------------------------------------------------------------
  const decided =
    id.action === 'skip'
      ? {
          decision: await decideOpportunity(ctx, {
            id: id.id,
            status: 'skipped',
            userId: null,
            via,
            now: message.now,
          }),
          jobs: [],
        }
      : await acceptOpportunity(ctx, { id: id.id, userId: null, via, now: message.now });
  const { decision } = decided;
  if (decision.kind === 'not_found') {
    return { ...ignored('unknown', id, 'no such opportunity'), jobs: await answer(card.stale) };
  }
  if (decision.kind === 'already_decided') {
    const result = ignored('stale', id, `opportunity already ${decision.status}`);
    return { ...result, jobs: await answer(card.stale) };
  }
  return {
    routing: {
      turn: false,
      outcome: `opportunity_${decision.opportunity.status}`,
      kind: id.kind,
      detail: id.id,
    },
    jobs: [...decided.jobs, ...(await answer(id.action === 'skip' ? card.skipped : card.drafting))],
  };
};
