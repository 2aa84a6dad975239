import type postgres from 'postgres';
import { expect } from 'vitest';
import { customerWrites } from './agent';
import { createConversation } from './conversations';
import type { TenantFixture } from './fixtures';
import { type Harness, qstashSignature } from './harness';
import { must } from './must';

/**
 * What the follow-up tests (docs/follow-ups.md) set up alike: a business whose wall clock shows a
 * chosen hour, a bookable clinic, a customer who asked days ago, and the daily scan run by hand.
 */

const DAY = 86_400_000;

/** A fixed-offset zone whose wall clock shows `hour` now (tests run at any UTC hour). */
export function zoneAtLocalHour(hour: number): string {
  let offset = hour - new Date().getUTCHours();
  if (offset > 12) offset -= 24;
  if (offset < -12) offset += 24;
  if (offset === 0) return 'Etc/GMT';
  // Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3.
  return `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/**
 * A clinic whose staff contact (`staffPhone`) is on WhatsApp and has written to its number
 * (window open), with a bookable 30-minute cleaning by Ana, 09:00–18:00 every day, no notice;
 * `description` sets the staff's language.
 */
export async function bookableClinic(
  h: Harness,
  sql: postgres.Sql,
  t: TenantFixture,
  options: { staffPhone: string; description?: string },
) {
  await sql`update tenant_settings set time_zone = ${zoneAtLocalHour(10)},
      escalation_contacts = ${sql.json([{ name: 'Jefa', whatsapp: options.staffPhone }])},
      business_description = ${options.description ?? 'Clínica dental en Madrid'},
      min_notice_minutes = 0, max_horizon_days = 366
    where tenant_id = ${t.tenantId}`;
  const [cleaning] = await sql`insert into services (tenant_id, name, names, duration_minutes)
    values (${t.tenantId}, 'Limpieza dental',
      ${sql.json({ es: 'Limpieza dental', en: 'Teeth cleaning', ar: 'تنظيف الأسنان' })}, 30)
    returning id`;
  const [ana] =
    await sql`insert into staff (tenant_id, name) values (${t.tenantId}, 'Ana') returning id`;
  const ids = {
    cleaning: must(cleaning, 'cleaning').id as string,
    ana: must(ana, 'ana').id as string,
  };
  await sql`insert into service_staff (tenant_id, service_id, staff_id)
    values (${t.tenantId}, ${ids.cleaning}, ${ids.ana})`;
  for (const weekday of [1, 2, 3, 4, 5, 6, 7]) {
    await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
      values (${t.tenantId}, ${ids.ana}, ${weekday}, '09:00', '18:00')`;
  }
  await customerWrites(h, t, options.staffPhone, 'hola');
  await h.settle();
  return ids;
}

/** A customer who asked five days ago (`question`) and did not book; wrote an hour ago too. */
export async function customerWhoAsked(
  sql: postgres.Sql,
  t: TenantFixture,
  question: string,
  name = 'Lucía Pérez',
) {
  const when = new Date(Date.now() - 5 * DAY);
  const conv = await createConversation(sql, t, { lastInboundAt: when, now: when, name });
  await sql`update messages set content = ${question} where id = ${conv.inbound.id}`;
  await sql`update conversations set last_message_at = ${when},
      last_inbound_at = ${new Date(Date.now() - 3_600_000)}
    where id = ${conv.conversationId}`;
  return { ...conv, phone: conv.externalUserId };
}

/** The business's daily follow-up scan, delivered as QStash would, and everything it caused. */
export async function runScan(h: Harness, t: TenantFixture) {
  const body = JSON.stringify({
    outboxId: crypto.randomUUID(),
    tenantId: t.tenantId,
    payload: { localDate: 'today' },
  });
  const res = await h.request('/jobs/opportunities-scan', {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'upstash-signature': await qstashSignature(body, 'opportunities-scan'),
    },
  });
  expect(res.status).toBe(200);
  await h.settle();
}

/** The opportunity the scan found for a contact. */
export async function opportunityOf(sql: postgres.Sql, contactId: string) {
  return must(
    (await sql`select * from opportunities where contact_id = ${contactId}`)[0],
    'opportunity',
  );
}
