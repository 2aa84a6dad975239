import { formatInteractiveId, formatSlotId, type SlotId } from '../../core/agent/ids';
import type { AgentLanguage } from '../../core/agent/language';
import {
  addDays,
  availableSlots,
  type LocalDate,
  localDateOf,
  slotsByStart,
} from '../../core/appointments/availability';
import {
  longTimeLabel,
  type Offer,
  type PartOfDay,
  pickOffers,
  slotLabel,
} from '../../core/appointments/offer';
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors';
import {
  LIST_ROWS_MAX,
  type MessageChannel,
  type OutboundMessage,
  parseOutboundMessage,
  REPLY_BUTTONS_MAX,
} from '../../core/messaging/kinds';
import {
  type Actor,
  bookAppointment,
  type ContactAppointment,
  cancelAppointment,
  confirmAppointment,
  listContactAppointments,
  listServices,
  loadAvailabilityInputs,
  rescheduleAppointment,
} from '../../db/appointments';
import type { TenantContext } from '../../db/client';

/**
 * The agent's booking, shared by its tools (tools/appointments.ts) and by taps on the buttons it
 * sent (actions.ts). Everything acts for one customer, `contactId`, which always comes from the
 * conversation, never from the model or a tapped id: another customer's appointment is "not
 * found". The agent only books times availability offers (working hours, notice, horizon); the
 * database refuses overlaps, and a refusal becomes fresh options, never an error.
 */
export type Customer = {
  ctx: TenantContext;
  contactId: string;
  conversationId: string;
  language: AgentLanguage;
  now: Date;
};

const agent: Actor = { by: 'agent' };
/** Offered starts are at least this far apart ("9:00, 10:00, 11:00", not "9:00, 9:15, 9:30"). */
const SPREAD_MINUTES = 60;
/** How far ahead the agent looks for alternatives when the day asked for has nothing. */
const LOOKAHEAD_DAYS = 14;

export const serviceName = (
  service: { name: string; names: Record<string, string> },
  language: AgentLanguage,
) => service.names[language] ?? service.name;

export type Offers = {
  service: {
    id: string;
    name: string;
    names: Record<string, string>;
    bookable: boolean;
    requiresAssessment: boolean;
  };
  timeZone: string;
  offers: Offer[];
};

/**
 * Up to `limit` free starts of a service between two local dates (`staffId`: only theirs). For a
 * move, `moving` is the appointment being moved: its own time does not count as taken.
 */
export async function findOffers(
  ctx: TenantContext,
  input: {
    serviceId: string;
    staffId?: string;
    from: LocalDate;
    to: LocalDate;
    partOfDay: PartOfDay;
    limit: number;
    now: Date;
    moving?: { staffId: string; startsAt: Date; endsAt: Date };
    /** Only starts from this instant on (alternatives to a time: that time or later). */
    notBefore?: Date;
  },
): Promise<Offers> {
  const inputs = await loadAvailabilityInputs(ctx, input);
  const { moving } = input;
  const busy = moving
    ? inputs.busy.filter(
        (b) =>
          !(b.staffId === moving.staffId && b.start <= moving.startsAt && b.end >= moving.endsAt),
      )
    : inputs.busy;
  const notBefore = input.notBefore?.getTime() ?? 0;
  const slots = availableSlots({
    ...inputs,
    busy,
    now: input.now,
    from: input.from,
    to: input.to,
  }).filter((s) => s.start.getTime() >= notBefore);
  const offers = pickOffers(slotsByStart(slots), {
    timeZone: inputs.timeZone,
    partOfDay: input.partOfDay,
    limit: input.limit,
    spreadMinutes: SPREAD_MINUTES,
  });
  const named = (await listServices(ctx)).find((s) => s.id === input.serviceId);
  return {
    service: {
      id: inputs.service.id,
      name: inputs.service.name,
      names: named?.names ?? {},
      bookable: inputs.service.bookable,
      requiresAssessment: inputs.service.requiresAssessment,
    },
    timeZone: inputs.timeZone,
    offers,
  };
}

