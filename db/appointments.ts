import { and, asc, eq, ne, type SQL, sql } from 'drizzle-orm';
import {
  type AvailabilityQuery,
  availableSlots,
  type BusyPeriod,
  type LocalDate,
  parseDate,
  type ScheduleException,
  type ServiceTiming,
  type Slot,
  type WeeklyHours,
} from '../core/appointments/availability';
import { ConflictError, InvalidInputError, NotFoundError } from '../core/errors';
import { scheduleReminders } from './appointment-reminders';
import type { TenantContext, Tx } from './client';
import {
  ACTIVE_APPOINTMENT_STATUSES,
  type AppointmentActor,
  type AppointmentStatus,
  appointmentEvents,
  appointments,
  contacts,
  services,
  staff,
} from './schema';
import { tenantTimeZone } from './settings';
import { isOneOf, sqlErrorOf } from './sql';

/**
 * Appointments (docs/appointments.md). Postgres owns the one rule that must hold under any
 * concurrency, no double booking (the `appointments_no_overlap` exclusion constraint): these
 * functions do not check for overlaps first, they let the write fail and report who holds the
 * slot. Every change writes an appointment_events row in the same transaction.
 */

export type Actor = { by: AppointmentActor; userId?: string | null };
export type Appointment = typeof appointments.$inferSelect;
export type Service = typeof services.$inferSelect & { staffIds: string[] };
export type StaffMember = typeof staff.$inferSelect;

/** The tenant's services with the staff who perform them; retired ones only when asked. */
export async function listServices(
  { tx, tenantId }: TenantContext,
  input: { includeInactive?: boolean } = {},
): Promise<Service[]> {
  const rows = await tx
    .select({
      service: services,
      staffIds: sql<string[]>`coalesce((select jsonb_agg(ss.staff_id order by ss.staff_id)
        from service_staff ss where ss.service_id = services.id), '[]'::jsonb)`,
    })
    .from(services)
    .where(
      and(
        eq(services.tenantId, tenantId),
        input.includeInactive ? undefined : eq(services.active, true),
      ),
    )
    .orderBy(asc(services.name), asc(services.id));
  return rows.map((row) => ({ ...row.service, staffIds: row.staffIds }));
}

/** The tenant's staff; deactivated members only when asked. */
export async function listStaff(
  { tx, tenantId }: TenantContext,
  input: { includeInactive?: boolean } = {},
): Promise<StaffMember[]> {
  return tx
    .select()
    .from(staff)
    .where(
      and(eq(staff.tenantId, tenantId), input.includeInactive ? undefined : eq(staff.active, true)),
    )
    .orderBy(asc(staff.name), asc(staff.id));
}

export type AvailabilityInputs = Omit<AvailabilityQuery, 'now' | 'from' | 'to'> & {
  service: ServiceTiming & {
    id: string;
    name: string;
    bookable: boolean;
    requiresAssessment: boolean;
  };
};

type AvailabilityRow = {
  service: {
    id: string;
    name: string;
    durationMinutes: number;
    bufferBeforeMinutes: number;
    bufferAfterMinutes: number;
    bookable: boolean;
    requiresAssessment: boolean;
  } | null;
  settings: {
    timeZone: string;
    slotStepMinutes: number;
    minNoticeMinutes: number;
    maxHorizonDays: number;
  } | null;
  staff_ids: string[];
  weekly_hours: WeeklyHours[];
  exceptions: ScheduleException[];
  busy: Array<{ staffId: string; start: string; end: string }>;
};

/**
 * Everything availability needs for an active service between two local dates, in one statement:
 * the service, the tenant's zone and booking settings, the active staff who perform it (or just
 * `staffId`), their weekly hours, the exceptions on those dates and their busy periods (active
 * appointments, buffers included; a day either side, which buffers and zones can reach).
 */
