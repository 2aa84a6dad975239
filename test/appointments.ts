import type postgres from 'postgres';
import { createConversation } from './conversations';
import type { TenantFixture } from './fixtures';
import { must } from './must';

/**
 * Test support for the appointment routes: a small salon arranged with the superuser connection,
 * and one row of each kind for another tenant (whose ids every route must answer 404 for).
 */

/** A 30-minute cut (10 minutes to clean up) by Ana, 9–18 on weekdays, Madrid time, no notice. */
export async function createSalon(sql: postgres.Sql, t: TenantFixture) {
  const [cut] =
    await sql`insert into services (tenant_id, name, duration_minutes, buffer_after_minutes, price_minor, currency)
    values (${t.tenantId}, 'Haircut', 30, 10, 2500, 'EUR') returning id`;
  const [ana] =
    await sql`insert into staff (tenant_id, name) values (${t.tenantId}, 'Ana') returning id`;
  const ids = { cut: must(cut, 'cut').id as string, ana: must(ana, 'ana').id as string };
  await sql`insert into service_staff (tenant_id, service_id, staff_id) values (${t.tenantId}, ${ids.cut}, ${ids.ana})`;
  for (const weekday of [1, 2, 3, 4, 5]) {
    await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
      values (${t.tenantId}, ${ids.ana}, ${weekday}, '09:00', '18:00')`;
  }
  await sql`update tenant_settings set time_zone = 'Europe/Madrid', min_notice_minutes = 0,
    max_horizon_days = 366 where tenant_id = ${t.tenantId}`;
  const conv = await createConversation(sql, t, { name: 'María' });
  return { ...ids, contactId: conv.contactId, conversationId: conv.conversationId };
}

export async function foreignService(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [row] = await sql`insert into services (tenant_id, name, duration_minutes)
    values (${b.tenantId}, 'B only', 30) returning id`;
  return must(row, 'service').id as string;
}

export async function foreignStaff(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [row] =
    await sql`insert into staff (tenant_id, name) values (${b.tenantId}, 'B only') returning id`;
  return must(row, 'staff').id as string;
}

export async function foreignException(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [row] = await sql`insert into schedule_exceptions (tenant_id, date, kind)
    values (${b.tenantId}, '2027-01-06', 'holiday') returning id`;
  return must(row, 'exception').id as string;
}

/** An appointment of tenant B (in a year nothing else books). */
export async function foreignAppointment(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const salon = await createSalon(sql, b);
  const start = new Date(Date.UTC(2031, 0, 6, 9) + Math.floor(Math.random() * 1000) * 3_600_000);
  const end = new Date(start.getTime() + 30 * 60_000);
  const [row] = await sql`insert into appointments (tenant_id, contact_id, service_id, staff_id,
      period, starts_at, ends_at, booked_by)
    values (${b.tenantId}, ${salon.contactId}, ${salon.cut}, ${salon.ana},
      tstzrange(${start}, ${end}), ${start}, ${end}, 'operator') returning id`;
  return must(row, 'appointment').id as string;
}
