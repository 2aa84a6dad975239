import {
  type AgentLanguage,
  conversationLanguage,
  OPPORTUNITY_CARD,
  OPPORTUNITY_SCHEDULE,
} from '../../core/agent/language';
import { addDays, localDateOf } from '../../core/appointments/availability';
import { longTimeLabel } from '../../core/appointments/offer';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import {
  type MessageChannel,
  type OutboundMessage,
  REPLY_BUTTONS_MAX,
} from '../../core/messaging/kinds';
import { loadTurnConversation, recentMessages } from '../../db/agent';
import type { TenantContext } from '../../db/client';
import {
  decideOpportunity,
  followUpRefusal,
  lockOpportunity,
  markOpportunityDrafted,
  type OpportunityRow,
  recordOpportunityEvent,
  refuseOpportunity,
} from '../../db/opportunities';
import { type SchedulableService, schedulableServices } from '../../db/opportunity-schedule';
import type { OutboxJob } from '../../db/outbox';
import type { OpportunityKind, OpportunityStatus } from '../../db/schema';
import type { TenantSettings } from '../../db/settings';
import type { Logger } from '../lib/logger';
import { draftReplies } from './approval';
import { findOffers, type Offers, offerMessage, serviceName } from './booking';
import type { StaffCard } from './handoff';

/**
 * Follow-ups, `opp:{id}:schedule` (docs/follow-ups.md): for an opportunity whose service is known
 * (db/opportunity-schedule.ts), staff can have an appointment *proposal* drafted instead of a
 * free-form follow-up. Deterministic, no model: the free-slot search the agent's booking uses
 * (booking.ts findOffers) picks up to 3 free times in the next SCHEDULE_LOOKAHEAD_DAYS, and the
 * draft is the booking flow's own offer message (reply buttons `slot:{service}.{staff}.{minutes}:book`,
 * the times also written out in the body, so the `msg:` draft card shows them). Nothing is booked
 * here: the draft waits on the usual approval card, its approval sends it (one send), and only the
 * customer's tap books, through the normal booking path (appointment-actions.ts slotAction, which
 * checks the time is still free).
 */

/** How far ahead the proposal looks for free times (as the agent's alternatives do). */
export const SCHEDULE_LOOKAHEAD_DAYS = 14;

/** The card's actions: 3 reply buttons, or a list of 4 with `schedule` when times can be proposed. */
export function opportunityCardActions(
  language: AgentLanguage,
  schedulable: boolean,
): Pick<StaffCard, 'buttons' | 'listButton'> {
  const card = OPPORTUNITY_CARD[language];
  const buttons: StaffCard['buttons'] = [
    { action: 'accept', title: card.accept },
    { action: 'skip', title: card.skip },
    { action: 'draft', title: card.draft },
  ];
  if (!schedulable) return { buttons };
  const words = OPPORTUNITY_SCHEDULE[language];
  return {
    buttons: [
      ...buttons,
      { action: 'schedule', title: words.schedule, description: words.scheduleHint },
    ],
    listButton: words.choose,
  };
}

type Proposal = {
  greeting: (name: string | null) => string;
  opener: Record<OpportunityKind, (service: string) => string>;
  times: string;
  pick: string;
};