export async function loadAvailabilityInputs(
  { tx, tenantId }: TenantContext,
  input: { serviceId: string; staffId?: string; from: LocalDate; to: LocalDate },
): Promise<AvailabilityInputs> {
  parseDate(input.from);
  parseDate(input.to);
  const staffFilter = input.staffId ? sql`and st.id = ${input.staffId}` : sql``;
  const [row] = await tx.execute<AvailabilityRow>(sql`
    with settings as (
      select ${tenantTimeZone(tenantId)} as tz,
             (select to_jsonb(s) from (
                select time_zone as "timeZone", slot_step_minutes as "slotStepMinutes",
                  min_notice_minutes as "minNoticeMinutes", max_horizon_days as "maxHorizonDays"
                from tenant_settings where tenant_id = ${tenantId}) s) as settings
    ), performers as (
      select st.id from staff st
      join service_staff ss on ss.staff_id = st.id and ss.service_id = ${input.serviceId}
      where st.tenant_id = ${tenantId} and st.active ${staffFilter}
    )
    select
      (select to_jsonb(s) from (
         select id, name, duration_minutes as "durationMinutes",
           buffer_before_minutes as "bufferBeforeMinutes", buffer_after_minutes as "bufferAfterMinutes",
           bookable, requires_assessment as "requiresAssessment"
         from services where id = ${input.serviceId} and tenant_id = ${tenantId} and active) s) as service,
      (select settings from settings) as settings,
      (select coalesce(jsonb_agg(id order by id), '[]'::jsonb) from performers) as staff_ids,
      (select coalesce(jsonb_agg(jsonb_build_object('staffId', w.staff_id, 'weekday', w.weekday,
          'start', w.start_time, 'end', w.end_time)), '[]'::jsonb)
        from working_hours w where w.staff_id in (select id from performers)) as weekly_hours,
      (select coalesce(jsonb_agg(jsonb_build_object('staffId', e.staff_id, 'date', e.date,
          'kind', e.kind, 'start', e.start_time, 'end', e.end_time)), '[]'::jsonb)
        from schedule_exceptions e
        where e.tenant_id = ${tenantId} and e.date between ${input.from}::date and ${input.to}::date
          and (e.staff_id is null or e.staff_id in (select id from performers))) as exceptions,
      (select coalesce(jsonb_agg(jsonb_build_object('staffId', a.staff_id,
          'start', lower(a.period), 'end', upper(a.period))), '[]'::jsonb)
        from appointments a, settings
        where a.staff_id in (select id from performers)
          and a.status in ('pending', 'confirmed')
          and a.period && tstzrange((${input.from}::date - 1)::timestamp at time zone settings.tz,
                                    (${input.to}::date + 2)::timestamp at time zone settings.tz)) as busy
  `);
  if (!row?.service) throw new NotFoundError('service', input.serviceId);
  const settings = row.settings ?? {
    timeZone: 'UTC',
    slotStepMinutes: 15,
    minNoticeMinutes: 120,
    maxHorizonDays: 60,
  };
  return {
    ...settings,
    service: row.service,
    staffIds: row.staff_ids,
    weeklyHours: row.weekly_hours,
    exceptions: row.exceptions,
    busy: row.busy.map(
      (b): BusyPeriod => ({ staffId: b.staffId, start: new Date(b.start), end: new Date(b.end) }),
    ),
  };
}

/** Free slots of a service between two local dates, for one staff member or any who performs it. */
export async function findFreeSlots(
  ctx: TenantContext,
  input: { serviceId: string; staffId?: string; from: LocalDate; to: LocalDate; now: Date },
): Promise<Slot[]> {
  const inputs = await loadAvailabilityInputs(ctx, input);
  return availableSlots({ ...inputs, now: input.now, from: input.from, to: input.to });
}

const MINUTE = 60_000;

const range = (start: Date, end: Date) =>
  sql`tstzrange(${start.toISOString()}::timestamptz, ${end.toISOString()}::timestamptz, '[)')`;

const isActive = () => isOneOf(appointments.status, ACTIVE_APPOINTMENT_STATUSES);

/** How often a booking that lost a deadlock on the no-overlap check is tried again. */
const DEADLOCK_ATTEMPTS = 3;

