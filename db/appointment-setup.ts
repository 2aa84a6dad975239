import { and, asc, eq, gte, isNull, lte, or, sql } from 'drizzle-orm';
import { ConflictError, type DomainError, InvalidInputError, NotFoundError } from '../core/errors';
import type { Service, StaffMember } from './appointments';
import type { TenantContext, Tx } from './client';
import { scheduleExceptions, serviceStaff, services, staff, workingHours } from './schema';
import { isOneOf, sqlErrorOf } from './sql';

/**
 * What owners and admins set up before anything is booked (docs/appointments.md): services and
 * who performs them, staff, weekly hours and dated exceptions. RLS lets only owners and admins
 * write these tables; every query also names the tenant, since an operator of several tenants acts
 * on one per request. The table checks are the rules: a write that breaks one becomes the domain
 * error it means, so a partial change (a price without a currency) cannot slip past the API.
 */

const priceNeedsCurrency = () =>
  new InvalidInputError('A price needs a currency (ISO 4217, e.g. EUR) and must not be negative.');

/** What a broken constraint means, by constraint name, in words an operator can act on. */
const CONSTRAINT_ERRORS: Record<string, () => DomainError> = {
  services_price: priceNeedsCurrency,
  services_duration: () => new InvalidInputError('The duration must be 1 to 1440 minutes.'),
  services_buffers: () => new InvalidInputError('Buffers must be 0 to 1440 minutes.'),
  appointments_service_fk: () =>
    new ConflictError('This service has appointments; retire it (active: false) instead.'),
  appointments_staff_fk: () =>
    new ConflictError(
      'This staff member has appointments; deactivate them (active: false) instead.',
    ),
  staff_member_fk: () => new InvalidInputError('user_id is not a member of this business.'),
  staff_tenant_user: () => new ConflictError('That member is already a staff member.'),
  working_hours_order: () => new InvalidInputError('Working hours must end after they start.'),
  schedule_exceptions_times: () =>
    new InvalidInputError('Give both start and end (start before end), or neither.'),
  schedule_exceptions_extra_hours_timed: () =>
    new InvalidInputError('Extra hours need a start and an end.'),
};

/** Runs `write` in a savepoint, turning a broken constraint listed above into its domain error. */
async function checked<T>(tx: Tx, write: (sp: Tx) => Promise<T>): Promise<T> {
  try {
    return await tx.transaction(write);
  } catch (err) {
    const toError = CONSTRAINT_ERRORS[sqlErrorOf(err).constraint ?? ''];
    if (toError) throw toError();
    throw err;
  }
}

/** NotFoundError for the first of `staffIds` that is not the tenant's. */
async function assertStaff({ tx, tenantId }: TenantContext, staffIds: readonly string[]) {
  if (staffIds.length === 0) return;
  const found = await tx
    .select({ id: staff.id })
    .from(staff)
    .where(and(eq(staff.tenantId, tenantId), isOneOf(staff.id, staffIds)));
  const known = new Set(found.map((row) => row.id));
  const missing = staffIds.find((id) => !known.has(id));
  if (missing) throw new NotFoundError('staff', missing);
}

// ---------------------------------------------------------------------------------- services

export type ServiceInput = {
  name: string;
  names: Record<string, string>;
  description: string | null;
  durationMinutes: number;
  priceMinor: number | null;
  currency: string | null;
  bufferBeforeMinutes: number;
  bufferAfterMinutes: number;
  bookable: boolean;
  requiresAssessment: boolean;
  active: boolean;
  /** Days after a completed appointment when a recall is due (db/opportunities.ts); null: none. */
  recallAfterDays: number | null;
  /** Who performs it. */
  staffIds: string[];
};

export async function getService(
  { tx, tenantId }: TenantContext,
  serviceId: string,
): Promise<Service> {
  const [row] = await tx
    .select({
      service: services,
      staffIds: sql<string[]>`coalesce((select jsonb_agg(ss.staff_id order by ss.staff_id)
        from service_staff ss where ss.service_id = services.id), '[]'::jsonb)`,
    })
    .from(services)
    .where(and(eq(services.id, serviceId), eq(services.tenantId, tenantId)));
  if (!row) throw new NotFoundError('service', serviceId);
  return { ...row.service, staffIds: row.staffIds };
}

async function setPerformers(ctx: TenantContext, serviceId: string, staffIds: readonly string[]) {
  const unique = [...new Set(staffIds)];
  await assertStaff(ctx, unique);
  await ctx.tx.delete(serviceStaff).where(eq(serviceStaff.serviceId, serviceId));
  if (unique.length > 0) {
    await ctx.tx
      .insert(serviceStaff)
      .values(unique.map((staffId) => ({ tenantId: ctx.tenantId, serviceId, staffId })));
  }
}

