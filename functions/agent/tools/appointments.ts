import { tool } from 'ai';
import { z } from 'zod';
import {
  formatSlotId,
  parseInteractiveId,
  parseSlotId,
  type SlotId,
} from '../../../core/agent/ids';
import { addDays, isoWeekday, localDateOf } from '../../../core/appointments/availability';
import { longTimeLabel } from '../../../core/appointments/offer';
import { NotFoundError } from '../../../core/errors';
import { LIST_ROWS_MAX, REPLY_BUTTONS_MAX } from '../../../core/messaging/kinds';
import {
  type ContactAppointment,
  listContactAppointments,
  listServices,
} from '../../../db/appointments';
import { asTenant } from '../../../db/client';
import { getTenantSettings } from '../../../db/settings';
import {
  bookSlot,
  type ChangeResult,
  type Customer,
  changeOwn,
  describe,
  findOffers,
  moveOwn,
  type Offers,
  offerMessage,
  ownAppointment,
  SAID,
  serviceName,
} from '../booking';
import type { AgentToolFactory, ToolContext } from './index';

/**
 * The appointment tools. They act for the conversation's customer only (`ctx.contactId`, from the
 * turn, never an argument): the model cannot see or change another customer's appointments. They
 * act at once, under the tenant handle, because a booking must hold its time; a superseded turn's
 * booking therefore stays (the next turn sees it with my_appointments). Offered times go to the
 * customer as buttons (or a list) whose taps book without the model (actions.ts).
 */

/** Runs `work` for the turn's customer in one tenant transaction. */
function forCustomer<T>(ctx: ToolContext, work: (customer: Customer) => Promise<T>): Promise<T> {
  return asTenant(ctx.db, ctx.tenantId, (tx) =>
    work({
      ctx: tx,
      contactId: ctx.contactId,
      conversationId: ctx.conversationId,
      language: ctx.language,
      now: ctx.now,
    }),
  );
}

const uuid = z.uuid();

/** A slot id (from check_availability), parsed; null when the model made one up badly. */
function slotOf(raw: string): SlotId | null {
  const id = parseInteractiveId(raw);
  return id ? parseSlotId(id) : null;
}

/** What offered times do when chosen: book the service, or move an appointment (`target`). */
type SlotAction = { action: 'book' | 'move'; target: string };
const booking = (offers: Offers): SlotAction => ({ action: 'book', target: offers.service.id });

/** What the model sees of offered times: ids to book with, and how the customer reads them. */
function slotsOut(offers: Offers, ctx: ToolContext, slot: SlotAction = booking(offers)) {
  return offers.offers.map((offer) => ({
    slot_id: formatSlotId({ ...slot, staffId: offer.staffId, start: offer.start }),
    starts_at: offer.start.toISOString(),
    local_time: longTimeLabel(offer.start, offers.timeZone, ctx.language),
    staff_id: offer.staffId,
  }));
}

/** Queues offered times as buttons/list for the customer; false when there is nothing to send. */
function send(
  ctx: ToolContext,
  toolCallId: string,
  body: string,
  offers: Offers,
  slot: SlotAction = booking(offers),
): boolean {
  const message = offerMessage(ctx.channel, ctx.language, body, offers, slot);
  if (message) ctx.effects.messages.push({ toolCallId, message });
  return message !== null;
}

function appointmentOut(a: ContactAppointment, ctx: ToolContext) {
  const { service, when, staff } = describe(a, ctx.language);
  return {
    appointment_id: a.id,
    service,
    status: a.status,
    starts_at: a.startsAt.toISOString(),
    local_time: when,
    staff,
  };
}

/** A change's result as the model reads it; a refusal tells it what to do next. */
function changeOut(
  result: ChangeResult,
  ctx: ToolContext,
  toolCallId: string,
  done: string,
  slot?: SlotAction,
) {
  switch (result.kind) {
    case 'done':
      return { status: done, appointment: appointmentOut(result.appointment, ctx) };
    case 'not_found':
      return {
        status: 'not_found',
        note: 'No such appointment of this customer. Use my_appointments; never guess ids.',
      };
    case 'not_active':
      return {
        status: 'not_active',
        appointment: appointmentOut(result.appointment, ctx),
        note: `This appointment is ${result.appointment.status}; nothing was changed.`,
      };
    case 'unavailable':
      return unavailableOut(result, ctx, toolCallId, slot);
  }
}

function unavailableOut(
  result: { reason: string; alternatives: Offers | null },
  ctx: ToolContext,
  toolCallId: string,
  slot?: SlotAction,
) {
  const said = SAID[ctx.language];
  const alternatives = result.alternatives;
  const sent =
    alternatives !== null &&
    alternatives.offers.length > 0 &&
    send(ctx, toolCallId, `${said.taken} ${said.moreOptions}`, alternatives, slot);
  return {
    status: 'unavailable',
    reason: result.reason,
    alternatives: alternatives ? slotsOut(alternatives, ctx, slot) : [],
    note: sent
      ? 'Nothing was booked. The customer already sees these alternatives as buttons with a ' +
        '"that time was just taken" line: do not list them again; a short sentence is enough.'
      : 'Nothing was booked and there are no free times soon: ask which other day suits them.',
  };
}