/**
 * Runs `write` in a savepoint; when it breaks the no-overlap constraint, the caller's transaction
 * carries on (nothing of `write` kept) and a ConflictError names the appointment holding the time.
 *
 * Two bookings of overlapping times, neither committed, can each find the other's row while
 * checking the exclusion constraint and wait for each other: Postgres ends that by failing one
 * with a deadlock (40P01, "while checking exclusion constraint"). Only the savepoint is undone, so
 * the loser tries again: it then waits for the other booking's transaction and gets the time if
 * that one rolls back, else the usual 23P01 naming it.
 */
async function takingTime<T>(
  tx: Tx,
  claim: { staffId: string; start: Date; end: Date; exceptId?: string },
  write: (sp: Tx) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tx.transaction(write);
    } catch (err) {
      const { code } = sqlErrorOf(err);
      if (code === '40P01' && attempt < DEADLOCK_ATTEMPTS) continue;
      if (code !== '23P01' && code !== '40P01') throw err;
      break;
    }
  }
  const [holder] = await tx
    .select({ id: appointments.id })
    .from(appointments)
    .where(
      and(
        eq(appointments.staffId, claim.staffId),
        isActive(),
        sql`${appointments.period} && ${range(claim.start, claim.end)}`,
        claim.exceptId ? ne(appointments.id, claim.exceptId) : undefined,
      ),
    )
    .limit(1);
  throw new ConflictError('That time is no longer free.', holder?.id);
}

async function recordEvent(
  { tx, tenantId }: TenantContext,
  appointmentId: string,
  kind: string,
  actor: Actor,
  changes: Record<string, unknown>,
) {
  await tx.insert(appointmentEvents).values({
    tenantId,
    appointmentId,
    kind,
    actor: actor.by,
    actorUserId: actor.userId ?? null,
    changes,
  });
}

export type BookInput = {
  serviceId: string;
  staffId: string;
  contactId: string;
  conversationId?: string | null;
  startsAt: Date;
  status?: (typeof ACTIVE_APPOINTMENT_STATUSES)[number];
  notes?: string | null;
  actor: Actor;
  /** The caller's clock: reminders already past at this time are not scheduled. */
  now?: Date;
};

/**
 * Books `serviceId` with `staffId` at `startsAt`. The agent may book only bookable services.
 * Whether the time is within working hours is the caller's rule (the agent offers free slots,
 * operators may book outside them); overlap is Postgres's: a taken time is a ConflictError naming
 * the appointment holding it. Its reminders are enqueued in the same transaction.
 */
export async function bookAppointment(ctx: TenantContext, input: BookInput): Promise<Appointment> {
  const { tx, tenantId } = ctx;
  const [found] = await tx.execute<{
    duration_minutes: number | null;
    buffer_before_minutes: number | null;
    buffer_after_minutes: number | null;
    bookable: boolean | null;
    staff_active: boolean | null;
    performs: boolean;
    contact: boolean;
    conversation: boolean;
  }>(sql`
    select s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes, s.bookable,
      (select active from staff where id = ${input.staffId} and tenant_id = ${tenantId}) as staff_active,
      exists(select 1 from service_staff where service_id = ${input.serviceId}
        and staff_id = ${input.staffId}) as performs,
      exists(select 1 from contacts where id = ${input.contactId} and tenant_id = ${tenantId}) as contact,
      exists(select 1 from conversations where id = ${input.conversationId ?? null}::uuid
        and contact_id = ${input.contactId} and tenant_id = ${tenantId}) as conversation
    from (select 1) one
    left join services s on s.id = ${input.serviceId} and s.tenant_id = ${tenantId} and s.active`);
  if (!found || found.duration_minutes === null)
    throw new NotFoundError('service', input.serviceId);
  if (found.staff_active === null) throw new NotFoundError('staff', input.staffId);
  if (!found.contact) throw new NotFoundError('contact', input.contactId);
  if (input.conversationId && !found.conversation) {
    throw new NotFoundError('conversation', input.conversationId);
  }
  if (!found.staff_active || !found.performs) {
    throw new InvalidInputError('That staff member does not perform this service.');
  }
  if (input.actor.by === 'agent' && !found.bookable) {
    throw new InvalidInputError('This service is booked by the team, not by the assistant.');
  }
  const startsAt = input.startsAt;
  const endsAt = new Date(startsAt.getTime() + found.duration_minutes * MINUTE);
  const start = new Date(startsAt.getTime() - (found.buffer_before_minutes ?? 0) * MINUTE);
  const end = new Date(endsAt.getTime() + (found.buffer_after_minutes ?? 0) * MINUTE);
  const appointment = await takingTime(tx, { staffId: input.staffId, start, end }, async (sp) => {
    const [row] = await sp
      .insert(appointments)
      .values({
        tenantId,
        contactId: input.contactId,
        conversationId: input.conversationId ?? null,
        serviceId: input.serviceId,
        staffId: input.staffId,
        period: range(start, end),
        startsAt,
        endsAt,
        status: input.status ?? 'pending',
        bookedBy: input.actor.by,
        bookedByUserId: input.actor.userId ?? null,
        notes: input.notes ?? null,
      })
      .returning();
    return row as Appointment;
  });
  await recordEvent(ctx, appointment.id, 'booked', input.actor, {
    serviceId: input.serviceId,
    staffId: input.staffId,
    startsAt: startsAt.toISOString(),
    endsAt: endsAt.toISOString(),
    status: appointment.status,
  });
  await scheduleReminders(ctx, {
    appointmentId: appointment.id,
    startsAt,
    now: input.now ?? new Date(),
  });
  return appointment;
}

