import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  customType,
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  smallint,
  text,
  time,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { authUsers } from 'drizzle-orm/supabase';
import { at, createdAt, parentRef, timestamps } from './columns';
import { contacts, conversations } from './conversations';
import { tenantTable } from './tenants';

/**
 * A Postgres range of instants, `[start,end)`. Only ever written from two instants and compared in
 * SQL (&&, @>); the exclusion constraint that forbids double booking is declared on it in
 * migrations/0016 (drizzle-kit cannot express EXCLUDE).
 */
const tstzrange = customType<{ data: string }>({ dataType: () => 'tstzrange' });

/**
 * What the business sells by the slot. Names per language (`{ "es": "Corte" }`) are shown to
 * customers in their language; `name` is the fallback. Price in minor units of `currency`
 * (cents), null when the price is "on request". Buffers are time the staff member is busy before
 * and after the service (preparation, cleaning) that the customer is not told about.
 */
export const services = tenantTable(
  'services',
  'admins-write',
  {
    name: text('name').notNull(),
    names: jsonb('names').$type<Record<string, string>>().notNull().default({}),
    description: text('description'),
    durationMinutes: integer('duration_minutes').notNull(),
    priceMinor: integer('price_minor'),
    /** ISO 4217 code, e.g. EUR; required when there is a price. */
    currency: text('currency'),
    bufferBeforeMinutes: integer('buffer_before_minutes').notNull().default(0),
    bufferAfterMinutes: integer('buffer_after_minutes').notNull().default(0),
    /** Customers (the agent) may book it themselves; otherwise only operators do. */
    bookable: boolean('bookable').notNull().default(true),
    /** A person must assess the customer first: the agent offers a consultation, not a slot. */
    requiresAssessment: boolean('requires_assessment').notNull().default(false),
    /** Retired services stay for the history of their appointments but are never offered. */
    active: boolean('active').notNull().default(true),
    /**
     * Customers are due back this many days after their last completed appointment of it (a
     * check-up, a touch-up); the daily opportunities scan proposes a recall. Null: no recall.
     */
    recallAfterDays: integer('recall_after_days'),
    ...timestamps(),
  },
  (t) => [
    check(
      'services_recall_after_days',
      sql`${t.recallAfterDays} is null or ${t.recallAfterDays} between 1 and 3650`,
    ),
    // The composite key appointments and service_staff reference, so a row can only point at a
    // service of its own tenant (a plain FK check ignores row-level security).
    unique('services_tenant_id').on(t.tenantId, t.id),
    check('services_duration', sql`${t.durationMinutes} between 1 and 1440`),
    check(
      'services_buffers',
      sql`${t.bufferBeforeMinutes} between 0 and 1440 and ${t.bufferAfterMinutes} between 0 and 1440`,
    ),
    check(
      'services_price',
      sql`${t.priceMinor} is null or (${t.priceMinor} >= 0 and ${t.currency} ~ '^[A-Z]{3}$')`,
    ),
  ],
);

/**
 * Someone whose time is booked: a person (optionally an operator of the tenant, so they can see
 * their own diary) or a resource such as a room. Deactivated staff keep their appointments.
 */
export const staff = tenantTable(
  'staff',
  'admins-write',
  {
    name: text('name').notNull(),
    /** The tenant member this is, if any (migration 0016 ties it to tenant_members). */
    userId: uuid('user_id').references(() => authUsers.id, { onDelete: 'set null' }),
    active: boolean('active').notNull().default(true),
    ...timestamps(),
  },
  (t) => [
    unique('staff_tenant_id').on(t.tenantId, t.id),
    unique('staff_tenant_user').on(t.tenantId, t.userId),
  ],
);

