import { afterAll, bench, describe, inject } from 'vitest';
import {
  addDays,
  availableSlots,
  isoWeekday,
  type LocalDate,
  zonedInstant,
} from '../core/appointments/availability';
import { findFreeSlots, loadAvailabilityInputs } from '../db/appointments';
import { asTenant, connect } from '../db/client';
import { adminSql, createTenant } from '../test/fixtures';
import { startRoundTripCounter } from '../test/round-trips';
import { percentile } from './percentile';

/**
 * Free slots over a month (issue 10: p95 ≤ 20 ms): one tenant, 5 staff who all perform a 30-minute
 * service (10 minutes' clean-up after), Mon–Sat 9:00–19:00 in Europe/Madrid, a holiday, a few
 * closed days and a Sunday of extra hours on the day clocks go forward, and 500 confirmed
 * appointments in those 30 days. Timed: `findFreeSlots` for "any staff" over the 30 days (the
 * tenant handle's transaction, one statement to load everything, the pure computation), and the
 * pure computation alone on the same inputs. Round trips are counted by the proxy the budgets use
 * (test/round-trips.ts), on a connection that stays open, as a pooled one does.
 *
 * `npx vitest bench --run --project integration bench/availability.bench.ts` (DATABASE_URL=… for
 * the Postgres server). Vitest reports no p95: each call is timed here and p50/p95 printed.
 */
const TIME_ZONE = 'Europe/Madrid';
const DAYS = 30;
const STAFF = 5;
const APPOINTMENTS = 500;
const from: LocalDate = '2027-03-15'; // a Monday; clocks go forward on Sunday 2027-03-28
const to = addDays(from, DAYS - 1);
const now = new Date(zonedInstant(from, 0, TIME_ZONE));
const holiday = addDays(from, 17);
const springForward = '2027-03-28';

// Vitest runs no hooks before benchmarks, so the data is arranged at module load.
const sql = adminSql();
const tenant = await createTenant(sql, 'Bench availability');
const tenantId = tenant.tenantId;
await sql`update tenant_settings set time_zone = ${TIME_ZONE}, min_notice_minutes = 0
  where tenant_id = ${tenantId}`;
const [service] = await sql<{ id: string }[]>`insert into services
  (tenant_id, name, duration_minutes, buffer_after_minutes) values (${tenantId}, 'Cut', 30, 10)
  returning id`;
const serviceId = service?.id ?? '';
const staffIds: string[] = [];
for (let k = 0; k < STAFF; k++) {
  const [row] = await sql<{ id: string }[]>`insert into staff (tenant_id, name)
    values (${tenantId}, ${`Staff ${k + 1}`}) returning id`;
  const staffId = row?.id ?? '';
  staffIds.push(staffId);
  await sql`insert into service_staff (tenant_id, service_id, staff_id)
    values (${tenantId}, ${serviceId}, ${staffId})`;
  for (let weekday = 1; weekday <= 6; weekday++) {
    await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
      values (${tenantId}, ${staffId}, ${weekday}, '09:00', '19:00')`;
  }
}
const [first, second] = staffIds;
const closedDays = new Set([`${first} ${addDays(from, 3)}`, `${second} ${addDays(from, 10)}`]);
await sql`insert into schedule_exceptions (tenant_id, staff_id, date, kind, start_time, end_time)
  values (${tenantId}, null, ${holiday}, 'holiday', null, null),
         (${tenantId}, ${first ?? null}, ${addDays(from, 3)}, 'closed', null, null),
         (${tenantId}, ${second ?? null}, ${addDays(from, 10)}, 'closed', null, null),
         (${tenantId}, ${second ?? null}, ${springForward}, 'extra_hours', '10:00', '14:00')`;

// Up to five appointments a working day per staff member, at half hours at least 2 hours apart
// (no overlap, buffer included), shifting from day to day, until there are 500.
const [contact] = await sql<{ id: string }[]>`insert into contacts
  (tenant_id, channel, external_user_id, phone) values (${tenantId}, 'whatsapp', '34600000500', '34600000500')
  returning id`;
const rows: Array<Record<string, string>> = [];
for (let d = 0; d < DAYS && rows.length < APPOINTMENTS; d++) {
  const date = addDays(from, d);
  if (isoWeekday(date) === 7 || date === holiday) continue;
  staffIds.forEach((staffId, k) => {
    if (closedDays.has(`${staffId} ${date}`)) return;
    for (let i = 0; i < 5 && rows.length < APPOINTMENTS; i++) {
      const halfHour = (k + d + i * 4) % 20;
      const start = new Date(zonedInstant(date, 9 * 60 + halfHour * 30, TIME_ZONE));
      const end = new Date(start.getTime() + 30 * 60_000);
      const periodEnd = new Date(end.getTime() + 10 * 60_000);
      rows.push({
        tenant_id: tenantId,
        contact_id: contact?.id ?? '',
        service_id: serviceId,
        staff_id: staffId,
        period: `[${start.toISOString()},${periodEnd.toISOString()})`,
        starts_at: start.toISOString(),
        ends_at: end.toISOString(),
        status: 'confirmed',
        booked_by: 'operator',
      });
    }
  });
}
await sql`insert into appointments ${sql(rows)}`;
if (rows.length !== APPOINTMENTS) throw new Error(`arranged ${rows.length} appointments`);
await sql`analyze appointments`;

const counter = await startRoundTripCounter(inject('databaseUrl'));
// One connection that stays open: its prepared statement is reused, as on a pooled connection.
const { db, close } = connect(counter.url, { max: 1 });
const query = { serviceId, from, to, now };
const free = () => asTenant(db, tenantId, (ctx) => findFreeSlots(ctx, query));
const inputs = await asTenant(db, tenantId, (ctx) => loadAvailabilityInputs(ctx, query));
const slotCount = (await free()).length;
const where = inject('databaseKind') === 'embedded' ? 'embedded database' : 'Postgres server';
console.info(
  `[bench] availability on the ${where}: ${STAFF} staff, ${DAYS} days, ${inputs.busy.length} busy periods loaded, ${slotCount} free slots`,
);

/** Times each call too (vitest reports no p95) and prints p50/p95 and round trips per call. */
function timed(name: string, fn: () => Promise<unknown> | unknown) {
  let samples: number[] = [];
  let roundTrips: number[] = [];
  bench(
    name,
    async () => {
      counter.reset();
      const started = performance.now();
      await fn();
      samples.push(performance.now() - started);
      roundTrips.push(counter.counts().roundTrips);
    },
    {
      time: 3_000,
      iterations: 50,
      teardown: (_task, mode) => {
        if (mode === 'warmup') {
          samples = [];
          roundTrips = [];
          return;
        }
        const sorted = [...samples].sort((a, b) => a - b);
        console.info(
          `[bench] ${name}: n=${sorted.length} p50 ${percentile(sorted, 50, 2)} p95 ${percentile(sorted, 95, 2)}; ` +
            `round trips per call ${Math.min(...roundTrips)}–${Math.max(...roundTrips)} (target p95 ≤ 20 ms)`,
        );
      },
    },
  );
}

describe(`free slots over ${DAYS} days, ${STAFF} staff, ${APPOINTMENTS} appointments`, () => {
  afterAll(async () => {
    await close();
    await counter.close();
    await sql.end();
  });

  timed('findFreeSlots, any staff (transaction + one statement + computation)', free);
  timed('availableSlots alone (pure, inputs loaded)', () =>
    availableSlots({ ...inputs, now, from, to }),
  );
});
