import postgres from 'postgres';
import { afterAll, bench, describe, inject } from 'vitest';
import { startPooler } from '../dev/pooler';
import { encodeCursor } from '../functions/admin/paging';
import { adminSql } from '../test/fixtures';
import { createHarness, type Harness } from '../test/harness';
import { startRoundTripCounter } from '../test/round-trips';
import { percentile } from './percentile';
import { FULL_SCALE, type InboxScale, seedInbox } from './seed-inbox';

/**
 * The operator inbox at scale, through the real routes (in-process app, signed operator token,
 * operator handle with RLS, a client per request through the local pooler): the chat list with
 * each filter, a page deep in it, the first page of a 20k-message thread and an idle delta poll
 * of it. Full size (100k conversations, 1M messages) on
 * a Postgres server (DATABASE_URL=… npm run bench); smaller on the embedded database, where loading
 * a million rows takes minutes.
 *
 * Vitest reports percentiles p75/p99 but not p95, so each call is also timed here and p50/p95 are
 * printed after each task (warm-up calls excluded). Run it alone and in one project:
 * `DATABASE_URL=… npx vitest bench --run --project integration bench/inbox.bench.ts`.
 */
// Vitest runs no hooks before benchmarks, so the data is arranged at module load.
const embedded = inject('databaseKind') === 'embedded';
const scale: InboxScale = embedded ? { ...FULL_SCALE, conversations: 10_000 } : FULL_SCALE;
const sql = adminSql();
const seeded = await seedInbox(sql, scale);
console.info(
  `[bench] inbox seeded on the ${embedded ? 'embedded database (smaller than full size)' : 'Postgres server'}: ` +
    `${seeded.counts.conversations} conversations, ${seeded.counts.messages} messages, ` +
    `a ${scale.threadMessages}-message thread`,
);
// Each request opens its own client, as a Worker does, to a pooler, as a Worker reaches Supabase
// through Hyperdrive: no Postgres backend is started per request (dev/pooler.ts, as `npm start`).
// PGlite has one backend behind all its connections: one server connection in front of it.
const pooler = await startPooler({
  targetUrl: inject('databaseUrl'),
  maxServerConnections: embedded ? 1 : 10,
});
const h = await createHarness({ standIns: false, bindings: { DATABASE_URL: pooler.url } });
// The same routes once more through a round-trip counter, for the figure printed beside each task.
const counter = await startRoundTripCounter(inject('databaseUrl'));
const counted = await createHarness({
  standIns: false,
  bindings: { DATABASE_URL: counter.url },
});
const operator = seeded.tenant.agent;
const thread = `/admin/chats/${seeded.thread.conversationId}/messages`;

/** As the operator page asks: for the business it acts on (X-Tenant-Id). */
async function get(path: string, through: Harness = h): Promise<unknown> {
  const res = await through.asUser(operator, path, {
    headers: { 'x-tenant-id': seeded.tenant.tenantId },
  });
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

// Half-way down the tenant's list (50,000 conversations deep at full size).
const [middle] = await sql<{ p: string; id: string }[]>`
  select last_message_at::text as p, id from conversations where tenant_id = ${seeded.tenant.tenantId}
  order by last_message_at desc nulls last, id desc
  offset ${Math.floor(scale.conversations / 2)} limit 1`;
if (!middle) throw new Error('the seeded list is shorter than expected');
const deepCursor = encodeCursor(middle);
// A route that refuses its input fails here, loudly, rather than as a NaN in vitest's table.
await get(`/admin/chats/summary?cursor=${deepCursor}`);
// The cursor a client holds after loading the thread: nothing has changed since.
const { next_cursor: idleCursor } = (await get(`${thread}?limit=50`)) as { next_cursor: string };

// The floor beside the routes: the same rows read by a bare postgres.js pool through the same
// pooler, as the table owner (no token, no binding, no RLS, no JSON shaping): what a request
// cannot go below. Each route's p95 is printed with its floor's and their ratio, taken in one run.
const floorSql = postgres(pooler.url, { max: 10, fetch_types: false, onnotice: () => {} });
const floorP95 = new Map<string, number>();
const [lastChange] = await sql<{ at: string }[]>`
  select max(updated_at)::text as at from messages
  where conversation_id = ${seeded.thread.conversationId}`;

function floorTimed(route: string, query: () => Promise<unknown>) {
  let samples: number[] = [];
  bench(
    `floor: ${route}`,
    async () => {
      const started = performance.now();
      await query();
      samples.push(performance.now() - started);
    },
    {
      time: 2_000,
      iterations: 30,
      teardown: async (_task, mode) => {
        if (mode === 'warmup') {
          samples = [];
          return;
        }
        const sorted = [...samples].sort((a, b) => a - b);
        floorP95.set(route, Number.parseFloat(percentile(sorted, 95)));
        console.info(
          `[bench] floor: ${route}: n=${sorted.length} p50 ${percentile(sorted, 50)} p95 ${percentile(sorted, 95)}, 1 round trip`,
        );
      },
    },
  );
}

/** Vitest's bench reports no p95: every call is timed here too, and p50/p95 printed per task. */
function timed(name: string, path: string) {
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
      time: 2_000,
      iterations: 30,
      teardown: async (_task, mode) => {
        // Warm-up calls are not counted.
        if (mode === 'warmup') {
          samples = [];
          counter.reset();
          await get(path, counted);
          roundTrips = counter.counts().roundTrips;
          return;
        }
        const sorted = [...samples].sort((a, b) => a - b);
        const p95 = percentile(sorted, 95);
        const floor = floorP95.get(name);
        const ratio = floor
          ? `; floor p95 ${floor.toFixed(1)} ms, ${(Number.parseFloat(p95) / floor).toFixed(1)}× the floor`
          : '';
        console.info(
          `[bench] ${name}: n=${sorted.length} p50 ${percentile(sorted, 50)} p95 ${p95}, ${roundTrips} round trip(s)${ratio}`,
        );
      },
    },
  );
}

describe(`operator inbox at ${seeded.counts.conversations} conversations / ${seeded.counts.messages} messages`, () => {
  afterAll(async () => {
    await h.close();
    await counted.close();
    await counter.close();
    await floorSql.end();
    await pooler.close();
    await sql.end();
  });

  floorTimed(
    'summary, first page (all)',
    () => floorSql`
      select v.id, v.last_message_preview, v.last_message_at, v.unread_count, v.is_locked,
        c.name, c.phone
      from conversations v join contacts c on c.id = v.contact_id
      where v.tenant_id = ${seeded.tenant.tenantId}
      order by v.last_message_at desc nulls last, v.id desc limit 30`,
  );
  floorTimed(
    '20k-message thread, idle delta poll',
    () => floorSql`
      select id, status, content, updated_at from messages
      where conversation_id = ${seeded.thread.conversationId}
        and (updated_at, id) > (${lastChange?.at ?? null}::timestamptz, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)
      order by updated_at, id limit 50`,
  );

  timed('summary, first page (all)', '/admin/chats/summary');
  timed('summary, human_only', '/admin/chats/summary?human_filter=human_only');
  timed('summary, bot_only', '/admin/chats/summary?human_filter=bot_only');
  timed('summary, channel=instagram', '/admin/chats/summary?channel=instagram');
  timed('summary, deep cursor page (half-way down)', `/admin/chats/summary?cursor=${deepCursor}`);
  timed('20k-message thread, first page of 50', `${thread}?limit=50`);
  timed('20k-message thread, idle delta poll', `${thread}?after=${idleCursor}`);
});
