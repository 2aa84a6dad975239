import { bench, describe, inject } from 'vitest';
import { startPooler } from '../dev/pooler';
import { agentTurnJob } from '../functions/jobs/agent-turn';
import { customerWrites, replyWith, scriptedModels } from '../test/agent';
import { adminSql, createTenant } from '../test/fixtures';
import { createHarness, qstashSignature, TEST_PUBLIC_BASE_URL } from '../test/harness';
import { customerPhone } from '../test/meta-webhooks';
import { startRoundTripCounter } from '../test/round-trips';

/**
 * What an agent turn costs besides the model (issue 9): decide, think with a mock model that
 * answers at once, store the reply and publish its send job, through the real `/jobs/agent-turn`
 * route as QStash delivers it (signed), on a fresh client per delivery as on Workers, to the local
 * pooler as a Worker reaches Supabase through Hyperdrive (dev/pooler.ts, as `npm start`): no
 * Postgres backend is started per delivery. The customer message that triggers each turn is
 * written beforehand and not timed. Round trips per turn are counted by the proxy the budgets use
 * (test/round-trips.ts), between the app and the pooler.
 *
 * `npx vitest bench --run --project integration bench/agent-turn.bench.ts` (DATABASE_URL=… for
 * the Postgres server).
 */
// PGlite has one backend behind all its connections: one server connection in front of it.
const pooler = await startPooler({
  targetUrl: inject('databaseUrl'),
  maxServerConnections: inject('databaseKind') === 'embedded' ? 1 : 10,
});
const counter = await startRoundTripCounter(pooler.url);
const script = scriptedModels(
  Array.from({ length: 5_000 }, () => replyWith('¡Hola! ¿En qué te ayudo?')),
);
const h = await createHarness({
  // No read receipt: it is a Graph call beside the turn, not the turn.
  bindings: { DATABASE_URL: counter.url, WHATSAPP_ALLOW_LIVE_SEND: 'false' },
  jobs: [agentTurnJob({ models: (choice) => script.resolver(choice) })],
});
const sql = adminSql();
const tenant = await createTenant(sql, 'Bench agent turn');
h.registerTenant(tenant);

/** A new customer's message, and the signed delivery of the turn it scheduled. */
async function dueTurn() {
  const before = new Set(h.qstash?.messages().map((m) => m.id));
  await customerWrites(h, tenant, customerPhone(), 'hola, ¿abrís mañana?');
  const job = h.qstash
    ?.messages()
    .find((m) => !before.has(m.id) && m.url.endsWith('/jobs/agent-turn'));
  if (!job) throw new Error('no agent turn was scheduled');
  return { body: job.body, signature: await qstashSignature(job.body, 'agent-turn') };
}

let samples: number[] = [];
let roundTrips: number[] = [];
let next = await dueTurn();

describe('agent turn overhead (mock model)', () => {
  bench(
    'decide → think (mock) → store → publish the send',
    async () => {
      const turn = next;
      counter.reset();
      const started = performance.now();
      const res = await h.request(`${TEST_PUBLIC_BASE_URL}/jobs/agent-turn`, {
        method: 'POST',
        body: turn.body,
        headers: { 'upstash-signature': turn.signature },
      });
      samples.push(performance.now() - started);
      roundTrips.push(counter.counts().roundTrips);
      const answer = (await res.json()) as { detail?: string };
      if (answer.detail !== 'replied')
        throw new Error(`the turn answered ${JSON.stringify(answer)}`);
      next = await dueTurn();
    },
    {
      time: 3_000,
      iterations: 40,
      teardown: async (_task, mode) => {
        if (mode === 'warmup') {
          samples = [];
          roundTrips = [];
          return;
        }
        const sorted = [...samples].sort((a, b) => a - b);
        const at = (p: number) =>
          sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]?.toFixed(1);
        console.info(
          `[bench] agent turn on the ${inject('databaseKind') === 'embedded' ? 'embedded database' : 'Postgres server'} ` +
            `(mock model): n=${sorted.length} p50 ${at(50)} ms p95 ${at(95)} ms; ` +
            `round trips per turn ${Math.min(...roundTrips)}–${Math.max(...roundTrips)} (target p95 ≤ 25 ms, ≤ 6 round trips)`,
        );
        await h.close();
        await counter.close();
        await pooler.close();
        await sql.end();
      },
    },
  );
});
