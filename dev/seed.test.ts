import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localDateOf } from '../core/appointments/availability';
import { findFreeSlots } from '../db/appointments';
import { asTenant, connect } from '../db/client';
import { demoTenants } from './local-config';
import { seedDemo } from './seed';
import { demoBusiness, nextHoliday } from './seed-appointments';

const DAY = 86_400_000;

describe('demo seed', () => {
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  const { db, close } = connect(inject('databaseUrl'));
  afterAll(async () => {
    await sql.end();
    await close();
  });
  const ids = demoTenants.map((t) => t.id);

  /** Every row the demo business seeds, for comparing one seeding with the next. */
  async function bookableRows() {
    const tables = [
      'services',
      'staff',
      'service_staff',
      'working_hours',
      'schedule_exceptions',
      'contacts',
      'appointments',
      'appointment_events',
    ];
    const rows: Record<string, readonly unknown[]> = {};
    for (const table of tables) {
      rows[table] = await sql`select * from ${sql(table)} where tenant_id = any(${ids})
        order by id`;
    }
    return rows;
  }

  it('loads two tenants with three channels, two operators and templates each, idempotently', async () => {
    await seedDemo(sql);
    await seedDemo(sql);
    const accounts =
      await sql`select tenant_id, count(*)::int as n from channel_accounts where tenant_id = any(${ids}) group by tenant_id`;
    expect(accounts.map((r) => r.n)).toEqual([3, 3]);
    const members =
      await sql`select count(*)::int as n from tenant_members where tenant_id = any(${ids})`;
    expect(members[0]?.n).toBe(4);
    const approved =
      await sql`select count(*)::int as n from templates where tenant_id = ${ids[0]!} and status = 'APPROVED'`;
    expect(approved[0]?.n).toBeGreaterThan(0);
    const [user] =
      await sql`select encrypted_password from auth.users where email = 'owner@sonrisa.test'`;
    expect(user?.encrypted_password).toMatch(/^\$2[aby]\$/);
  });

  it('seeds the bookable business once: seeding again leaves the same rows', async () => {
    const now = new Date();
    await seedDemo(sql, now);
    const first = await bookableRows();
    await seedDemo(sql, now);
    expect(await bookableRows()).toEqual(first);
    for (const table of ['services', 'staff', 'working_hours', 'appointments'] as const) {
      expect(first[table]?.length, table).toBeGreaterThan(0);
    }
  });

  for (const tenant of demoTenants) {
    it(`gives ${tenant.name} services, staff with hours, a holiday, bookings and free slots`, async () => {
      const now = new Date();
      await seedDemo(sql, now);
      const [settings] = await sql`select time_zone from tenant_settings
        where tenant_id = ${tenant.id}`;
      expect(settings?.time_zone).toBe(tenant.timeZone);
      const services = await sql<{ id: string; performers: number }[]>`
        select s.id, (select count(*)::int from service_staff ss where ss.service_id = s.id) as performers
        from services s where s.tenant_id = ${tenant.id} and s.active and s.bookable order by s.name`;
      expect(services.length).toBeGreaterThanOrEqual(2);
      for (const s of services) expect(s.performers).toBeGreaterThan(0);
      const staff = await sql<{ name: string; shifts: number }[]>`
        select st.name, (select count(*)::int from working_hours w where w.staff_id = st.id) as shifts
        from staff st where st.tenant_id = ${tenant.id} order by st.name`;
      expect(staff).toHaveLength(2);
      for (const member of staff) expect(member.shifts, member.name).toBeGreaterThanOrEqual(5);

      const holiday = nextHoliday(
        demoBusiness(tenant.slug) ?? { holidays: {}, staff: [] },
        localDateOf(now, tenant.timeZone),
      );
      const [closedDay] = await sql<{ date: string }[]>`select date::text from schedule_exceptions
        where tenant_id = ${tenant.id} and staff_id is null and kind = 'holiday'
          and date >= ${localDateOf(now, tenant.timeZone)}::date`;
      expect(closedDay?.date).toBe(holiday?.date);

      const booked = await sql<{ starts_at: Date; staff_id: string }[]>`
        select starts_at, staff_id from appointments
        where tenant_id = ${tenant.id} and starts_at > ${now} and status in ('pending', 'confirmed')`;
      expect(booked).toHaveLength(3);
      // Booked within the next working days, not on the holiday.
      for (const a of booked) {
        expect(a.starts_at.getTime() - now.getTime()).toBeLessThan(10 * DAY);
        expect(localDateOf(a.starts_at, tenant.timeZone)).not.toBe(holiday?.date);
      }

      const from = localDateOf(now, tenant.timeZone);
      const to = localDateOf(new Date(now.getTime() + 30 * DAY), tenant.timeZone);
      for (const service of services) {
        const slots = await asTenant(db, tenant.id, (ctx) =>
          findFreeSlots(ctx, { serviceId: service.id, from, to, now }),
        );
        expect(slots.length).toBeGreaterThan(0);
        expect(slots.every((s) => s.start > now)).toBe(true);
        expect(slots.some((s) => localDateOf(s.start, tenant.timeZone) === holiday?.date)).toBe(
          false,
        );
        // No slot starts where a booking of the same staff member starts.
        const taken = new Set(booked.map((b) => `${b.staff_id} ${b.starts_at.getTime()}`));
        expect(slots.filter((s) => taken.has(`${s.staffId} ${s.start.getTime()}`))).toEqual([]);
      }
    });
  }
});