/** Whether `slot` is a time availability offers now (its staff member, exactly that start). */
async function isOffered(
  customer: Customer,
  slot: { serviceId: string; staffId: string; start: Date },
  moving?: { staffId: string; startsAt: Date; endsAt: Date },
): Promise<boolean> {
  // A day either side of the UTC date covers the slot's local date in any zone.
  const utcDate = slot.start.toISOString().slice(0, 10);
  const inputs = await loadAvailabilityInputs(customer.ctx, {
    serviceId: slot.serviceId,
    staffId: slot.staffId,
    from: addDays(utcDate, -1),
    to: addDays(utcDate, 1),
  });
  const busy = moving
    ? inputs.busy.filter(
        (b) =>
          !(b.staffId === moving.staffId && b.start <= moving.startsAt && b.end >= moving.endsAt),
      )
    : inputs.busy;
  return availableSlots({
    ...inputs,
    busy,
    now: customer.now,
    from: addDays(utcDate, -1),
    to: addDays(utcDate, 1),
  }).some((s) => s.staffId === slot.staffId && s.start.getTime() === slot.start.getTime());
}

/** Fresh options after a time was taken: the rest of that day, then the days after. */
async function alternatives(
  customer: Customer,
  input: { serviceId: string; after: Date; moving?: ContactAppointment },
): Promise<Offers | null> {
  // The day before the UTC date covers the time's local date in any zone; `notBefore` keeps
  // only that time or later.
  const utcDate = localDateOf(input.after, 'UTC');
  try {
    return await findOffers(customer.ctx, {
      serviceId: input.serviceId,
      from: addDays(utcDate, -1),
      to: addDays(utcDate, LOOKAHEAD_DAYS),
      partOfDay: 'any',
      limit: REPLY_BUTTONS_MAX,
      now: customer.now,
      moving: input.moving,
      notBefore: input.after,
    });
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

export type BookingResult =
  | { kind: 'booked'; appointment: ContactAppointment }
  /** The customer already holds exactly this time (a second tap on the same button). */
  | { kind: 'already'; appointment: ContactAppointment }
  /** Not free (taken, past, outside hours) or not bookable: fresh options when there are any. */
  | { kind: 'unavailable'; reason: string; alternatives: Offers | null };

/** Books a `book` slot for the customer, as confirmed: they chose the time themselves. */
export async function bookSlot(customer: Customer, slot: SlotId): Promise<BookingResult> {
  const { ctx, contactId, conversationId } = customer;
  const wanted = { serviceId: slot.target, staffId: slot.staffId, start: slot.start };
  const refused = async (reason: string): Promise<BookingResult> => {
    const mine = await holding(customer, wanted);
    if (mine) return { kind: 'already', appointment: mine };
    return {
      kind: 'unavailable',
      reason,
      alternatives: await alternatives(customer, { serviceId: slot.target, after: slot.start }),
    };
  };
  try {
    if (!(await isOffered(customer, wanted))) return refused('that time is not free');
    const booked = await bookAppointment(ctx, {
      serviceId: slot.target,
      staffId: slot.staffId,
      contactId,
      conversationId,
      startsAt: slot.start,
      status: 'confirmed',
      actor: agent,
      now: customer.now,
    });
    return { kind: 'booked', appointment: await viewOf(customer, booked.id) };
  } catch (err) {
    if (err instanceof ConflictError) return refused('that time was just taken');
    if (err instanceof NotFoundError || err instanceof InvalidInputError) {
      return { kind: 'unavailable', reason: err.message, alternatives: null };
    }
    throw err;
  }
}

/** The customer's active appointment of that service at that start, if they hold it already. */
async function holding(
  customer: Customer,
  slot: { serviceId: string; start: Date },
): Promise<ContactAppointment | null> {
  const upcoming = await listContactAppointments(customer.ctx, {
    contactId: customer.contactId,
    from: slot.start,
    limit: 5,
  });
  return (
    upcoming.find(
      (a) => a.serviceId === slot.serviceId && a.startsAt.getTime() === slot.start.getTime(),
    ) ?? null
  );
}

async function viewOf(customer: Customer, appointmentId: string): Promise<ContactAppointment> {
  const [view] = await listContactAppointments(customer.ctx, {
    contactId: customer.contactId,
    appointmentId,
  });
  if (!view) throw new NotFoundError('appointment', appointmentId);
  return view;
}

/** The customer's own appointment, or null (unknown, another tenant's or another customer's). */
export async function ownAppointment(
  customer: Customer,
  appointmentId: string,
): Promise<ContactAppointment | null> {
  if (!UUID.test(appointmentId)) return null;
  const [view] = await listContactAppointments(customer.ctx, {
    contactId: customer.contactId,
    appointmentId,
  });
  return view ?? null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type ChangeResult =
  | { kind: 'done'; appointment: ContactAppointment }
  | { kind: 'not_found' }
  | { kind: 'not_active'; appointment: ContactAppointment }
  | { kind: 'unavailable'; reason: string; alternatives: Offers | null };

const isActive = (a: ContactAppointment) => a.status === 'pending' || a.status === 'confirmed';

/** Cancels or confirms one of the customer's own active appointments. */
export async function changeOwn(
  customer: Customer,
  appointmentId: string,
  change: 'cancel' | 'confirm',
  reason?: string,
): Promise<ChangeResult> {
  const own = await ownAppointment(customer, appointmentId);
  if (!own) return { kind: 'not_found' };
  if (!isActive(own)) return { kind: 'not_active', appointment: own };
  try {
    if (change === 'cancel') {
      await cancelAppointment(customer.ctx, {
        appointmentId: own.id,
        actor: agent,
        reason: reason ?? 'cancelled by the customer',
      });
    } else {
      await confirmAppointment(customer.ctx, { appointmentId: own.id, actor: agent });
    }
  } catch (err) {
    // Changed by someone else since we read it (an operator cancelled it meanwhile).
    if (err instanceof ConflictError) {
      return { kind: 'not_active', appointment: await viewOf(customer, own.id) };
    }
    throw err;
  }
  return { kind: 'done', appointment: await viewOf(customer, own.id) };
}

/**
 * Moves one of the customer's own appointments to a slot: a `move` slot of that appointment, or
 * a `book` slot of its service (from check_availability). Atomic (db rescheduleAppointment): a
 * taken time leaves the appointment where it was and comes back with fresh options.
 */
export async function moveOwn(
  customer: Customer,
  appointmentId: string,
  slot: SlotId,
): Promise<ChangeResult> {
  const own = await ownAppointment(customer, appointmentId);
  if (!own) return { kind: 'not_found' };
  if (!isActive(own)) return { kind: 'not_active', appointment: own };
  const target = slot.action === 'move' ? own.id : own.serviceId;
  if (slot.target !== target) {
    return { kind: 'unavailable', reason: 'that time is for another service', alternatives: null };
  }
  const wanted = { serviceId: own.serviceId, staffId: slot.staffId, start: slot.start };
  const refused = async (reason: string): Promise<ChangeResult> => ({
    kind: 'unavailable',
    reason,
    alternatives: await alternatives(customer, {
      serviceId: own.serviceId,
      after: slot.start,
      moving: own,
    }),
  });
  try {
    if (!(await isOffered(customer, wanted, own))) return refused('that time is not free');
    await rescheduleAppointment(customer.ctx, {
      appointmentId: own.id,
      startsAt: slot.start,
      staffId: slot.staffId,
      actor: agent,
      now: customer.now,
    });
  } catch (err) {
    if (err instanceof ConflictError) return refused('that time was just taken');
    if (err instanceof InvalidInputError) return refused(err.message);
    throw err;
  }
  return { kind: 'done', appointment: await viewOf(customer, own.id) };
}

/** Options for moving the customer's appointment: the next free times from today. */
export async function rescheduleOffers(
  customer: Customer,
  appointment: ContactAppointment,
): Promise<Offers> {
  const today = localDateOf(customer.now, appointment.timeZone);
  return findOffers(customer.ctx, {
    serviceId: appointment.serviceId,
    from: today,
    to: addDays(today, LOOKAHEAD_DAYS),
    partOfDay: 'any',
    limit: REPLY_BUTTONS_MAX,
    now: customer.now,
    moving: appointment,
  });
}

// --- What the customer reads --------------------------------------------------------------------

type Said = {
  offer: (service: string) => string;
  booked: (service: string, when: string, staff: string) => string;
  already: (service: string, when: string, staff: string) => string;
  moved: (service: string, when: string, staff: string) => string;
  cancelled: (service: string, when: string) => string;
  confirmed: (service: string, when: string) => string;
  taken: string;
  moreOptions: string;
  noOptions: string;
  noSlots: (service: string) => string;
  reschedule: (service: string) => string;
  notFound: string;
  notActive: string;
  change: string;
  cancel: string;
  more: string;
};

export const SAID: Record<AgentLanguage, Said> = {
  es: {
    offer: (s) => `Estos son los próximos huecos para ${s}. Elige uno:`,
    booked: (s, w, p) => `¡Listo! Tu cita de ${s} queda reservada para el ${w} con ${p}.`,
    already: (s, w, p) => `Ya tienes esa cita reservada: ${s}, el ${w} con ${p}.`,
    moved: (s, w, p) => `Hecho: tu cita de ${s} pasa al ${w} con ${p}.`,
    cancelled: (s, w) => `Tu cita de ${s} del ${w} queda cancelada.`,
    confirmed: (s, w) => `¡Gracias! Tu cita de ${s} del ${w} queda confirmada.`,
    taken: 'Lo siento, esa hora ya no está disponible.',
    moreOptions: 'Estas son otras opciones:',
    noOptions: 'No veo otros huecos cercanos; dinos qué día te va bien.',
    noSlots: (s) => `No veo huecos libres para ${s} en esas fechas. ¿Te va bien otro día?`,
    reschedule: (s) => `¿A qué hora quieres cambiar tu cita de ${s}?`,
    notFound: 'No encuentro esa cita entre las tuyas. Si necesitas ayuda, escríbenos.',
    notActive: 'Esa cita ya no está activa. Si quieres, te busco otra hora.',
    change: 'Cambiar hora',
    cancel: 'Cancelar cita',
    more: 'Ver horas',
  },
  en: {
    offer: (s) => `Here are the next free times for ${s}. Pick one:`,
    booked: (s, w, p) => `Done! Your ${s} is booked for ${w} with ${p}.`,
    already: (s, w, p) => `You already have that booking: ${s}, ${w} with ${p}.`,
    moved: (s, w, p) => `Done: your ${s} is moved to ${w} with ${p}.`,
    cancelled: (s, w) => `Your ${s} on ${w} is cancelled.`,
    confirmed: (s, w) => `Thank you! Your ${s} on ${w} is confirmed.`,
    taken: 'Sorry, that time is no longer available.',
    moreOptions: 'Here are other options:',
    noOptions: 'I see no other free times soon; tell us which day suits you.',
    noSlots: (s) => `I see no free times for ${s} on those dates. Would another day work?`,
    reschedule: (s) => `Which time would you like for your ${s} instead?`,
    notFound: "I can't find that appointment among yours. If you need help, just write to us.",
    notActive: 'That appointment is no longer active. I can look for another time if you like.',
    change: 'Change time',
    cancel: 'Cancel booking',
    more: 'See times',
  },
  ar: {
    offer: (s) => `هذه أقرب المواعيد المتاحة لـ${s}. اختر واحداً:`,
    booked: (s, w, p) => `تم! حُجز موعدك لـ${s} يوم ${w} مع ${p}.`,
    already: (s, w, p) => `لديك هذا الموعد محجوزاً بالفعل: ${s}، ${w} مع ${p}.`,
    moved: (s, w, p) => `تم: نُقل موعدك لـ${s} إلى ${w} مع ${p}.`,
    cancelled: (s, w) => `تم إلغاء موعدك لـ${s} يوم ${w}.`,
    confirmed: (s, w) => `شكراً! تم تأكيد موعدك لـ${s} يوم ${w}.`,
    taken: 'عذراً، هذا الوقت لم يعد متاحاً.',
    moreOptions: 'إليك خيارات أخرى:',
    noOptions: 'لا أرى أوقاتاً قريبة أخرى؛ أخبرنا باليوم الذي يناسبك.',
    noSlots: (s) => `لا أرى أوقاتاً متاحة لـ${s} في هذه الفترة. هل يناسبك يوم آخر؟`,
    reschedule: (s) => `اختر وقتاً جديداً لموعدك لـ${s}:`,
    notFound: 'لم أجد هذا الموعد ضمن مواعيدك. إذا احتجت مساعدة، راسلنا.',
    notActive: 'هذا الموعد لم يعد نشطاً. إذا أردت، أبحث لك عن وقت آخر.',
    change: 'تغيير الموعد',
    cancel: 'إلغاء الموعد',
    more: 'عرض الأوقات',
  },
};

/** How an appointment reads in a sentence: its service, time (tenant zone) and staff member. */
export function describe(appointment: ContactAppointment, language: AgentLanguage) {
  return {
    service: serviceName(
      { name: appointment.serviceName, names: appointment.serviceNames },
      language,
    ),
    when: longTimeLabel(appointment.startsAt, appointment.timeZone, language),
    staff: appointment.staffName,
  };
}

/**
 * Offered times as one message: reply buttons for up to three, a WhatsApp list for more (quick
 * replies on Messenger and Instagram), each with its slot id. `target` is the service (book) or
 * the appointment being moved (move).
 */
export function offerMessage(
  channel: MessageChannel,
  language: AgentLanguage,
  body: string,
  offers: Offers,
  slot: { action: 'book' | 'move'; target: string },
): OutboundMessage | null {
  const options = offers.offers.slice(0, LIST_ROWS_MAX).map((offer) => ({
    id: formatSlotId({ ...slot, staffId: offer.staffId, start: offer.start }),
    title: slotLabel(offer.start, offers.timeZone, language),
  }));
  if (options.length === 0) return null;
  const candidate =
    options.length <= REPLY_BUTTONS_MAX
      ? { type: 'buttons', body, buttons: options }
      : channel === 'whatsapp'
        ? { type: 'list', body, button: SAID[language].more, sections: [{ rows: options }] }
        : {
            type: 'quick_replies',
            text: body,
            quick_replies: options.map((o) => ({ title: o.title, payload: o.id })),
          };
  const parsed = parseOutboundMessage(channel, candidate);
  return parsed.ok ? parsed.message : null;
}

/** The booking confirmation, with buttons to change or cancel it (`appt:{id}:…`). */
export function bookedMessage(
  channel: MessageChannel,
  language: AgentLanguage,
  text: string,
  appointmentId: string,
): OutboundMessage {
  const said = SAID[language];
  const parsed = parseOutboundMessage(channel, {
    type: 'buttons',
    body: text,
    buttons: [
      { id: formatInteractiveId('appt', appointmentId, 'reschedule'), title: said.change },
      { id: formatInteractiveId('appt', appointmentId, 'cancel'), title: said.cancel },
    ],
  });
  return parsed.ok ? parsed.message : { type: 'text', text };
}
