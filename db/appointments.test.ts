import { sql as dsql } from 'drizzle-orm';
import fc from 'fast-check';
import type postgres from 'postgres';
import { describe, expect, inject } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError } from '../core/errors';
import { createConversation } from '../test/conversations';
import type { TenantFixture } from '../test/fixtures';
import { it, must } from '../test/it';
import {
  type Actor,
  bookAppointment,
  cancelAppointment,
  findFreeSlots,
  getAppointment,
  listAppointmentEvents,
  listServices,
  listStaff,
  rescheduleAppointment,
} from './appointments';
import { asOperator, asTenant, type TenantContext } from './client';

const agent: Actor = { by: 'agent' };
const MINUTE = 60_000;

/** A salon: a 30-minute cut with 10 minutes to clean up, done by Ana and Ben, 9–18 on weekdays. */
async function createSalon(sql: postgres.Sql, t: TenantFixture) {
  const [cut] =
    await sql`insert into services (tenant_id, name, names, duration_minutes, buffer_after_minutes, price_minor, currency)
    values (${t.tenantId}, 'Haircut', ${sql.json({ es: 'Corte' })}, 30, 10, 2500, 'EUR') returning id`;
  const [color] = await sql`insert into services (tenant_id, name, duration_minutes, bookable)
    values (${t.tenantId}, 'Colour', 90, false) returning id`;
  const [ana] =
    await sql`insert into staff (tenant_id, name, user_id) values (${t.tenantId}, 'Ana', ${t.agent.id}) returning id`;
  const [ben] =
    await sql`insert into staff (tenant_id, name) values (${t.tenantId}, 'Ben') returning id`;
  const ids = {
    cut: must(cut, 'cut').id as string,
    color: must(color, 'color').id as string,
    ana: must(ana, 'ana').id as string,
    ben: must(ben, 'ben').id as string,
  };
  for (const staffId of [ids.ana, ids.ben]) {
    for (const serviceId of [ids.cut, ids.color]) {
      await sql`insert into service_staff (tenant_id, service_id, staff_id) values (${t.tenantId}, ${serviceId}, ${staffId})`;
    }
    for (const weekday of [1, 2, 3, 4, 5]) {
      await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
        values (${t.tenantId}, ${staffId}, ${weekday}, '09:00', '18:00')`;
    }
  }
  await sql`update tenant_settings set time_zone = 'Europe/Madrid', min_notice_minutes = 0 where tenant_id = ${t.tenantId}`;
  const conv = await createConversation(sql, t);
  return { ...ids, contactId: conv.contactId, conversationId: conv.conversationId };
}

type Salon = Awaited<ReturnType<typeof createSalon>>;

/** A Monday far enough ahead that nothing else in the suite books it. */
const monday = (hhmm: string, weeks = 0) =>
  new Date(Date.parse(`2027-03-01T${hhmm}:00+01:00`) + weeks * 7 * 86_400_000);

const settle = <T>(promises: Array<Promise<T>>) => Promise.allSettled(promises);

describe('appointments', () => {
  let salon: Salon;
  it.beforeAll(async ({ sql, tenant }) => {
    salon = await createSalon(sql, tenant);
  });

  it('lists services with their staff, and staff', async ({ db, tenant }) => {
    const [services, people] = await asTenant(db, tenant.tenantId, async (ctx) => [
      await listServices(ctx),
      await listStaff(ctx),
    ]);
    expect(services.map((s) => [s.name, s.names, s.staffIds.length, s.priceMinor])).toEqual([
      ['Colour', {}, 2, null],
      ['Haircut', { es: 'Corte' }, 2, 2500],
    ]);
    expect(people.map((p) => p.name)).toEqual(['Ana', 'Ben']);
  });

  it('books, and offers the time it took (buffer included) to nobody else', async ({
    db,
    sql,
    tenant,
  }) => {
    const booked = await asTenant(db, tenant.tenantId, (ctx) =>
      bookAppointment(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        contactId: salon.contactId,
        conversationId: salon.conversationId,
        startsAt: monday('10:00'),
        actor: agent,
      }),
    );
    expect(booked).toMatchObject({ status: 'pending', bookedBy: 'agent', staffId: salon.ana });
    expect(booked.endsAt).toEqual(monday('10:30'));
    const [period] =
      await sql`select lower(period) as s, upper(period) as e from appointments where id = ${booked.id}`;
    expect([period?.s, period?.e]).toEqual([monday('10:00'), monday('10:40')]);
    const slots = await asTenant(db, tenant.tenantId, (ctx) =>
      findFreeSlots(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        from: '2027-03-01',
        to: '2027-03-01',
        now: new Date('2027-02-20T00:00:00Z'),
      }),
    );
    const starts = slots.map((s) => s.start.getTime());
    // 9:30 would run its clean-up into 10:00; 10:45 is the first start after 10:40.
    expect(starts).toContain(monday('09:15').getTime());
    expect(starts).not.toContain(monday('09:30').getTime());
    expect(starts).not.toContain(monday('10:30').getTime());
    expect(starts).toContain(monday('10:45').getTime());
    const events = await asTenant(db, tenant.tenantId, (ctx) =>
      listAppointmentEvents(ctx, booked.id),
    );
    expect(events.map((e) => [e.kind, e.actor])).toEqual([['booked', 'agent']]);
  });

  it('reads holidays, closures and weekly hours for availability', async ({ db, sql, tenant }) => {
    await sql`insert into schedule_exceptions (tenant_id, staff_id, date, kind)
      values (${tenant.tenantId}, null, '2027-03-02', 'holiday'),
             (${tenant.tenantId}, ${salon.ben}, '2027-03-03', 'closed')`;
    await sql`insert into schedule_exceptions (tenant_id, staff_id, date, kind, start_time, end_time)
      values (${tenant.tenantId}, ${salon.ana}, '2027-03-06', 'extra_hours', '10:00', '11:00')`;
    const slots = await asTenant(db, tenant.tenantId, (ctx) =>
      findFreeSlots(ctx, {
        serviceId: salon.cut,
        from: '2027-03-02',
        to: '2027-03-07',
        now: new Date('2027-02-20T00:00:00Z'),
      }),
    );
    const perDay = new Map<string, Set<string>>();
    for (const slot of slots) {
      const date = slot.start.toLocaleDateString('sv-SE', { timeZone: 'Europe/Madrid' });
      perDay.set(date, (perDay.get(date) ?? new Set()).add(slot.staffId));
    }
    // Tuesday a holiday, Ben off on Wednesday, Saturday only Ana's extra hour, Sunday closed.
    expect([...perDay.entries()].map(([d, staff]) => [d, staff.size])).toEqual([
      ['2027-03-03', 1],
      ['2027-03-04', 2],
      ['2027-03-05', 2],
      ['2027-03-06', 1],
    ]);
    expect(
      slots.filter((s) => s.start >= new Date('2027-03-06T00:00:00Z')).map((s) => s.start),
    ).toEqual([
      new Date('2027-03-06T09:00:00Z'),
      new Date('2027-03-06T09:15:00Z'),
      new Date('2027-03-06T09:30:00Z'),
    ]);
    await expect(
      asTenant(db, tenant.tenantId, (ctx) =>
        findFreeSlots(ctx, {
          serviceId: salon.cut,
          from: '2027-02-30',
          to: '2027-03-01',
          now: new Date(),
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });

  // Concurrent transactions need the server: the embedded database runs one at a time.
  it.skipIf(inject('databaseKind') === 'embedded')(
    'a booking that loses a deadlock on the no-overlap check waits and is told who holds the time',
    async ({ db, tenant }) => {
      const book = (ctx: TenantContext, hhmm: string) =>
        bookAppointment(ctx, {
          serviceId: salon.cut,
          staffId: salon.ana,
          contactId: salon.contactId,
          startsAt: monday(hhmm, 3),
          actor: agent,
        });
      let firstBooked!: () => void;
      const firstHolds = new Promise<void>((resolve) => {
        firstBooked = resolve;
      });
      // A cut takes 40 minutes with its clean-up. A books 10:00 and, before committing, 11:00;
      // in between B books 10:30. B waits for A's 10:00, A's 11:00 finds B's 10:30 and waits for
      // B: a deadlock, which Postgres ends by failing B's insert.
      const first = asTenant(db, tenant.tenantId, async (ctx) => {
        const held = await book(ctx, '10:00');
        firstBooked();
        await new Promise((r) => setTimeout(r, 300));
        await book(ctx, '11:00');
        return held;
      });
      await firstHolds;
      const second = asTenant(db, tenant.tenantId, (ctx) => book(ctx, '10:30'));
      const [won, lost] = await Promise.allSettled([first, second]);
      expect(won.status).toBe('fulfilled');
      expect(lost.status).toBe('rejected');
      const reason = (lost as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(ConflictError);
      expect((reason as ConflictError).conflictingId).toBe(
        (won as PromiseFulfilledResult<{ id: string }>).value.id,
      );
    },
  );

  it('lets exactly one of 20 concurrent bookings of one slot through', async ({ db, tenant }) => {
    const startsAt = monday('12:00');
    const results = await settle(
      Array.from({ length: 20 }, () =>
        asTenant(db, tenant.tenantId, (ctx) =>
          bookAppointment(ctx, {
            serviceId: salon.cut,
            staffId: salon.ben,
            contactId: salon.contactId,
            startsAt,
            actor: agent,
          }),
        ),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    const winner = must(won[0], 'the winner').value.id;
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(ConflictError);
      expect((r.reason as ConflictError).conflictingId).toBe(winner);
    }
    const count = await asTenant(db, tenant.tenantId, async ({ tx }) => {
      const [row] = await tx.execute<{ n: number }>(
        dsql`select count(*)::int as n from appointments where staff_id = ${salon.ben} and period && tstzrange(${startsAt.toISOString()}::timestamptz, ${startsAt.toISOString()}::timestamptz + interval '1 hour')`,
      );
      return row?.n;
    });
    expect(count).toBe(1);
  });

  it('refuses what the rules refuse before touching the diary', async ({ db, tenant }) => {
    const book = (over: Partial<Parameters<typeof bookAppointment>[1]>) =>
      asTenant(db, tenant.tenantId, (ctx) =>
        bookAppointment(ctx, {
          serviceId: salon.cut,
          staffId: salon.ana,
          contactId: salon.contactId,
          startsAt: monday('15:00', 1),
          actor: agent,
          ...over,
        }),
      );
    await expect(book({ serviceId: salon.color })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(book({ serviceId: crypto.randomUUID() })).rejects.toBeInstanceOf(NotFoundError);
    await expect(book({ staffId: crypto.randomUUID() })).rejects.toBeInstanceOf(NotFoundError);
    // Operators may book what the agent may not.
    await expect(
      book({ serviceId: salon.color, actor: { by: 'operator', userId: tenant.owner.id } }),
    ).resolves.toMatchObject({ bookedBy: 'operator', bookedByUserId: tenant.owner.id });
  });

  it('cancels once, freeing the time', async ({ db, tenant }) => {
    const startsAt = monday('16:00');
    const first = await asTenant(db, tenant.tenantId, (ctx) =>
      bookAppointment(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        contactId: salon.contactId,
        startsAt,
        actor: agent,
      }),
    );
    const cancelled = await asTenant(db, tenant.tenantId, (ctx) =>
      cancelAppointment(ctx, { appointmentId: first.id, actor: agent, reason: 'customer asked' }),
    );
    expect(cancelled.status).toBe('cancelled');
    await expect(
      asTenant(db, tenant.tenantId, (ctx) =>
        cancelAppointment(ctx, { appointmentId: first.id, actor: agent }),
      ),
    ).rejects.toBeInstanceOf(ConflictError);
    const again = await asTenant(db, tenant.tenantId, (ctx) =>
      bookAppointment(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        contactId: salon.contactId,
        startsAt,
        actor: agent,
      }),
    );
    expect(again.id).not.toBe(first.id);
    const events = await asTenant(db, tenant.tenantId, (ctx) =>
      listAppointmentEvents(ctx, first.id),
    );
    expect(events.map((e) => [e.kind, e.changes])).toEqual([
      ['booked', expect.objectContaining({ status: 'pending' })],
      ['cancelled', { status: ['pending', 'cancelled'], reason: 'customer asked' }],
    ]);
  });

  it('reschedules into its own time, and into a taken time changes nothing', async ({
    db,
    tenant,
  }) => {
    const book = (startsAt: Date) =>
      asTenant(db, tenant.tenantId, (ctx) =>
        bookAppointment(ctx, {
          serviceId: salon.cut,
          staffId: salon.ana,
          contactId: salon.contactId,
          startsAt,
          actor: agent,
        }),
      );
    const a = await book(monday('09:00', 2));
    const b = await book(monday('11:00', 2));
    // Fifteen minutes later overlaps only itself.
    const moved = await asTenant(db, tenant.tenantId, (ctx) =>
      rescheduleAppointment(ctx, {
        appointmentId: a.id,
        startsAt: monday('09:15', 2),
        actor: agent,
      }),
    );
    expect(moved.startsAt).toEqual(monday('09:15', 2));
    const failed = asTenant(db, tenant.tenantId, (ctx) =>
      rescheduleAppointment(ctx, {
        appointmentId: a.id,
        startsAt: monday('11:20', 2),
        actor: agent,
      }),
    );
    await expect(failed).rejects.toMatchObject({ kind: 'conflict', conflictingId: b.id });
    const after = await asTenant(db, tenant.tenantId, (ctx) => getAppointment(ctx, a.id));
    expect(after.startsAt).toEqual(monday('09:15', 2));
    // Its old time is still held.
    await expect(book(monday('09:30', 2))).rejects.toMatchObject({ conflictingId: a.id });
    // To Ben, at B's time: allowed (another staff member's diary).
    const toBen = await asTenant(db, tenant.tenantId, (ctx) =>
      rescheduleAppointment(ctx, {
        appointmentId: a.id,
        startsAt: monday('11:00', 2),
        staffId: salon.ben,
        actor: { by: 'operator', userId: tenant.owner.id },
      }),
    );
    expect(toBen.staffId).toBe(salon.ben);
    const events = await asTenant(db, tenant.tenantId, (ctx) => listAppointmentEvents(ctx, a.id));
    expect(events.map((e) => e.kind)).toEqual(['booked', 'rescheduled', 'rescheduled']);
    expect(events[2]?.changes).toMatchObject({ staffId: [salon.ana, salon.ben] });
  });

  it('is atomic when a booking races a reschedule for the same time', async ({ db, tenant }) => {
    for (let round = 0; round < 5; round++) {
      const weeks = 3 + round;
      const a = await asTenant(db, tenant.tenantId, (ctx) =>
        bookAppointment(ctx, {
          serviceId: salon.cut,
          staffId: salon.ana,
          contactId: salon.contactId,
          startsAt: monday('09:00', weeks),
          actor: agent,
        }),
      );
      const target = monday('14:00', weeks);
      const [move, booking] = await settle<unknown>([
        asTenant(db, tenant.tenantId, (ctx) =>
          rescheduleAppointment(ctx, { appointmentId: a.id, startsAt: target, actor: agent }),
        ),
        asTenant(db, tenant.tenantId, (ctx) =>
          bookAppointment(ctx, {
            serviceId: salon.cut,
            staffId: salon.ana,
            contactId: salon.contactId,
            startsAt: target,
            actor: agent,
          }),
        ),
      ]);
      expect([move?.status, booking?.status].sort()).toEqual(['fulfilled', 'rejected']);
      const now = await asTenant(db, tenant.tenantId, (ctx) => getAppointment(ctx, a.id));
      if (move?.status === 'fulfilled') {
        expect(now.startsAt).toEqual(target);
      } else {
        // The move lost: A keeps its old time, still active, and nothing else moved.
        expect(move?.status === 'rejected' && move.reason).toBeInstanceOf(ConflictError);
        expect(now.startsAt).toEqual(monday('09:00', weeks));
        expect(now.status).toBe('pending');
        const events = await asTenant(db, tenant.tenantId, (ctx) =>
          listAppointmentEvents(ctx, a.id),
        );
        expect(events.map((e) => e.kind)).toEqual(['booked']);
      }
    }
  });

  it("treats another tenant's ids as unknown", async ({ db, sql, tenant, otherTenant }) => {
    const mine = await asTenant(db, tenant.tenantId, (ctx) =>
      bookAppointment(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        contactId: salon.contactId,
        startsAt: monday('17:00', 9),
        actor: agent,
      }),
    );
    const theirs = await createSalon(sql, otherTenant);
    const asOther = <T>(fn: Parameters<typeof asTenant<T>>[2]) =>
      asTenant(db, otherTenant.tenantId, fn);
    await expect(
      asOther((ctx) => cancelAppointment(ctx, { appointmentId: mine.id, actor: agent })),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      asOther((ctx) =>
        rescheduleAppointment(ctx, {
          appointmentId: mine.id,
          startsAt: monday('09:00', 9),
          actor: agent,
        }),
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(asOther((ctx) => getAppointment(ctx, mine.id))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    // Their own booking with my service, my staff or my contact.
    const theirBooking = {
      serviceId: theirs.cut,
      staffId: theirs.ana,
      contactId: theirs.contactId,
      startsAt: monday('17:00', 9),
      actor: agent,
    };
    for (const foreign of [
      { serviceId: salon.cut },
      { staffId: salon.ana },
      { contactId: salon.contactId },
    ]) {
      await expect(
        asOther((ctx) => bookAppointment(ctx, { ...theirBooking, ...foreign })),
      ).rejects.toBeInstanceOf(NotFoundError);
    }
    // The same time with their own staff is theirs to take; mine is untouched.
    await expect(asOther((ctx) => bookAppointment(ctx, theirBooking))).resolves.toBeTruthy();
    const still = await asTenant(db, tenant.tenantId, (ctx) => getAppointment(ctx, mine.id));
    expect(still.status).toBe('pending');
    // Even by raw SQL, a row cannot point at another tenant's staff (composite foreign key).
    await expect(
      sql`insert into appointments (tenant_id, contact_id, service_id, staff_id, period, starts_at, ends_at, booked_by)
        values (${otherTenant.tenantId}, ${theirs.contactId}, ${theirs.cut}, ${salon.ana},
          tstzrange('2030-01-01 10:00Z', '2030-01-01 11:00Z'), '2030-01-01 10:00Z', '2030-01-01 11:00Z', 'operator')`,
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('lets agents book but only owners and admins change services, through the operator handle', async ({
    db,
    tenant,
  }) => {
    const claims = (user: { id: string; email: string }) => ({
      sub: user.id,
      role: 'authenticated' as const,
      email: user.email,
    });
    const booked = await asOperator(db, claims(tenant.agent), (tx) =>
      bookAppointment(
        { tx, tenantId: tenant.tenantId },
        {
          serviceId: salon.cut,
          staffId: salon.ben,
          contactId: salon.contactId,
          startsAt: monday('17:00', 10),
          actor: { by: 'operator', userId: tenant.agent.id },
        },
      ),
    );
    expect(booked.bookedBy).toBe('operator');
    const renamed = (user: { id: string; email: string }) =>
      asOperator(
        db,
        claims(user),
        async (tx) =>
          [
            ...(await tx.execute(
              dsql`update services set name = name where id = ${salon.cut} returning id`,
            )),
          ].length,
      );
    expect(await renamed(tenant.agent)).toBe(0);
    expect(await renamed(tenant.owner)).toBe(1);
    // Nobody rewrites history.
    const rewritten = await asOperator(
      db,
      claims(tenant.owner),
      async (tx) =>
        [
          ...(await tx.execute(
            dsql`delete from appointment_events where appointment_id = ${booked.id} returning id`,
          )),
        ].length,
    );
    expect(rewritten).toBe(0);
  });
});

describe('appointments (property)', () => {
  it('never leaves two active appointments of one staff member overlapping', async ({
    db,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Property salon');
    const s = await createSalon(sql, t);
    const day = Date.parse('2027-06-07T07:00:00Z');
    const at = (quarter: number) => new Date(day + quarter * 15 * MINUTE);
    const command = fc.oneof(
      fc.record({
        op: fc.constant('book' as const),
        staff: fc.constantFrom('ana' as const, 'ben' as const),
        quarter: fc.integer({ min: 0, max: 24 }),
      }),
      fc.record({
        op: fc.constant('move' as const),
        pick: fc.nat(),
        staff: fc.constantFrom('ana' as const, 'ben' as const),
        quarter: fc.integer({ min: 0, max: 24 }),
      }),
      fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
        await sql`delete from appointments where tenant_id = ${t.tenantId}`;
        // The model: active appointments as [staff, start, end) of their periods (40 minutes).
        const model = new Map<string, { staffId: string; start: number; end: number }>();
        const overlapsModel = (staffId: string, start: number, except?: string) =>
          [...model.entries()].some(
            ([id, a]) =>
              id !== except &&
              a.staffId === staffId &&
              a.start < start + 40 * MINUTE &&
              start < a.end,
          );
        for (const c of commands) {
          const ids = [...model.keys()];
          if (c.op === 'book') {
            const staffId = s[c.staff];
            const start = at(c.quarter);
            const expectConflict = overlapsModel(staffId, start.getTime());
            const result = await settle([
              asTenant(db, t.tenantId, (ctx) =>
                bookAppointment(ctx, {
                  serviceId: s.cut,
                  staffId,
                  contactId: s.contactId,
                  startsAt: start,
                  actor: agent,
                }),
              ),
            ]);
            const r = must(result[0], 'result');
            expect(r.status === 'rejected').toBe(expectConflict);
            if (r.status === 'fulfilled') {
              model.set(r.value.id, {
                staffId,
                start: start.getTime(),
                end: start.getTime() + 40 * MINUTE,
              });
            } else {
              expect(r.reason).toBeInstanceOf(ConflictError);
            }
          } else if (ids.length > 0) {
            const id = must(ids[c.pick % ids.length], 'picked');
            if (c.op === 'cancel') {
              await asTenant(db, t.tenantId, (ctx) =>
                cancelAppointment(ctx, { appointmentId: id, actor: agent }),
              );
              model.delete(id);
            } else {
              const staffId = s[c.staff];
              const start = at(c.quarter).getTime();
              const expectConflict = overlapsModel(staffId, start, id);
              const result = await settle([
                asTenant(db, t.tenantId, (ctx) =>
                  rescheduleAppointment(ctx, {
                    appointmentId: id,
                    startsAt: new Date(start),
                    staffId,
                    actor: agent,
                  }),
                ),
              ]);
              expect(must(result[0], 'result').status === 'rejected').toBe(expectConflict);
              if (!expectConflict) model.set(id, { staffId, start, end: start + 40 * MINUTE });
            }
          }
        }
        const overlapping = await sql`
          select a.id from appointments a join appointments b
            on a.staff_id = b.staff_id and a.id < b.id and a.period && b.period
          where a.tenant_id = ${t.tenantId}
            and a.status in ('pending', 'confirmed') and b.status in ('pending', 'confirmed')`;
        expect(overlapping).toEqual([]);
        const active = await sql<{ id: string; staff_id: string; s: Date }[]>`
          select id, staff_id, lower(period) as s from appointments
          where tenant_id = ${t.tenantId} and status in ('pending', 'confirmed') order by id`;
        expect(active.map((a) => [a.id, a.staff_id, a.s.getTime()])).toEqual(
          [...model.entries()]
            .sort(([x], [y]) => (x < y ? -1 : 1))
            .map(([id, a]) => [id, a.staffId, a.start]),
        );
      }),
      { numRuns: 15 },
    );
  });
});
