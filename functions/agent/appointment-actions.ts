import { parseSlotId } from '../../core/agent/ids';
import { type AgentLanguage, conversationLanguage } from '../../core/agent/language';
import { DomainError } from '../../core/errors';
import type { OutboundMessage } from '../../core/messaging/kinds';
import { recentMessages } from '../../db/agent';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import { safeErrorFields } from '../lib/logger';
// Types only: actions.ts imports this module to register it, so a value import would be a cycle.
import type { ActionContext, ActionResult, InteractiveAction } from './actions';
import {
  type BookingResult,
  bookedMessage,
  bookSlot,
  type ChangeResult,
  type Customer,
  changeOwn,
  describe,
  moveOwn,
  type Offers,
  offerMessage,
  ownAppointment,
  rescheduleOffers,
  SAID,
  serviceName,
} from './booking';
import { conversationInAgentHands } from './handoff';

/**
 * Taps on what the agent sent about appointments, handled at intake without the model (the
 * customer chose; there is nothing to think about):
 *
 * - `slot:{service}.{staff}.{minutes}:book` books that time (booking.ts); a time no longer free
 *   gets "that time was just taken" with fresh options, and nothing is booked;
 * - `slot:{appointment}.{staff}.{minutes}:move` moves the customer's appointment there;
 * - `appt:{id}:confirm|cancel` confirm or cancel it; `appt:{id}:reschedule` offers new times.
 *
 * Only the customer's own appointments (the conversation's contact): another customer's id, like
 * an unknown one, gets a polite "I can't find it" and changes nothing. Answers go out at once as
 * the agent's messages (also in approval mode: they only report what the customer just did).
 * While a person has the conversation, the bot is disabled for it or replies are off, the tap is
 * left to the team as an ordinary answer: nothing is booked behind their back.
 */

/** As actions.ts `ignored`: recorded on the message, nothing changes, nothing is sent. */
const ignored = (outcome: 'unknown', id: ActionContext['id'], detail: string): ActionResult => ({
  routing: { turn: false, outcome, kind: id.kind, detail },
  jobs: [],
});

type Tap = {
  customer: Customer;
  channel: ActionContext['message']['channel'];
  action: ActionContext;
};

/** The customer and their language, or null when the agent must not act in this conversation. */
async function tapOf(action: ActionContext): Promise<Tap | null> {
  const { ctx, message, settings } = action;
  const conversation = await conversationInAgentHands(ctx, message.conversationId, settings);
  if (!conversation) {
    return null;
  }
  const rows = await recentMessages(ctx, conversation.id, 20);
  const texts = rows
    .filter((r) => r.direction === 'inbound' && r.type === 'text')
    .map((r) => r.content)
    .reverse();
  const language: AgentLanguage = conversationLanguage(texts, 'es');
  return {
    customer: {
      ctx,
      contactId: conversation.contact.id,
      conversationId: conversation.id,
      language,
      now: message.now,
    },
    channel: conversation.channel,
    action,
  };
}

/** A tap the team handles: recorded, and a turn is not scheduled while a person has it. */
function forTheTeam(action: ActionContext): ActionResult {
  return {
    routing: {
      turn: true,
      outcome: 'appointment_tap_for_person',
      kind: action.id.kind,
      detail: 'a person has the conversation or the bot is off: nothing done automatically',
    },
    jobs: [],
  };
}

/** Queues the answers as the agent's messages, labelled with the tap that caused them. */
async function answer(
  tap: Tap,
  outcome: string,
  detail: string,
  replies: Array<OutboundMessage | null>,
): Promise<ActionResult> {
  const { ctx, message, id, logger } = tap.action;
  const correlationId = `tap-${message.messageId}`;
  const jobs: OutboxJob[] = [];
  for (const reply of replies) {
    if (!reply) continue;
    try {
      const queued = await queueOutboundMessage(ctx, {
        conversationId: message.conversationId,
        sender: 'agent',
        message: reply,
        now: message.now,
        correlationId,
        agentLabel: { model: 'none (tap)', offline: false, correlationId },
      });
      jobs.push(queued.job);
    } catch (err) {
      // The booking stands even if its confirmation cannot go out (the inbox shows both).
      if (!(err instanceof DomainError)) throw err;
      logger.warn('agent intake: appointment answer refused', safeErrorFields(err));
    }
  }
  return { routing: { turn: false, outcome, kind: id.kind, detail }, jobs };
}

const text = (value: string): OutboundMessage => ({ type: 'text', text: value });