export async function createService(ctx: TenantContext, input: ServiceInput): Promise<Service> {
  const { staffIds, ...fields } = input;
  const row = await checked(ctx.tx, async (sp) => {
    const [created] = await sp
      .insert(services)
      .values({ tenantId: ctx.tenantId, ...fields })
      .returning({ id: services.id });
    return created as { id: string };
  });
  await setPerformers(ctx, row.id, staffIds);
  return getService(ctx, row.id);
}

export async function updateService(
  ctx: TenantContext,
  input: { serviceId: string; changes: Partial<ServiceInput> },
): Promise<Service> {
  const { staffIds, ...fields } = input.changes;
  await checked(ctx.tx, async (sp) => {
    const [row] = await sp
      .update(services)
      .set({ ...fields, updatedAt: sql`now()` })
      .where(and(eq(services.id, input.serviceId), eq(services.tenantId, ctx.tenantId)))
      .returning({ priceMinor: services.priceMinor, currency: services.currency });
    if (!row) throw new NotFoundError('service', input.serviceId);
    // services_price lets a price without a currency through (its regex test on null is null,
    // which a CHECK accepts), so the whole row is checked here.
    if (row.priceMinor !== null && row.currency === null) {
      throw priceNeedsCurrency();
    }
  });
  if (staffIds) await setPerformers(ctx, input.serviceId, staffIds);
  return getService(ctx, input.serviceId);
}

/** Deletes a service nobody ever booked; one with appointments is retired instead (Conflict). */
export async function deleteService(ctx: TenantContext, serviceId: string): Promise<void> {
  const deleted = await checked(ctx.tx, (sp) =>
    sp
      .delete(services)
      .where(and(eq(services.id, serviceId), eq(services.tenantId, ctx.tenantId)))
      .returning({ id: services.id }),
  );
  if (deleted.length === 0) throw new NotFoundError('service', serviceId);
}

// ------------------------------------------------------------------------------------- staff

export type StaffInput = { name: string; userId: string | null; active: boolean };

export async function getStaffMember(
  { tx, tenantId }: TenantContext,
  staffId: string,
): Promise<StaffMember> {
  const [row] = await tx
    .select()
    .from(staff)
    .where(and(eq(staff.id, staffId), eq(staff.tenantId, tenantId)));
  if (!row) throw new NotFoundError('staff', staffId);
  return row;
}

export async function createStaffMember(
  ctx: TenantContext,
  input: StaffInput,
): Promise<StaffMember> {
  return checked(ctx.tx, async (sp) => {
    const [row] = await sp
      .insert(staff)
      .values({ tenantId: ctx.tenantId, ...input })
      .returning();
    return row as StaffMember;
  });
}

export async function updateStaffMember(
  ctx: TenantContext,
  input: { staffId: string; changes: Partial<StaffInput> },
): Promise<StaffMember> {
  const [row] = await checked(ctx.tx, (sp) =>
    sp
      .update(staff)
      .set({ ...input.changes, updatedAt: sql`now()` })
      .where(and(eq(staff.id, input.staffId), eq(staff.tenantId, ctx.tenantId)))
      .returning(),
  );
  if (!row) throw new NotFoundError('staff', input.staffId);
  return row;
}

/**
 * Deletes a staff member nobody ever booked (their hours, exceptions and services go with them);
 * one with appointments is deactivated instead (Conflict).
 */
export async function deleteStaffMember(ctx: TenantContext, staffId: string): Promise<void> {
  const deleted = await checked(ctx.tx, (sp) =>
    sp
      .delete(staff)
      .where(and(eq(staff.id, staffId), eq(staff.tenantId, ctx.tenantId)))
      .returning({ id: staff.id }),
  );
  if (deleted.length === 0) throw new NotFoundError('staff', staffId);
}

// ----------------------------------------------------------------------------- working hours

export type WorkingHoursRow = typeof workingHours.$inferSelect;
export type WorkingHoursInput = { weekday: number; startTime: string; endTime: string };

/** A staff member's weekly hours, Monday first. */
export async function listWorkingHours(
  ctx: TenantContext,
  staffId: string,
): Promise<WorkingHoursRow[]> {
  await getStaffMember(ctx, staffId);
  return ctx.tx
    .select()
    .from(workingHours)
    .where(and(eq(workingHours.staffId, staffId), eq(workingHours.tenantId, ctx.tenantId)))
    .orderBy(asc(workingHours.weekday), asc(workingHours.startTime), asc(workingHours.id));
}