/** The appointment, locked for this transaction; NotFoundError for an unknown or foreign id. */
async function lockAppointment({ tx, tenantId }: TenantContext, appointmentId: string) {
  const [row] = await tx
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, appointmentId), eq(appointments.tenantId, tenantId)))
    .for('update');
  if (!row) throw new NotFoundError('appointment', appointmentId);
  return row;
}

const isActiveStatus = (status: Appointment['status']) =>
  (ACTIVE_APPOINTMENT_STATUSES as readonly string[]).includes(status);

/** Cancels an active appointment, freeing its time. */
export async function cancelAppointment(
  ctx: TenantContext,
  input: { appointmentId: string; actor: Actor; reason?: string | null },
): Promise<Appointment> {
  const current = await lockAppointment(ctx, input.appointmentId);
  if (!isActiveStatus(current.status)) {
    throw new ConflictError(`This appointment is already ${current.status}; nothing was changed.`);
  }
  const [row] = await ctx.tx
    .update(appointments)
    .set({ status: 'cancelled', updatedAt: sql`now()` })
    .where(eq(appointments.id, current.id))
    .returning();
  await recordEvent(ctx, current.id, 'cancelled', input.actor, {
    status: [current.status, 'cancelled'],
    ...(input.reason ? { reason: input.reason } : {}),
  });
  return row as Appointment;
}

/**
 * Moves an active appointment to `startsAt` (and optionally another staff member) in one UPDATE:
 * the new time is taken and the old one released together, or, when the new time is taken,
 * nothing changes and a ConflictError names who holds it. Duration and buffers are the service's
 * current ones.
 */