/** "That time was just taken" and fresh options (buttons), or a plain way out when none. */
function unavailable(
  tap: Tap,
  alternatives: Offers | null,
  slot: { action: 'book' | 'move'; target: string },
): OutboundMessage {
  const said = SAID[tap.customer.language];
  const options =
    alternatives &&
    offerMessage(
      tap.channel,
      tap.customer.language,
      `${said.taken} ${said.moreOptions}`,
      alternatives,
      slot,
    );
  return options ?? text(`${said.taken} ${said.noOptions}`);
}

function booked(tap: Tap, result: Exclude<BookingResult, { kind: 'unavailable' }>) {
  const said = SAID[tap.customer.language];
  const { service, when, staff } = describe(result.appointment, tap.customer.language);
  const sentence =
    result.kind === 'booked'
      ? said.booked(service, when, staff)
      : said.already(service, when, staff);
  return bookedMessage(tap.channel, tap.customer.language, sentence, result.appointment.id);
}

/** `slot:…:book|move`. */
export const slotAction: InteractiveAction = async (action) => {
  const slot = parseSlotId(action.id);
  if (!slot) return ignored('unknown', action.id, 'not a slot id');
  if (action.staff) return ignored('unknown', action.id, 'slots are for customers');
  const tap = await tapOf(action);
  if (!tap) return forTheTeam(action);
  if (slot.action === 'book') {
    const result = await bookSlot(tap.customer, slot);
    if (result.kind === 'unavailable') {
      return answer(tap, 'stale', `slot unavailable: ${result.reason}`, [
        unavailable(tap, result.alternatives, { action: 'book', target: slot.target }),
      ]);
    }
    return answer(tap, `appointment_${result.kind}`, result.appointment.id, [booked(tap, result)]);
  }
  return changed(tap, await moveOwn(tap.customer, slot.target, slot), 'rescheduled', slot.target);
};

/** The answer to a change of the customer's own appointment. */
function changed(
  tap: Tap,
  result: ChangeResult,
  done: 'rescheduled' | 'cancelled' | 'confirmed',
  appointmentId: string,
): Promise<ActionResult> {
  const said = SAID[tap.customer.language];
  switch (result.kind) {
    case 'not_found':
      return answer(tap, 'unknown', 'not an appointment of this customer', [text(said.notFound)]);
    case 'not_active':
      return answer(tap, 'stale', `appointment ${result.appointment.status}`, [
        text(said.notActive),
      ]);
    case 'unavailable':
      return answer(tap, 'stale', `slot unavailable: ${result.reason}`, [
        unavailable(tap, result.alternatives, { action: 'move', target: appointmentId }),
      ]);
    case 'done': {
      const { service, when, staff } = describe(result.appointment, tap.customer.language);
      const id = result.appointment.id;
      const reply =
        done === 'cancelled'
          ? text(said.cancelled(service, when))
          : done === 'confirmed'
            ? bookedMessage(tap.channel, tap.customer.language, said.confirmed(service, when), id)
            : bookedMessage(
                tap.channel,
                tap.customer.language,
                said.moved(service, when, staff),
                id,
              );
      return answer(tap, `appointment_${done}`, id, [reply]);
    }
  }
}

/** `appt:{id}:confirm|cancel|reschedule`, on the customer's own appointment only. */
export const appointmentAction: InteractiveAction = async (action) => {
  const { id } = action;
  if (!['confirm', 'cancel', 'reschedule'].includes(id.action)) {
    return ignored('unknown', id, `no appointment action ${id.action}`);
  }
  if (action.staff) return ignored('unknown', id, 'appointment buttons are for customers');
  const tap = await tapOf(action);
  if (!tap) return forTheTeam(action);
  if (id.action === 'reschedule') {
    const own = await ownAppointment(tap.customer, id.id);
    const said = SAID[tap.customer.language];
    if (!own) return changed(tap, { kind: 'not_found' }, 'rescheduled', id.id);
    if (own.status !== 'pending' && own.status !== 'confirmed') {
      return changed(tap, { kind: 'not_active', appointment: own }, 'rescheduled', id.id);
    }
    const offers = await rescheduleOffers(tap.customer, own);
    const name = serviceName(
      { name: own.serviceName, names: own.serviceNames },
      tap.customer.language,
    );
    const options = offerMessage(
      tap.channel,
      tap.customer.language,
      said.reschedule(name),
      offers,
      {
        action: 'move',
        target: own.id,
      },
    );
    return answer(tap, 'reschedule_offered', own.id, [options ?? text(said.noOptions)]);
  }
  const change = id.action === 'cancel' ? 'cancel' : 'confirm';
  return changed(
    tap,
    await changeOwn(tap.customer, id.id, change),
    change === 'cancel' ? 'cancelled' : 'confirmed',
    id.id,
  );
};