/** What the customer reads (their language); the times follow as a list, then the buttons. */
export const PROPOSAL: Record<AgentLanguage, Proposal> = {
  es: {
    greeting: (n) => (n ? `Hola ${n}, ` : 'Hola, '),
    opener: {
      price_no_booking: (s) => `¿te reservamos una cita de ${s}?`,
      recall_due: (s) => `ya te toca volver para ${s}.`,
      no_show_or_cancelled: (s) => `¿te buscamos una nueva cita de ${s}?`,
      quiet_after_handoff: (s) => `¿te reservamos una cita de ${s}?`,
    },
    times: 'Estas son las próximas horas libres:',
    pick: 'Elige una y queda reservada.',
  },
  en: {
    greeting: (n) => (n ? `Hi ${n}, ` : 'Hi, '),
    opener: {
      price_no_booking: (s) => `shall we book you in for ${s}?`,
      recall_due: (s) => `you are due back for ${s}.`,
      no_show_or_cancelled: (s) => `shall we find you a new time for ${s}?`,
      quiet_after_handoff: (s) => `shall we book you in for ${s}?`,
    },
    times: 'These are the next free times:',
    pick: 'Tap one and it is booked.',
  },
  ar: {
    greeting: (n) => (n ? `مرحباً ${n}، ` : 'مرحباً، '),
    opener: {
      price_no_booking: (s) => `هل نحجز لك موعداً لـ${s}؟`,
      recall_due: (s) => `حان موعد عودتك لـ${s}.`,
      no_show_or_cancelled: (s) => `هل نبحث لك عن موعد جديد لـ${s}؟`,
      quiet_after_handoff: (s) => `هل نحجز لك موعداً لـ${s}؟`,
    },
    times: 'هذه أقرب الأوقات المتاحة:',
    pick: 'اختر واحداً ويُحجز لك.',
  },
};

/**
 * The proposal the customer would get: the booking flow's offer message (a `book` slot button per
 * time) with the times written out in its body; plain text with the same times when the channel
 * takes no buttons for it. Null when there are no times.
 */
export function proposalMessage(input: {
  channel: MessageChannel;
  language: AgentLanguage;
  kind: OpportunityKind;
  customerName: string | null;
  offers: Offers;
}): OutboundMessage | null {
  const { channel, language, offers } = input;
  if (offers.offers.length === 0) return null;
  const said = PROPOSAL[language];
  const service = serviceName(offers.service, language);
  const first = input.customerName?.trim().split(/\s+/)[0] || null;
  const body = [
    `${said.greeting(first)}${said.opener[input.kind](service)} ${said.times}`,
    ...offers.offers.map((o) => `• ${longTimeLabel(o.start, offers.timeZone, language)}`),
    said.pick,
  ].join('\n');
  return (
    offerMessage(channel, language, body, offers, {
      action: 'book',
      target: offers.service.id,
    }) ?? {
      type: 'text',
      text: body,
    }
  );
}

/** Up to 3 free times of the service: the evidence's staff member first, else anyone. */
async function proposalOffers(
  ctx: TenantContext,
  service: SchedulableService,
  now: Date,
  timeZone: string,
): Promise<Offers | null> {
  const today = localDateOf(now, timeZone);
  const search = (staffId?: string) =>
    findOffers(ctx, {
      serviceId: service.serviceId,
      staffId,
      from: today,
      to: addDays(today, SCHEDULE_LOOKAHEAD_DAYS),
      partOfDay: 'any',
      limit: REPLY_BUTTONS_MAX,
      now,
    });
  try {
    const theirs = service.staffId ? await search(service.staffId) : null;
    return theirs && theirs.offers.length > 0 ? theirs : await search();
  } catch (err) {
    // Retired or changed since the card: nothing to propose.
    if (err instanceof NotFoundError || err instanceof InvalidInputError) return null;
    throw err;
  }
}

export type ScheduleResult =
  | { kind: 'not_found' }
  | { kind: 'already_decided'; status: OpportunityStatus }
  /** A sending rule refused: skipped (as for a drafted follow-up), recorded. */
  | { kind: 'refused'; reason: string }
  /** No bookable service, or no free time: still open (Draft still works), recorded. */
  | { kind: 'no_service' }
  | { kind: 'no_slots'; service: string }
  | { kind: 'drafted'; draftId: string; jobs: OutboxJob[] };

/**
 * `opp:{id}:schedule`: drafts the appointment proposal of an open opportunity, in the tap's
 * transaction (no model: nothing to wait for). The opportunity is locked first, so a double tap
 * finds it drafted (one draft). The sending rules refuse as for any follow-up (skipped, recorded);
 * no bookable service or no free time leaves it open with a `no_slots` event, nothing drafted.
 * Otherwise it is accepted and drafted in one go, and the usual `msg:` card goes to the staff.
 */