export async function createWorkingHours(
  ctx: TenantContext,
  input: WorkingHoursInput & { staffId: string },
): Promise<WorkingHoursRow> {
  await getStaffMember(ctx, input.staffId);
  return checked(ctx.tx, async (sp) => {
    const [row] = await sp
      .insert(workingHours)
      .values({ tenantId: ctx.tenantId, ...input })
      .returning();
    return row as WorkingHoursRow;
  });
}

const theHours = (tenantId: string, staffId: string, hoursId: string) =>
  and(
    eq(workingHours.id, hoursId),
    eq(workingHours.staffId, staffId),
    eq(workingHours.tenantId, tenantId),
  );

export async function updateWorkingHours(
  ctx: TenantContext,
  input: { staffId: string; hoursId: string; changes: Partial<WorkingHoursInput> },
): Promise<WorkingHoursRow> {
  const [row] = await checked(ctx.tx, (sp) =>
    sp
      .update(workingHours)
      .set(input.changes)
      .where(theHours(ctx.tenantId, input.staffId, input.hoursId))
      .returning(),
  );
  if (!row) throw new NotFoundError('working hours', input.hoursId);
  return row;
}

export async function deleteWorkingHours(
  ctx: TenantContext,
  input: { staffId: string; hoursId: string },
): Promise<void> {
  const deleted = await ctx.tx
    .delete(workingHours)
    .where(theHours(ctx.tenantId, input.staffId, input.hoursId))
    .returning({ id: workingHours.id });
  if (deleted.length === 0) throw new NotFoundError('working hours', input.hoursId);
}

// ------------------------------------------------------------------------ schedule exceptions

export type ScheduleExceptionRow = typeof scheduleExceptions.$inferSelect;
export type ScheduleExceptionInput = {
  /** null: everyone. */
  staffId: string | null;
  date: string;
  kind: ScheduleExceptionRow['kind'];
  startTime: string | null;
  endTime: string | null;
  note: string | null;
};

/**
 * Exceptions between two local dates (inclusive), by date; with `staffId`, that member's and the
 * tenant-wide ones (what applies to them).
 */
export async function listScheduleExceptions(
  { tx, tenantId }: TenantContext,
  input: { from?: string; to?: string; staffId?: string },
): Promise<ScheduleExceptionRow[]> {
  return tx
    .select()
    .from(scheduleExceptions)
    .where(
      and(
        eq(scheduleExceptions.tenantId, tenantId),
        input.from ? gte(scheduleExceptions.date, input.from) : undefined,
        input.to ? lte(scheduleExceptions.date, input.to) : undefined,
        input.staffId
          ? or(eq(scheduleExceptions.staffId, input.staffId), isNull(scheduleExceptions.staffId))
          : undefined,
      ),
    )
    .orderBy(asc(scheduleExceptions.date), asc(scheduleExceptions.startTime))
    .limit(1000);
}

export async function createScheduleException(
  ctx: TenantContext,
  input: ScheduleExceptionInput,
): Promise<ScheduleExceptionRow> {
  if (input.staffId) await assertStaff(ctx, [input.staffId]);
  return checked(ctx.tx, async (sp) => {
    const [row] = await sp
      .insert(scheduleExceptions)
      .values({ tenantId: ctx.tenantId, ...input })
      .returning();
    return row as ScheduleExceptionRow;
  });
}

export async function updateScheduleException(
  ctx: TenantContext,
  input: { exceptionId: string; changes: Partial<ScheduleExceptionInput> },
): Promise<ScheduleExceptionRow> {
  if (input.changes.staffId) await assertStaff(ctx, [input.changes.staffId]);
  const [row] = await checked(ctx.tx, (sp) =>
    sp
      .update(scheduleExceptions)
      .set(input.changes)
      .where(
        and(
          eq(scheduleExceptions.id, input.exceptionId),
          eq(scheduleExceptions.tenantId, ctx.tenantId),
        ),
      )
      .returning(),
  );
  if (!row) throw new NotFoundError('schedule exception', input.exceptionId);
  return row;
}

export async function deleteScheduleException(
  ctx: TenantContext,
  exceptionId: string,
): Promise<void> {
  const deleted = await ctx.tx
    .delete(scheduleExceptions)
    .where(
      and(eq(scheduleExceptions.id, exceptionId), eq(scheduleExceptions.tenantId, ctx.tenantId)),
    )
    .returning({ id: scheduleExceptions.id });
  if (deleted.length === 0) throw new NotFoundError('schedule exception', exceptionId);
}
