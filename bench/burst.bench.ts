import { bench, describe, inject } from 'vitest';
import { adminSql, createTenant } from '../test/fixtures';
import { POOL_SIZE } from './serve-node';
import { loadWebhooks, signedWebhooks, startBenchStack } from './stack';

/**
 * A burst with the bot on (issue 9): 2,000 one-message webhooks from 500 customers within 10 s,
 * into the app on Node with the shared pool, QStash and the Graph API stand-ins delivering for
 * real (agent turns after the tenant's debounce, then sends). Then it waits until nothing is left
 * to deliver and checks what users would: every message stored, one agent turn per conversation,
 * no refused connection, no webhook answered 5xx. Printed, not asserted: it is a benchmark.
 *
 * `npx vitest bench --run --project integration bench/burst.bench.ts` (add DATABASE_URL=… for the
 * Postgres server).
 */
const messages = 2_000;
const customers = 500;
const seconds = 10;
const databaseUrl = inject('databaseUrl');
const sql = adminSql();
const tenant = await createTenant(sql, 'Bench burst');
const stack = await startBenchStack(databaseUrl, tenant);

const started = performance.now();
const load = await loadWebhooks(stack.app.url, signedWebhooks(tenant, customers), {
  connections: 32,
  amount: messages,
  overallRate: messages / seconds,
});
const sentIn = (performance.now() - started) / 1000;
await stack.app.drain();

/** Waits until QStash has nothing pending, failed-and-retrying or in flight (bounded). */
async function quiet(limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const busy = stack.qstash
      .messages()
      .some((m) => m.inFlight || m.state === 'pending' || m.state === 'failed');
    if (!busy) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
const settled = await quiet(180_000);
await stack.app.drain();

const [stored] = await sql<{ messages: number; conversations: number }[]>`
  select count(*)::int as messages, count(distinct conversation_id)::int as conversations
  from messages where tenant_id = ${tenant.tenantId} and direction = 'inbound'`;
const turns = await sql<{ runs: number; conversations: number }[]>`
  select runs, count(*)::int as conversations from (
    select c.id, count(r.id)::int as runs from conversations c
    left join agent_runs r on r.conversation_id = c.id
    where c.tenant_id = ${tenant.tenantId} group by c.id) per
  group by runs order by runs`;
const outcomes = await sql<{ outcome: string; n: number }[]>`
  select outcome::text, count(*)::int as n from agent_runs where tenant_id = ${tenant.tenantId}
  group by outcome order by outcome`;
const dlq = stack.qstash.dlq().length;

console.info(
  [
    `[bench] burst on the ${inject('databaseKind') === 'embedded' ? 'embedded database' : 'Postgres server'}, pool of ${POOL_SIZE}: ` +
      `${messages} webhooks from ${customers} customers sent in ${sentIn.toFixed(1)} s ` +
      `(${load.requestsPerSecond.toFixed(0)} req/s, p99 ${load.p99} ms)`,
    `  webhooks: ${load.total} answered, ${load.non2xx} non-2xx, ${load.errors} connection errors, ${load.timeouts} timeouts`,
    `  stored: ${stored?.messages} of ${messages} messages in ${stored?.conversations} of ${customers} conversations`,
    `  agent runs per conversation: ${turns.map((t) => `${t.runs} run(s) × ${t.conversations}`).join(', ')}`,
    `  run outcomes: ${outcomes.map((o) => `${o.outcome} ${o.n}`).join(', ')}; QStash dead letters: ${dlq}; quiet: ${settled}`,
  ].join('\n'),
);
await stack.close();
await sql.end();

describe('burst', () => {
  // Vitest needs a task; the burst itself ran once above, where its figures are printed.
  bench('(figures above)', () => {}, { iterations: 1, time: 0 });
});
