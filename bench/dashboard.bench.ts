import { afterAll, bench, describe, inject } from 'vitest';
import { startPooler } from '../dev/pooler';
import { adminSql } from '../test/fixtures';
import { createHarness, type Harness } from '../test/harness';
import { startRoundTripCounter } from '../test/round-trips';
import { percentile } from './percentile';
import { DASHBOARD_FULL_SCALE, type DashboardScale, seedDashboard } from './seed-dashboard';

/**
 * The dashboard at 1M messages (bench/seed-dashboard.ts: a year of a busy business, 2,700
 * messages a day), through the real route (in-process app, signed operator token, operator
 * handle with RLS, a client per request through the local pooler, as bench/inbox.bench.ts).
 * First with nothing rolled up (every day computed from the raw rows as it is read), then after
 * `app.roll_up_dashboards` (what the cron keeps: closed days from `dashboard_days`, today from the
 * raw rows). Full size on a Postgres server (`DATABASE_URL=… npx vitest bench
 * --run --project integration bench/dashboard.bench.ts`); a tenth of it on the embedded database.
 * Vitest reports no p95: each call is timed here and p50/p95 printed per task (warm-up excluded).
 */
// Vitest runs no hooks before benchmarks, so the data is arranged at module load.
const embedded = inject('databaseKind') === 'embedded';
const scale: DashboardScale = embedded
  ? { ...DASHBOARD_FULL_SCALE, conversations: 5_000 }
  : DASHBOARD_FULL_SCALE;
const sql = adminSql();
const seedStarted = performance.now();
const seeded = await seedDashboard(sql, scale);
console.info(
  `[bench] dashboard seeded on the ${embedded ? 'embedded database (a tenth of full size)' : 'Postgres server'} ` +
    `in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s: ${seeded.counts.messages} messages, ` +
    `${seeded.counts.runs} runs, ${seeded.counts.lockEvents} handoffs over ${scale.days} days (two businesses)`,
);
const pooler = await startPooler({
  targetUrl: inject('databaseUrl'),
  maxServerConnections: embedded ? 1 : 10,
});
const h = await createHarness({ standIns: false, bindings: { DATABASE_URL: pooler.url } });
const counter = await startRoundTripCounter(inject('databaseUrl'));
const counted = await createHarness({ standIns: false, bindings: { DATABASE_URL: counter.url } });

async function get(path: string, through: Harness = h): Promise<unknown> {
  const res = await through.asUser(seeded.agent, path, {
    headers: { 'x-tenant-id': seeded.tenantId },
  });
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

// A route that refuses its input fails here, loudly, rather than as a NaN in vitest's table.
const probe = (await get('/admin/dashboard?days=7')) as { totals: { messages_in: number } };
if (probe.totals.messages_in === 0) throw new Error('the seeded week has no messages');

let rolledUp = false;
/** The cron's rollup, all at once (the cron does 31 days a minute per business). */
async function rollUp() {
  if (rolledUp) return;
  rolledUp = true;
  const started = performance.now();
  const [row] = await sql<
    { days: number }[]
  >`select app.roll_up_dashboards(${scale.days + 10}::int) as days`;
  console.info(
    `[bench] rollup: ${row?.days} days of two businesses in ${(performance.now() - started).toFixed(0)} ms`,
  );
}

function timed(name: string, path: string, before?: () => Promise<void>) {
  let samples: number[] = [];
  let roundTrips: number | string = '–';
  bench(
    name,
    async () => {
      const started = performance.now();
      await get(path);
      samples.push(performance.now() - started);
    },
    {
      time: 3_000,
      iterations: 30,
      setup: async () => {
        await before?.();
      },
      teardown: async (_task, mode) => {
        if (mode === 'warmup') {
          samples = [];
          counter.reset();
          await get(path, counted);
          roundTrips = counter.counts().roundTrips;
          return;
        }
        const sorted = [...samples].sort((a, b) => a - b);
        console.info(
          `[bench] ${name}: n=${sorted.length} p50 ${percentile(sorted, 50)} p95 ${percentile(sorted, 95)}, ${roundTrips} round trip(s)`,
        );
      },
    },
  );
}

describe(`dashboard at ${seeded.counts.messages} messages`, () => {
  afterAll(async () => {
    await h.close();
    await counted.close();
    await counter.close();
    await pooler.close();
    await sql.end();
  });

  timed('nothing rolled up: 7 days from the raw rows', '/admin/dashboard?days=7');
  timed('nothing rolled up: 30 days from the raw rows', '/admin/dashboard?days=30');
  timed('rolled up: 30 days (today from the raw rows)', '/admin/dashboard?days=30', rollUp);
  timed('rolled up: 92 days', '/admin/dashboard?days=92', rollUp);
});