export async function scheduleOpportunity(
  ctx: TenantContext,
  input: {
    id: string;
    /** The operator who decided (the API); null or absent: a staff card on WhatsApp. */
    userId?: string | null;
    via: string;
    now: Date;
    settings: TenantSettings;
    /** The staff's language (follow-ups.ts staffLanguage): the draft card and the answers. */
    staffLanguage: AgentLanguage;
    timeZone: string;
    logger: Logger;
  },
): Promise<ScheduleResult> {
  const { id, via, now } = input;
  const userId = input.userId ?? null;
  const opportunity = await lockOpportunity(ctx, id);
  if (!opportunity) return { kind: 'not_found' };
  if (opportunity.status !== 'open') return { kind: 'already_decided', status: opportunity.status };
  const refused = async (reason: string): Promise<ScheduleResult> => {
    await decideOpportunity(ctx, { id, status: 'accepted', userId, via, now });
    await refuseOpportunity(ctx, { id, reason, now });
    input.logger.info('follow-up proposal not drafted', { opportunityId: id, reason });
    return { kind: 'refused', reason };
  };
  const conversationId = opportunity.conversationId;
  if (!conversationId) return refused('there is no conversation to write in');
  const refusal = await followUpRefusal(ctx, opportunity, now);
  if (refusal) return refused(refusal);
  const noSlots = async (reason: string, serviceId: string | null) => {
    await recordOpportunityEvent(ctx, {
      opportunityId: id,
      event: 'no_slots',
      // Who asked, as decideOpportunity records it.
      actor: userId ? `operator:${userId}` : via,
      detail: { reason, service_id: serviceId },
    });
  };
  const service = (await schedulableServices(ctx, [id])).get(id);
  if (!service) {
    await noSlots('no bookable service', null);
    return { kind: 'no_service' };
  }
  const conversation = await loadTurnConversation(ctx, conversationId, { forUpdate: true });
  if (!conversation) return refused('the conversation is gone');
  const offers = await proposalOffers(ctx, service, now, input.timeZone);
  if (!offers || offers.offers.length === 0) {
    await noSlots(`no free time in ${SCHEDULE_LOOKAHEAD_DAYS} days`, service.serviceId);
    return {
      kind: 'no_slots',
      service: serviceName(
        { name: service.serviceName, names: service.serviceNames },
        input.staffLanguage,
      ),
    };
  }
  const message = proposalMessage({
    channel: conversation.channel,
    language: await customerLanguage(ctx, conversationId, opportunity),
    kind: opportunity.kind,
    customerName: conversation.contact.name,
    offers,
  });
  if (!message) return { kind: 'no_slots', service: service.serviceName };
  await decideOpportunity(ctx, { id, status: 'accepted', userId, via, now });
  const drafted = await draftReplies(ctx, {
    conversation,
    runId: null,
    correlationId: `opp-${id}`,
    replies: [message],
    escalationContacts: input.settings.escalationContacts,
    staffLanguage: input.staffLanguage,
    now,
    logger: input.logger,
  });
  const [draft] = drafted.drafts;
  if (!draft) return refused('the proposal could not be drafted');
  await markOpportunityDrafted(ctx, { id, draftId: draft.id });
  return { kind: 'drafted', draftId: draft.id, jobs: drafted.jobs };
}

/** The customer's language: their newest words that say something, else the evidence's. */
async function customerLanguage(
  ctx: TenantContext,
  conversationId: string,
  opportunity: OpportunityRow,
): Promise<AgentLanguage> {
  const rows = await recentMessages(ctx, conversationId, 20);
  const texts = rows
    .filter((r) => r.direction === 'inbound' && r.sender === 'user' && r.type === 'text')
    .map((r) => r.content)
    .reverse();
  return conversationLanguage(texts, conversationLanguage([opportunity.evidenceText], 'es'));
}