export async function rescheduleAppointment(
  ctx: TenantContext,
  input: { appointmentId: string; startsAt: Date; staffId?: string; actor: Actor; now?: Date },
): Promise<Appointment> {
  const { tx, tenantId } = ctx;
  const current = await lockAppointment(ctx, input.appointmentId);
  if (!isActiveStatus(current.status)) {
    throw new ConflictError(`This appointment is ${current.status}; it cannot be moved.`);
  }
  const staffId = input.staffId ?? current.staffId;
  const [found] = await tx.execute<{
    duration_minutes: number;
    buffer_before_minutes: number;
    buffer_after_minutes: number;
    performs: boolean;
  }>(sql`
    select s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes,
      exists(select 1 from service_staff ss join staff st on st.id = ss.staff_id
        where ss.service_id = s.id and ss.staff_id = ${staffId} and st.active
          and st.tenant_id = ${tenantId}) as performs
    from services s where s.id = ${current.serviceId}`);
  if (!found) throw new NotFoundError('service', current.serviceId);
  if (!found.performs) {
    if (input.staffId && input.staffId !== current.staffId) {
      const [other] = await tx
        .select({ id: staff.id })
        .from(staff)
        .where(and(eq(staff.id, input.staffId), eq(staff.tenantId, tenantId)));
      if (!other) throw new NotFoundError('staff', input.staffId);
    }
    throw new InvalidInputError('That staff member does not perform this service.');
  }
  const startsAt = input.startsAt;
  const endsAt = new Date(startsAt.getTime() + found.duration_minutes * MINUTE);
  const start = new Date(startsAt.getTime() - found.buffer_before_minutes * MINUTE);
  const end = new Date(endsAt.getTime() + found.buffer_after_minutes * MINUTE);
  const moved = await takingTime(
    tx,
    { staffId, start, end, exceptId: current.id },
    async (sp) =>
      (
        await sp
          .update(appointments)
          .set({ staffId, period: range(start, end), startsAt, endsAt, updatedAt: sql`now()` })
          .where(eq(appointments.id, current.id))
          .returning()
      )[0] as Appointment,
  );
  const changes: Record<string, unknown> = {
    startsAt: [current.startsAt.toISOString(), startsAt.toISOString()],
    endsAt: [current.endsAt.toISOString(), endsAt.toISOString()],
  };
  if (staffId !== current.staffId) changes.staffId = [current.staffId, staffId];
  await recordEvent(ctx, current.id, 'rescheduled', input.actor, changes);
  // The old time's reminders stay queued and send nothing: they find the start changed.
  await scheduleReminders(ctx, {
    appointmentId: current.id,
    startsAt,
    now: input.now ?? new Date(),
  });
  return moved;
}

/** One appointment of the tenant; NotFoundError for an unknown or foreign id. */
export async function getAppointment(
  { tx, tenantId }: TenantContext,
  appointmentId: string,
): Promise<Appointment> {
  const [row] = await tx
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, appointmentId), eq(appointments.tenantId, tenantId)));
  if (!row) throw new NotFoundError('appointment', appointmentId);
  return row;
}

/** An appointment's history, oldest first. */
export async function listAppointmentEvents(
  { tx, tenantId }: TenantContext,
  appointmentId: string,
) {
  return tx
    .select()
    .from(appointmentEvents)
    .where(
      and(
        eq(appointmentEvents.appointmentId, appointmentId),
        eq(appointmentEvents.tenantId, tenantId),
      ),
    )
    .orderBy(asc(appointmentEvents.createdAt), asc(appointmentEvents.id));
}

/** An appointment with the names an operator's diary shows beside it. */
export type AppointmentView = Appointment & {
  serviceName: string;
  staffName: string;
  contactName: string | null;
};

async function appointmentViews(
  { tx, tenantId }: TenantContext,
  where: SQL | undefined,
): Promise<AppointmentView[]> {
  const rows = await tx
    .select({
      appointment: appointments,
      serviceName: services.name,
      staffName: staff.name,
      contactName: contacts.name,
    })
    .from(appointments)
    .innerJoin(services, eq(services.id, appointments.serviceId))
    .innerJoin(staff, eq(staff.id, appointments.staffId))
    .innerJoin(contacts, eq(contacts.id, appointments.contactId))
    .where(and(eq(appointments.tenantId, tenantId), where))
    .orderBy(asc(appointments.startsAt), asc(appointments.id))
    // A diary range is at most a few weeks; this bounds a pathological one.
    .limit(2000);
  return rows.map((row) => ({
    ...row.appointment,
    serviceName: row.serviceName,
    staffName: row.staffName,
    contactName: row.contactName,
  }));
}

/**
 * Appointments (any status) starting on the local dates `from`..`to` inclusive, in the tenant's
 * time zone, optionally of one staff member; earliest first.
 */
export async function listAppointments(
  ctx: TenantContext,
  input: { from: LocalDate; to: LocalDate; staffId?: string },
): Promise<AppointmentView[]> {
  parseDate(input.from);
  parseDate(input.to);
  const tz = tenantTimeZone(ctx.tenantId);
  return appointmentViews(
    ctx,
    and(
      sql`${appointments.startsAt} >= (${input.from}::date)::timestamp at time zone ${tz}`,
      sql`${appointments.startsAt} < (${input.to}::date + 1)::timestamp at time zone ${tz}`,
      input.staffId ? eq(appointments.staffId, input.staffId) : undefined,
    ),
  );
}