export const listServicesTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      "The business's services the customer can ask for: ids, names, duration, price, and " +
      'whether you may book them (bookable) or a person must (then offer a person).',
    inputSchema: z.object({}),
    execute: async () =>
      forCustomer(ctx, async (customer) => ({
        services: (await listServices(customer.ctx)).map((s) => ({
          service_id: s.id,
          name: serviceName(s, ctx.language),
          names: [...new Set([s.name, ...Object.values(s.names)])],
          duration_minutes: s.durationMinutes,
          price:
            s.priceMinor === null
              ? 'on request'
              : `${(s.priceMinor / 100).toFixed(2)} ${s.currency}`,
          bookable: s.bookable && !s.requiresAssessment,
          ...(s.requiresAssessment ? { note: 'needs an assessment by a person first' } : {}),
        })),
      })),
  });

const availabilityInput = z.object({
  service_id: uuid.optional().describe('Required unless appointment_id is given'),
  appointment_id: z
    .string()
    .min(1)
    .max(120)
    .optional()
    .describe("One of this customer's appointments to move (from my_appointments)"),
  date: z.iso.date().optional().describe('YYYY-MM-DD, a day in the business time zone'),
  weekday: z
    .number()
    .int()
    .min(1)
    .max(7)
    .optional()
    .describe('1 = Monday … 7 = Sunday: the next such day (instead of date)'),
  to: z.iso.date().optional().describe('Last day of a range (inclusive); at most 14 days'),
  part_of_day: z.enum(['morning', 'afternoon', 'any']).default('any'),
  staff_id: uuid.optional(),
  max_options: z.number().int().min(1).max(LIST_ROWS_MAX).default(REPLY_BUTTONS_MAX),
  send_to_customer: z.boolean().default(true),
});
type AvailabilityInput = z.infer<typeof availabilityInput>;

/** Refusals a check can end in before any search, as the model is told them. */
type Refusal = { status: string; note: string; appointment?: unknown };

/**
 * For a move: the customer's own active appointment (never another's); its service and its own
 * time count as free. Undefined when nothing is being moved.
 */
async function appointmentToMove(
  customer: Customer,
  ctx: ToolContext,
  appointmentId: string | undefined,
): Promise<{ moving?: ContactAppointment; refusal?: Refusal }> {
  if (!appointmentId) return {};
  const moving = await ownAppointment(customer, appointmentId);
  if (moving === null) {
    return {
      refusal: {
        status: 'not_found',
        note: 'No such appointment of this customer. Use my_appointments; never guess ids.',
      },
    };
  }
  if (moving.status !== 'pending' && moving.status !== 'confirmed') {
    return {
      refusal: {
        status: 'not_active',
        appointment: appointmentOut(moving, ctx),
        note: `This appointment is ${moving.status}; it cannot be moved.`,
      },
    };
  }
  return { moving };
}

/** The days asked for, in the business's zone: a date, the next such weekday, or today; ≤ 14 days. */
function requestedDays(input: AvailabilityInput, today: string) {
  const from =
    input.date ??
    (input.weekday ? addDays(today, ((input.weekday - isoWeekday(today) + 6) % 7) + 1) : today);
  const last = addDays(from, 13);
  // `to` clamped between from and last: the middle of the three (YYYY-MM-DD sorts as text).
  const to = [from, input.to ?? from, last].sort()[1] as string;
  return { from, to };
}

export const checkAvailabilityTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      'Free times for a service on a day (date, or the next such weekday) or a range of dates, ' +
      'optionally in the morning (before 12:00) or afternoon, optionally with one staff member. ' +
      "To move one of the customer's appointments, give its appointment_id (from " +
      'my_appointments) instead of service_id: the times are for its service and move it. ' +
      `By default the times are sent to the customer as buttons (up to ${REPLY_BUTTONS_MAX}; a ` +
      'list for more) that book (or move) when tapped: then just add a short sentence, do not ' +
      'list them. If the day asked has nothing, the next free times are returned instead.',
    inputSchema: availabilityInput,
    execute: async (input, { toolCallId }) =>
      forCustomer(ctx, async (customer) => {
        const { moving, refusal } = await appointmentToMove(customer, ctx, input.appointment_id);
        if (refusal) return refusal;
        const serviceId = moving?.serviceId ?? input.service_id;
        if (!serviceId) {
          return {
            status: 'unknown_service',
            note: 'Give service_id (list_services) or appointment_id.',
          };
        }
        const { timeZone } = await getTenantSettings(customer.ctx);
        const { from, to } = requestedDays(input, localDateOf(ctx.now, timeZone));
        const search = (range: { from: string; to: string; partOfDay: typeof input.part_of_day }) =>
          findOffers(customer.ctx, {
            serviceId,
            ...(input.staff_id ? { staffId: input.staff_id } : {}),
            ...(moving ? { moving } : {}),
            ...range,
            limit: input.max_options,
            now: ctx.now,
          });
        let offers: Offers;
        try {
          offers = await search({ from, to, partOfDay: input.part_of_day });
        } catch (err) {
          if (err instanceof NotFoundError) {
            return { status: 'unknown_service', note: 'Use list_services for the ids.' };
          }
          throw err;
        }
        if (!moving && (!offers.service.bookable || offers.service.requiresAssessment)) {
          return {
            status: 'not_bookable',
            note: 'A person books this service: offer to pass the customer to the team.',
          };
        }
        let note: string | undefined;
        if (offers.offers.length === 0) {
          offers = await search({ from, to: addDays(from, 13), partOfDay: 'any' });
          note = 'Nothing free when asked; these are the next free times.';
        }
        const name = serviceName(offers.service, ctx.language);
        if (offers.offers.length === 0) note = SAID.en.noSlots(name);
        const slot: SlotAction = moving ? { action: 'move', target: moving.id } : booking(offers);
        const said = SAID[ctx.language];
        const sent =
          input.send_to_customer &&
          offers.offers.length > 0 &&
          send(ctx, toolCallId, moving ? said.reschedule(name) : said.offer(name), offers, slot);
        return {
          status: offers.offers.length > 0 ? 'ok' : 'none',
          service: name,
          time_zone: offers.timeZone,
          slots: slotsOut(offers, ctx, slot),
          sent_to_customer: sent,
          ...(note ? { note } : {}),
        };
      }),
  });

