import { afterAll, bench, describe, inject } from 'vitest';
import { adminSql, createTenant } from '../test/fixtures';
import { TEST_APP_SECRET } from '../test/harness';
import { startRoundTripCounter } from '../test/round-trips';
import { POOL_SIZE, serveFloor } from './serve-node';
import { type Load, loadWebhooks, signedWebhooks, startBenchStack } from './stack';

/**
 * Ingest throughput (issue 9): signed one-message WhatsApp webhooks spread over 1,000 customers,
 * 32 connections, against the app on Node (the app factory, production driver settings, one
 * shared pool) and, in the same run, a floor (HMAC + one INSERT … ON CONFLICT). Each figure is a
 * ratio to the floor taken minutes apart in one process, so the machine's load cancels out.
 * Bot off runs first so that no agent turn scheduled by the bot-on run lands inside it.
 *
 * `npx vitest bench --run --project integration bench/ingest.bench.ts` (embedded database), or
 * with `DATABASE_URL=postgres://…` for the Postgres server. `BENCH_SECONDS` sets each run's length.
 */
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = 32;
const customers = 1_000;
const databaseUrl = inject('databaseUrl');
const sql = adminSql();
const tenant = await createTenant(sql, 'Bench ingest');
const stack = await startBenchStack(databaseUrl, tenant);
const floor = await serveFloor(databaseUrl, TEST_APP_SECRET);

/** Round trips of one warm webhook before its answer, through a counting proxy. */
async function roundTripsOfOneWebhook(): Promise<number> {
  const counter = await startRoundTripCounter(databaseUrl);
  // A pool of one, so the counted webhook runs on the connection the first one warmed.
  const counted = await startBenchStack(counter.url, tenant, { poolSize: 1 });
  try {
    const next = signedWebhooks(tenant, customers);
    await fetch(`${counted.app.url}/webhooks/meta`, { method: 'POST', ...next() });
    await counted.app.drain();
    counter.reset();
    const res = await fetch(`${counted.app.url}/webhooks/meta`, { method: 'POST', ...next() });
    const roundTrips = counter.counts().roundTrips;
    await res.arrayBuffer();
    await counted.app.drain();
    return roundTrips;
  } finally {
    await counted.close();
    await counter.close();
  }
}

async function setReplyMode(mode: 'auto' | 'off') {
  await sql`update tenant_settings set reply_mode = ${mode} where tenant_id = ${tenant.tenantId}`;
}

function row(name: string, load: Load, floorLoad?: Load) {
  const ratio = floorLoad ? (load.requestsPerSecond / floorLoad.requestsPerSecond).toFixed(3) : '';
  return (
    `| ${name} | ${load.requestsPerSecond.toFixed(0)} | ${load.p50} ms | ${load.p99} ms | ` +
    `${load.non2xx} | ${load.errors} | ${load.timeouts} | ${ratio ? `${ratio}×` : '—'} |`
  );
}

const results: string[] = [];
const modes = (process.env.BENCH_REPLY_MODES ?? 'off,auto').split(',') as ('off' | 'auto')[];
for (const mode of modes) {
  await setReplyMode(mode);
  const label = mode === 'off' ? 'bot off' : 'bot on';
  // Warm-up: connections opened, statements prepared, JIT warm; not recorded.
  await loadWebhooks(floor.url, signedWebhooks(tenant, customers), { connections, seconds: 2 });
  await loadWebhooks(stack.app.url, signedWebhooks(tenant, customers), { connections, seconds: 2 });
  const floorLoad = await loadWebhooks(floor.url, signedWebhooks(tenant, customers), {
    connections,
    seconds,
  });
  const appLoad = await loadWebhooks(stack.app.url, signedWebhooks(tenant, customers), {
    connections,
    seconds,
  });
  results.push(
    row(`floor (${label})`, floorLoad),
    row(`Switchboard, ${label}`, appLoad, floorLoad),
  );
}
await stack.app.drain();
const roundTrips = await roundTripsOfOneWebhook();
console.info(
  [
    `[bench] ingest on the ${inject('databaseKind') === 'embedded' ? 'embedded database' : 'Postgres server'}, ` +
      `${connections} connections × ${seconds} s, ${customers} customers, pool of ${POOL_SIZE}:`,
    '| | req/s | p50 | p99 | non-2xx | errors | timeouts | × floor |',
    '|---|---|---|---|---|---|---|---|',
    ...results,
    `round trips of one webhook before its 200 (warm pool): ${roundTrips}; targets: ≥ 0.5× floor, p99 ≤ 50 ms, ≤ 3 round trips`,
  ].join('\n'),
);

describe('one signed webhook at a time (no concurrency)', () => {
  afterAll(async () => {
    await stack.close();
    await floor.close();
    await sql.end();
  });
  const appNext = signedWebhooks(tenant, customers);
  const floorNext = signedWebhooks(tenant, customers);
  bench('floor: HMAC + one INSERT', async () => {
    const res = await fetch(`${floor.url}/webhooks/meta`, { method: 'POST', ...floorNext() });
    if (res.status !== 200) throw new Error(`floor answered ${res.status}`);
  });
  bench('Switchboard on Node, shared pool', async () => {
    const res = await fetch(`${stack.app.url}/webhooks/meta`, { method: 'POST', ...appNext() });
    if (res.status !== 200) throw new Error(`app answered ${res.status}`);
    await res.arrayBuffer();
  });
});