/** One appointment with its names; NotFoundError for an unknown or foreign id. */
export async function getAppointmentView(
  ctx: TenantContext,
  appointmentId: string,
): Promise<AppointmentView> {
  const [row] = await appointmentViews(ctx, eq(appointments.id, appointmentId));
  if (!row) throw new NotFoundError('appointment', appointmentId);
  return row;
}

/** Which status each outcome may follow: confirming is for pending ones, outcomes for active ones. */
const ALLOWED_BEFORE: Record<'confirmed' | 'completed' | 'no_show', readonly AppointmentStatus[]> =
  {
    confirmed: ['pending'],
    completed: ACTIVE_APPOINTMENT_STATUSES,
    no_show: ACTIVE_APPOINTMENT_STATUSES,
  };

/**
 * Confirms a pending appointment, or records how an active one ended (completed, no_show, which
 * free its time). The event's kind is the new status. Any other transition is a ConflictError.
 */
export async function setAppointmentStatus(
  ctx: TenantContext,
  input: { appointmentId: string; status: 'confirmed' | 'completed' | 'no_show'; actor: Actor },
): Promise<Appointment> {
  const current = await lockAppointment(ctx, input.appointmentId);
  if (!ALLOWED_BEFORE[input.status].includes(current.status)) {
    throw new ConflictError(
      `This appointment is ${current.status}; it cannot become ${input.status}.`,
    );
  }
  const [row] = await ctx.tx
    .update(appointments)
    .set({ status: input.status, updatedAt: sql`now()` })
    .where(eq(appointments.id, current.id))
    .returning();
  await recordEvent(ctx, current.id, input.status, input.actor, {
    status: [current.status, input.status],
  });
  return row as Appointment;
}

/** An appointment as a customer is told about it: names, and the tenant's zone to read times in. */
export type ContactAppointment = Appointment & {
  serviceName: string;
  serviceNames: Record<string, string>;
  staffName: string;
  timeZone: string;
};

/**
 * A contact's appointments with what a customer needs to read them: every one with `appointmentId`
 * (any status), else the active ones starting from `from`, soonest first. Another contact's
 * appointment is simply not there: the agent acts for one customer only.
 */
export async function listContactAppointments(
  { tx, tenantId }: TenantContext,
  input: { contactId: string; from?: Date; appointmentId?: string; limit?: number },
): Promise<ContactAppointment[]> {
  const rows = await tx
    .select({
      appointment: appointments,
      serviceName: services.name,
      serviceNames: services.names,
      staffName: staff.name,
      timeZone: tenantTimeZone(tenantId),
    })
    .from(appointments)
    .innerJoin(services, eq(services.id, appointments.serviceId))
    .innerJoin(staff, eq(staff.id, appointments.staffId))
    .where(
      and(
        eq(appointments.tenantId, tenantId),
        eq(appointments.contactId, input.contactId),
        input.appointmentId
          ? eq(appointments.id, input.appointmentId)
          : and(
              isActive(),
              sql`${appointments.startsAt} >= ${(input.from ?? new Date(0)).toISOString()}::timestamptz`,
            ),
      ),
    )
    .orderBy(asc(appointments.startsAt), asc(appointments.id))
    .limit(input.limit ?? 20);
  return rows.map(({ appointment, ...names }) => ({ ...appointment, ...names }));
}

/**
 * The customer confirms a pending appointment. Confirming one already confirmed changes nothing;
 * a cancelled or past one is a ConflictError.
 */
export async function confirmAppointment(
  ctx: TenantContext,
  input: { appointmentId: string; actor: Actor },
): Promise<Appointment> {
  const current = await lockAppointment(ctx, input.appointmentId);
  if (current.status === 'confirmed') return current;
  if (current.status !== 'pending') {
    throw new ConflictError(`This appointment is ${current.status}; it cannot be confirmed.`);
  }
  const [row] = await ctx.tx
    .update(appointments)
    .set({ status: 'confirmed', updatedAt: sql`now()` })
    .where(eq(appointments.id, current.id))
    .returning();
  await recordEvent(ctx, current.id, 'confirmed', input.actor, {
    status: [current.status, 'confirmed'],
  });
  return row as Appointment;
}
