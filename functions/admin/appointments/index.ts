import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  loadAppointmentMessageFacts,
  recordCustomerNotice,
} from '../../../db/appointment-reminders';
import {
  type AppointmentView,
  bookAppointment,
  cancelAppointment,
  findFreeSlots,
  getAppointmentView,
  listAppointmentEvents,
  listAppointments,
  rescheduleAppointment,
  setAppointmentStatus,
} from '../../../db/appointments';
import type { TenantContext } from '../../../db/client';
import type { OutboxJob } from '../../../db/outbox';
import { type AppointmentNotice, queueAppointmentNotice } from '../../agent/appointment-messages';
import type { App } from '../../app';
import type { HonoEnv } from '../../context';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import {
  afterResponse,
  checkDateRange,
  EXAMPLE_ID,
  EXAMPLE_TIME,
  field,
  fromRow,
  idParams,
  jsonBody,
  jsonResponse,
  operatorRoutes,
} from '../route';

/**
 * `/admin/appointments` and `/admin/availability`: the diary (docs/appointments.md). Every member
 * books, moves, cancels and records outcomes; every change is in the appointment's history.
 * Overlaps are Postgres's to refuse: a time already taken is a 409 whose `conflicting_id` is the
 * appointment holding it. Operators may book outside working hours (a favour to a customer);
 * availability is what the agent would offer. Moving or cancelling tells the customer (unless
 * `notify_customer` is false) the way a reminder would: agent/appointment-messages.ts.
 */

const route = operatorRoutes('appointments');

/** A diary range longer than this is not a diary view; it bounds the query. */
const MAX_RANGE_DAYS = 62;

const STATUSES = ['pending', 'confirmed', 'cancelled', 'completed', 'no_show'] as const;
const doc = {
  status: {
    description:
      'pending, confirmed (both hold the time), cancelled, completed, no_show (these free it)',
    example: 'confirmed' as const,
  },
  notes: { description: 'Notes for the team; null: none', example: 'Prefers Ana' },
};

const instant = (description: string) =>
  z.iso
    .datetime({ offset: true })
    .openapi({ description: `${description} (ISO 8601 with offset)`, example: EXAMPLE_TIME });

const appointment = z
  .object({
    id: field.id('The appointment'),
    service_id: field.id('The service booked'),
    service_name: field.string('The service’s name', 'Haircut'),
    staff_id: field.id('Whose time it takes'),
    staff_name: field.string('The staff member’s name', 'Ana'),
    contact_id: field.id('The customer'),
    contact_name: field.nullableString('The customer’s name, when known', 'María López'),
    conversation_id: field.id('The conversation it was booked in; null: none').nullable(),
    starts_at: field.time('When the service starts, as the customer is told'),
    ends_at: field.time('When the service ends, as the customer is told'),
    status: z.enum(STATUSES).openapi(doc.status),
    booked_by: z.enum(['agent', 'operator', 'system']).openapi({
      description: 'Who booked it: the AI agent, an operator or the system',
      example: 'operator',
    }),
    booked_by_user_id: field.id('The operator who booked it; null: not an operator').nullable(),
    notes: z.string().nullable().openapi(doc.notes),
    created_at: field.time('When it was booked'),
    updated_at: field.time('When it last changed'),
  })
  .openapi('Appointment', { description: 'A booked slot of a staff member' });

const appointmentEvent = z
  .object({
    id: field.id('The event'),
    kind: field.string(
      'What happened: booked, rescheduled, cancelled, confirmed, completed, no_show, customer_notified (what a move or cancellation told the customer, or why nothing was sent)',
      'rescheduled',
    ),
    actor: z.enum(['agent', 'operator', 'system']).openapi({
      description: 'Who did it',
      example: 'operator',
    }),
    actor_user_id: field.id('The operator who did it; null: not an operator').nullable(),
    changes: z.record(z.string(), z.unknown()).openapi({
      description: 'What changed, `{ field: [before, after] }`, or the booking as made',
      example: { startsAt: ['2027-03-01T09:00:00.000Z', '2027-03-01T10:00:00.000Z'] },
    }),
    created_at: field.time('When it happened'),
  })
  .openapi('AppointmentEvent', { description: 'One change in an appointment’s history' });

const appointmentWithHistory = appointment
  .extend({
    history: z.array(appointmentEvent).openapi({ description: 'Its history, oldest first' }),
  })
  .openapi('AppointmentWithHistory', { description: 'An appointment and its history' });

const toAppointment = (row: AppointmentView) => fromRow(appointment, row);

/** `from`..`to`, local dates in the business time zone, inclusive, and optionally one staff member. */
const rangeShape = {
  from: field.date('First date, in the business time zone', '2027-03-01'),
  to: field.date('Last date, inclusive', '2027-03-07'),
  staff_id: z
    .uuid()
    .optional()
    .openapi({ description: 'Only this staff member', example: EXAMPLE_ID }),
};