/** Which staff perform which service. */
export const serviceStaff = tenantTable(
  'service_staff',
  'admins-write',
  {
    serviceId: uuid('service_id').notNull(),
    staffId: uuid('staff_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('service_staff_pair').on(t.serviceId, t.staffId),
    index('service_staff_staff').on(t.staffId),
    foreignKey({
      name: 'service_staff_service',
      columns: [t.tenantId, t.serviceId],
      foreignColumns: [services.tenantId, services.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'service_staff_staff',
      columns: [t.tenantId, t.staffId],
      foreignColumns: [staff.tenantId, staff.id],
    }).onDelete('cascade'),
  ],
);

/**
 * A staff member's weekly hours: on ISO `weekday` (1 = Monday … 7 = Sunday) from `start_time` to
 * `end_time`, wall-clock times in the tenant's time zone (tenant_settings.time_zone), so a 9:00
 * opening stays 9:00 across daylight-saving changes. Several rows per day make a split shift.
 * `end_time` may be 24:00 (until midnight).
 */
export const workingHours = tenantTable(
  'working_hours',
  'admins-write',
  {
    staffId: uuid('staff_id').notNull(),
    weekday: smallint('weekday').notNull(),
    startTime: time('start_time').notNull(),
    endTime: time('end_time').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('working_hours_staff').on(t.staffId, t.weekday),
    foreignKey({
      name: 'working_hours_staff_fk',
      columns: [t.tenantId, t.staffId],
      foreignColumns: [staff.tenantId, staff.id],
    }).onDelete('cascade'),
    check('working_hours_weekday', sql`${t.weekday} between 1 and 7`),
    check('working_hours_order', sql`${t.startTime} < ${t.endTime}`),
  ],
);

/**
 * - `closed`: not working (sick day, a closed afternoon); the whole day without times;
 * - `holiday`: the same, named for what it is (public holiday, vacation);
 * - `extra_hours`: working beyond the weekly hours, times required.
 */
export const scheduleExceptionKind = pgEnum('schedule_exception_kind', [
  'closed',
  'holiday',
  'extra_hours',
]);

/**
 * A dated change to the weekly hours, of one staff member or (staff_id null) of everyone. Local
 * date and wall-clock times in the tenant's time zone.
 */
export const scheduleExceptions = tenantTable(
  'schedule_exceptions',
  'admins-write',
  {
    staffId: uuid('staff_id'),
    date: date('date', { mode: 'string' }).notNull(),
    kind: scheduleExceptionKind('kind').notNull(),
    startTime: time('start_time'),
    endTime: time('end_time'),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [
    index('schedule_exceptions_tenant_date').on(t.tenantId, t.date),
    // staff_id null (tenant-wide) skips the check, as a foreign key with a null column does.
    foreignKey({
      name: 'schedule_exceptions_staff_fk',
      columns: [t.tenantId, t.staffId],
      foreignColumns: [staff.tenantId, staff.id],
    }).onDelete('cascade'),
    check(
      'schedule_exceptions_times',
      sql`(${t.startTime} is null) = (${t.endTime} is null) and (${t.startTime} is null or ${t.startTime} < ${t.endTime})`,
    ),
    check(
      'schedule_exceptions_extra_hours_timed',
      sql`${t.kind} <> 'extra_hours' or ${t.startTime} is not null`,
    ),
  ],
);

export const appointmentStatus = pgEnum('appointment_status', [
  'pending',
  'confirmed',
  'cancelled',
  'completed',
  'no_show',
]);
export type AppointmentStatus = (typeof appointmentStatus.enumValues)[number];
/** Statuses that hold the staff member's time (the exclusion constraint's WHERE says the same). */
export const ACTIVE_APPOINTMENT_STATUSES = ['pending', 'confirmed'] as const;

/** Who did something to an appointment. */
export const appointmentActor = pgEnum('appointment_actor', ['agent', 'operator', 'system']);
export type AppointmentActor = (typeof appointmentActor.enumValues)[number];

/**
 * What each reminder did, by `{startsAt ISO}/{offset minutes}` (db/appointment-reminders.ts): the
 * message it queued (and the template, outside the window), or why it was skipped. A key present
 * means that reminder is done: a redelivered job sends nothing.
 */
export type AppointmentReminders = Partial<
  Record<string, { at: string; messageId?: string; template?: string; skipped?: string }>
>;

/**
 * A booked slot. `starts_at`/`ends_at` are the service as the customer is told it; `period` is the
 * time the staff member is taken, buffers included. Active appointments (pending, confirmed) of one
 * staff member never overlap: Postgres refuses it (`appointments_no_overlap`, migration 0016).
 */
export const appointments = tenantTable(
  'appointments',
  'read-write',
  {
    contactId: parentRef('contact_id', () => contacts.id),
    conversationId: uuid('conversation_id').references(() => conversations.id, {
      onDelete: 'set null',
    }),
    serviceId: uuid('service_id').notNull(),
    staffId: uuid('staff_id').notNull(),
    period: tstzrange('period').notNull(),
    startsAt: at('starts_at').notNull(),
    endsAt: at('ends_at').notNull(),
    status: appointmentStatus('status').notNull().default('pending'),
    bookedBy: appointmentActor('booked_by').notNull(),
    bookedByUserId: uuid('booked_by_user_id'),
    notes: text('notes'),
    reminders: jsonb('reminders').$type<AppointmentReminders>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'appointments_service_fk',
      columns: [t.tenantId, t.serviceId],
      foreignColumns: [services.tenantId, services.id],
    }),
    foreignKey({
      name: 'appointments_staff_fk',
      columns: [t.tenantId, t.staffId],
      foreignColumns: [staff.tenantId, staff.id],
    }),
    index('appointments_tenant_starts').on(t.tenantId, t.startsAt),
    index('appointments_contact').on(t.contactId, t.startsAt),
    check(
      'appointments_service_within_period',
      sql`${t.period} @> tstzrange(${t.startsAt}, ${t.endsAt})`,
    ),
    check('appointments_order', sql`${t.startsAt} < ${t.endsAt}`),
  ],
);

/** The history of an appointment: who changed what, when. Nobody rewrites it. */
export const appointmentEvents = tenantTable(
  'appointment_events',
  'append-only',
  {
    appointmentId: parentRef('appointment_id', () => appointments.id),
    /** booked, rescheduled, cancelled, status_changed, … */
    kind: text('kind').notNull(),
    actor: appointmentActor('actor').notNull(),
    actorUserId: uuid('actor_user_id'),
    /** What changed: `{ field: [before, after] }`, or the booking as made. */
    changes: jsonb('changes').$type<Record<string, unknown>>().notNull().default({}),
    // The statement's clock, not the transaction's: a move and the notice it sends are written
    // in one transaction, and the history must keep the order they happened in.
    createdAt: timestamp('created_at', { withTimezone: true })
      .notNull()
      .default(sql`clock_timestamp()`),
  },
  (t) => [index('appointment_events_appointment').on(t.appointmentId, t.createdAt)],
);