export const bookAppointmentTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      'Book a time for this customer. Only a slot_id from check_availability that the customer ' +
      'explicitly chose (said or tapped); never pick one for them. A time just taken comes back ' +
      'as unavailable with fresh alternatives (already shown to the customer as buttons).',
    inputSchema: z.object({ slot_id: z.string().min(1).max(120) }),
    execute: async ({ slot_id }, { toolCallId }) =>
      forCustomer(ctx, async (customer) => {
        const slot = slotOf(slot_id);
        if (slot?.action !== 'book') {
          return { status: 'invalid_slot', note: 'Use a slot_id from check_availability.' };
        }
        const result = await bookSlot(customer, slot);
        if (result.kind === 'unavailable') return unavailableOut(result, ctx, toolCallId);
        return {
          status: result.kind === 'booked' ? 'booked' : 'already_booked',
          appointment: appointmentOut(result.appointment, ctx),
        };
      }),
  });

export const myAppointmentsTool: AgentToolFactory = (ctx) =>
  tool({
    description: "This customer's upcoming appointments (pending or confirmed), soonest first.",
    inputSchema: z.object({}),
    execute: async () =>
      forCustomer(ctx, async (customer) => ({
        appointments: (
          await listContactAppointments(customer.ctx, {
            contactId: customer.contactId,
            from: ctx.now,
          })
        ).map((a) => appointmentOut(a, ctx)),
      })),
  });

const appointmentId = z.object({ appointment_id: z.string().min(1).max(120) });

export const confirmAppointmentTool: AgentToolFactory = (ctx) =>
  tool({
    description: "Confirm one of this customer's pending appointments (ids from my_appointments).",
    inputSchema: appointmentId,
    execute: async ({ appointment_id }, { toolCallId }) =>
      forCustomer(ctx, async (customer) =>
        changeOut(
          await changeOwn(customer, appointment_id, 'confirm'),
          ctx,
          toolCallId,
          'confirmed',
        ),
      ),
  });

export const cancelAppointmentTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      "Cancel one of this customer's appointments (ids from my_appointments) when they ask to.",
    inputSchema: appointmentId.extend({
      reason: z.string().max(300).optional().describe("The customer's reason, if they gave one"),
    }),
    execute: async ({ appointment_id, reason }, { toolCallId }) =>
      forCustomer(ctx, async (customer) =>
        changeOut(
          await changeOwn(customer, appointment_id, 'cancel', reason),
          ctx,
          toolCallId,
          'cancelled',
        ),
      ),
  });

export const rescheduleAppointmentTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      "Move one of this customer's appointments to a new time they chose: a slot_id of the same " +
      'service from check_availability. Atomic: if the new time was just taken nothing changes ' +
      'and fresh alternatives come back.',
    inputSchema: appointmentId.extend({ slot_id: z.string().min(1).max(120) }),
    execute: async ({ appointment_id, slot_id }, { toolCallId }) =>
      forCustomer(ctx, async (customer) => {
        const slot = slotOf(slot_id);
        if (!slot)
          return { status: 'invalid_slot', note: 'Use a slot_id from check_availability.' };
        // Alternatives move this appointment when tapped: a `book` button would add a second one.
        return changeOut(
          await moveOwn(customer, appointment_id, slot),
          ctx,
          toolCallId,
          'rescheduled',
          { action: 'move', target: appointment_id },
        );
      }),
  });

export const appointmentTools: Record<string, AgentToolFactory> = {
  list_services: listServicesTool,
  check_availability: checkAvailabilityTool,
  book_appointment: bookAppointmentTool,
  my_appointments: myAppointmentsTool,
  confirm_appointment: confirmAppointmentTool,
  reschedule_appointment: rescheduleAppointmentTool,
  cancel_appointment: cancelAppointmentTool,
};