/** A range runs forwards and spans at most a few weeks. */
const checkRange = (q: { from: string; to: string }, ctx: z.RefinementCtx) =>
  checkDateRange(q, ctx, MAX_RANGE_DAYS);

const listRoute = route('get', '/appointments', {
  operationId: 'listAppointments',
  summary: 'The diary: appointments (any status) starting on a range of days, earliest first',
  request: { query: z.object(rangeShape).superRefine(checkRange) },
  responses: {
    200: jsonResponse('The appointments', itemsOf(appointment, 'Appointments, earliest first')),
  },
});

const getRoute = route('get', '/appointments/{id}', {
  operationId: 'getAppointment',
  summary: 'One appointment with its history',
  request: { params: idParams },
  responses: { 200: jsonResponse('The appointment', appointmentWithHistory) },
});

const bookInput = z
  .object({
    service_id: field.id('The service'),
    staff_id: field.id('Who performs it (they must perform the service)'),
    contact_id: field.id('The customer'),
    conversation_id: field.id('The customer’s conversation it is about, if any').optional(),
    starts_at: instant('When the service starts'),
    notes: z.string().trim().max(2000).optional().openapi(doc.notes),
    status: z.enum(['pending', 'confirmed']).default('confirmed').openapi({
      description: 'confirmed (default: booked with the customer) or pending',
      example: 'confirmed',
    }),
  })
  .strict()
  .openapi('AppointmentInput', {
    description: 'A booking; the service fixes its length. Outside working hours is allowed',
  });

const createAppointmentRoute = route('post', '/appointments', {
  operationId: 'createAppointment',
  summary: 'Book an appointment (409 with conflicting_id when the time is taken)',
  request: { body: jsonBody(bookInput) },
  responses: { 201: jsonResponse('The new appointment', appointment) },
});

const moveInput = z
  .object({
    starts_at: instant('The new start'),
    staff_id: field.id('Another staff member; omitted: the same').optional(),
    notify_customer: z.boolean().default(true).openapi({
      description:
        'Tell the customer (default), as a reminder would: inside the 24 h window a message, outside it the approved template; false: change it silently',
      example: true,
    }),
  })
  .strict()
  .openapi('AppointmentMove', { description: 'Where to move an appointment' });

const moveRoute = route('post', '/appointments/{id}/reschedule', {
  operationId: 'rescheduleAppointment',
  summary: 'Move an active appointment (409 with conflicting_id when the new time is taken)',
  request: { params: idParams, body: jsonBody(moveInput) },
  responses: { 200: jsonResponse('The moved appointment', appointment) },
});

const cancelInput = z
  .object({
    reason: z.string().trim().max(500).optional().openapi({
      description: 'Why, kept in its history',
      example: 'Customer called to cancel',
    }),
    notify_customer: z.boolean().default(true).openapi({
      description:
        'Tell the customer (default), as a reminder would: inside the 24 h window a message, outside it the approved template; false: change it silently',
      example: true,
    }),
  })
  .strict()
  .openapi('AppointmentCancel', { description: 'A cancellation' });

const cancelRoute = route('post', '/appointments/{id}/cancel', {
  operationId: 'cancelAppointment',
  summary: 'Cancel an active appointment, freeing its time (409 when not active)',
  request: { params: idParams, body: jsonBody(cancelInput) },
  responses: { 200: jsonResponse('The cancelled appointment', appointment) },
});

/** The status changes without a body: path segment, new status, what the summary says. */
const OUTCOMES = [
  ['confirm', 'confirmed', 'Confirm a pending appointment (409 otherwise)'],
  ['complete', 'completed', 'Record that an active appointment took place, freeing its time'],
  ['no-show', 'no_show', 'Record that the customer did not come, freeing the time'],
] as const;

const outcomeRoutes = OUTCOMES.map(([segment, status, summary]) => ({
  status,
  route: route('post', `/appointments/{id}/${segment}`, {
    operationId: `${segment === 'no-show' ? 'noShow' : segment}Appointment`,
    summary,
    request: { params: idParams },
    responses: { 200: jsonResponse('The appointment', appointment) },
  }),
}));

const slot = z
  .object({
    staff_id: field.id('Who would perform it'),
    start: field.time('When the service would start'),
    end: field.time('When the service would end'),
  })
  .openapi('Slot', { description: 'A free time for the service' });

const availabilityRoute = route('get', '/availability', {
  operationId: 'getAvailability',
  summary: 'Free slots of an active service (what the agent would offer), earliest first',
  request: {
    query: z
      .object({
        service_id: z.uuid().openapi({ description: 'The service', example: EXAMPLE_ID }),
        ...rangeShape,
      })
      .superRefine(checkRange),
  },
  responses: {
    200: jsonResponse('The free slots', itemsOf(slot, 'Slots, earliest first, per staff member')),
  },
});

/**
 * Queues the customer's notice of an operator's change in the change's transaction and records in
 * the history what was sent or why not. Returns the send job, published after the response.
 */
async function notifyCustomer(
  ctx: TenantContext,
  input: { appointmentId: string; notice: AppointmentNotice; userId: string; now: Date },
): Promise<OutboxJob[]> {
  const facts = await loadAppointmentMessageFacts(ctx, input.appointmentId);
  if (!facts) return [];
  const { job, ...outcome } = await queueAppointmentNotice(ctx, facts, input.notice, input.now);
  await recordCustomerNotice(ctx, {
    appointmentId: input.appointmentId,
    actor: { by: 'operator', userId: input.userId },
    changes: { notice: input.notice, ...outcome },
  });
  return job ? [job] : [];
}

/** The notice's send job, published once the change is committed (like every send). */
function publishAfterResponse(c: Context<HonoEnv>, jobs: OutboxJob[]) {
  if (jobs.length === 0) return;
  afterResponse(c, 'publishing the customer notice', (services) =>
    publishJobs(services, c.var.env, jobs),
  );
}

export function registerAppointments(app: App) {
  app.openapi(listRoute, async (c) => {
    const { from, to, staff_id: staffId } = c.req.valid('query');
    const rows = await asCurrentOperator(c, ({ ctx }) =>
      listAppointments(ctx, { from, to, staffId }),
    );
    return c.json({ items: rows.map(toAppointment) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { row, events } = await asCurrentOperator(c, async ({ ctx }) => ({
      row: await getAppointmentView(ctx, id),
      events: await listAppointmentEvents(ctx, id),
    }));
    const history = events.map((event) => fromRow(appointmentEvent, event));
    return c.json({ ...toAppointment(row), history }, 200);
  });

  app.openapi(createAppointmentRoute, async (c) => {
    const body = c.req.valid('json');
    const row = await asCurrentOperator(c, async ({ ctx, userId }) => {
      const booked = await bookAppointment(ctx, {
        serviceId: body.service_id,
        staffId: body.staff_id,
        contactId: body.contact_id,
        conversationId: body.conversation_id ?? null,
        startsAt: new Date(body.starts_at),
        status: body.status,
        notes: body.notes ?? null,
        actor: { by: 'operator', userId },
        now: c.var.services.clock.now(),
      });
      return getAppointmentView(ctx, booked.id);
    });
    return c.json(toAppointment(row), 201);
  });

  app.openapi(moveRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const now = c.var.services.clock.now();
    const { row, jobs } = await asCurrentOperator(c, async ({ ctx, userId }) => {
      await rescheduleAppointment(ctx, {
        appointmentId: id,
        startsAt: new Date(body.starts_at),
        staffId: body.staff_id,
        actor: { by: 'operator', userId },
        now,
      });
      const jobs = body.notify_customer
        ? await notifyCustomer(ctx, { appointmentId: id, notice: 'moved', userId, now })
        : [];
      return { row: await getAppointmentView(ctx, id), jobs };
    });
    publishAfterResponse(c, jobs);
    return c.json(toAppointment(row), 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { reason, notify_customer: notify } = c.req.valid('json');
    const now = c.var.services.clock.now();
    const { row, jobs } = await asCurrentOperator(c, async ({ ctx, userId }) => {
      await cancelAppointment(ctx, {
        appointmentId: id,
        reason,
        actor: { by: 'operator', userId },
      });
      const jobs = notify
        ? await notifyCustomer(ctx, { appointmentId: id, notice: 'cancelled', userId, now })
        : [];
      return { row: await getAppointmentView(ctx, id), jobs };
    });
    publishAfterResponse(c, jobs);
    return c.json(toAppointment(row), 200);
  });

  for (const outcome of outcomeRoutes) {
    app.openapi(outcome.route, async (c) => {
      const { id } = c.req.valid('param');
      const row = await asCurrentOperator(c, async ({ ctx, userId }) => {
        await setAppointmentStatus(ctx, {
          appointmentId: id,
          status: outcome.status,
          actor: { by: 'operator', userId },
        });
        return getAppointmentView(ctx, id);
      });
      return c.json(toAppointment(row), 200);
    });
  }

  app.openapi(availabilityRoute, async (c) => {
    const { service_id: serviceId, staff_id: staffId, from, to } = c.req.valid('query');
    const now = c.var.services.clock.now();
    const slots = await asCurrentOperator(c, ({ ctx }) =>
      findFreeSlots(ctx, { serviceId, staffId, from, to, now }),
    );
    return c.json({ items: slots.map((free) => fromRow(slot, free)) }, 200);
  });
}
