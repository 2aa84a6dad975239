/**
 * EXPLAIN (ANALYZE, BUFFERS) of the inbox's hot queries at scale, exactly as the app sends them:
 * the real db/ functions run through a drizzle instance that records each statement and its
 * parameters, and each recorded statement is explained inside the same handle the app uses —
 * the operator handle (`asOperator`: role `authenticated`, JWT claims bound, RLS in the plan) for
 * the inbox reads, the tenant handle (`asTenant`: `switchboard_worker`) for the ingest writes.
 * Every explained statement runs in a transaction that is rolled back.
 *
 *   npx tsx bench/explain-inbox.ts [server url]   (default postgres://postgres@127.0.0.1:5432/postgres)
 *
 * Creates a database `perf_explain_<time>` on that server, migrates and seeds it (bench/seed-inbox.ts,
 * full scale unless SEED_CONVERSATIONS is set), prints the plans as Markdown and drops it.
 */
import { type SQL, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { listChatSummaries, listConversationMessages } from '../db/chats';
import { asOperator, asTenant, type Database, type Tx } from '../db/client';
import { ingestAccountItems } from '../db/inbound';
import { migrateDatabase } from '../db/migrate';
import { FULL_SCALE, type SeededInbox, seedInbox } from './seed-inbox';

type Recorded = { query: string; params: unknown[] };

/** Thrown to roll a transaction back once its work has been observed. */
class Rollback extends Error {}

const serverUrl = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const RUNS = 3;

/** A recorded statement as drizzle SQL again: the same text, the same values as parameters. */
function replay({ query, params }: Recorded): SQL {
  const parts = query.split(/\$(\d+)/);
  return sql.join(
    parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${params[Number(part) - 1]}`)),
    sql.raw(''),
  );
}

async function main() {
  const name = `perf_explain_${Date.now().toString(36)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // Recorded by postgres.js, not drizzle's logger: the app's transactions run drizzle sessions of
  // their own on a reserved connection (db/client.ts boundTransaction), which have no logger.
  const recorded: Recorded[] = [];
  const client = postgres(url.toString(), {
    max: 2,
    fetch_types: false,
    onnotice: () => {},
    debug: (_connection, query, params) => recorded.push({ query, params: params as unknown[] }),
  });
  const seedSql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  try {
    await migrateDatabase(url.toString());
    const scale = process.env.SEED_CONVERSATIONS
      ? { ...FULL_SCALE, conversations: Number(process.env.SEED_CONVERSATIONS) }
      : FULL_SCALE;
    const started = performance.now();
    const seeded = await seedInbox(seedSql, scale);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`# Inbox plans (${new Date().toISOString()})\n`);
    console.log(
      `Seeded in ${seconds} s: ${seeded.counts.conversations} conversations, ` +
        `${seeded.counts.messages} messages, ${seeded.counts.contacts} contacts; PostgreSQL ` +
        `${(await seedSql`show server_version`)[0]?.server_version}.\n`,
    );
    const db: Database = drizzle({ client });
    await explainAll(db, recorded, seeded, seedSql);
  } finally {
    await client.end();
    await seedSql.end();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function explainAll(
  db: Database,
  recorded: Recorded[],
  seeded: SeededInbox,
  seedSql: postgres.Sql,
) {
  const { tenant, thread } = seeded;
  const claims = {
    sub: tenant.agent.id,
    role: 'authenticated' as const,
    email: tenant.agent.email,
  };
  const operator = <T>(fn: (tx: Tx) => Promise<T>) => asOperator(db, claims, fn);
  const worker = <T>(fn: (tx: Tx) => Promise<T>) =>
    asTenant(db, tenant.tenantId, ({ tx }) => fn(tx));
  const ctx = (tx: Tx) => ({ tx, tenantId: tenant.tenantId });

  /** Runs `work`, then explains the recorded statement `pick` chooses, in the same kind of handle. */
  async function show(
    title: string,
    handle: typeof operator,
    work: (tx: Tx) => Promise<unknown>,
    pick: (r: Recorded) => boolean,
  ) {
    recorded.length = 0;
    await handle(async (tx) => {
      await work(tx);
      throw new Rollback();
    }).catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
    const statement = recorded.find(pick);
    if (!statement) throw new Error(`${title}: no statement recorded`);
    const times: string[] = [];
    let plan = '';
    for (let run = 0; run < RUNS; run++) {
      await handle(async (tx) => {
        const rows = await tx.execute<{ 'QUERY PLAN': string }>(
          sql`explain (analyze, buffers) ${replay(statement)}`,
        );
        plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        throw new Rollback();
      }).catch((err) => {
        if (!(err instanceof Rollback)) throw err;
      });
      times.push(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? '?');
    }
    console.log(`## ${title}\n\nExecution time of ${RUNS} runs: ${times.join(', ')} ms\n`);
    console.log(`\`\`\`sql\n${statement.query}\n\`\`\`\n\n\`\`\`\n${plan}\n\`\`\`\n`);
  }

  const fromConversations = (r: Recorded) => /from "conversations"/.test(r.query);
  const fromMessages = (r: Recorded) => /from "messages"/.test(r.query);

  for (const [label, options] of [
    ['all', { humanFilter: 'all' }],
    ['human_only', { humanFilter: 'human_only' }],
    ['bot_only', { humanFilter: 'bot_only' }],
    ['channel=instagram', { humanFilter: 'all', channel: 'instagram' }],
    ['human_only, channel=instagram', { humanFilter: 'human_only', channel: 'instagram' }],
  ] as const) {
    await show(
      `Chat summary, first page (${label})`,
      operator,
      (tx) => listChatSummaries(ctx(tx), { ...options, limit: 31 }),
      fromConversations,
    );
  }
  // Search (`q`): a common term, a rare one, a phone number, and one that matches nothing.
  for (const [label, search] of [
    ['common: "customer 1"', 'customer 1'],
    ['rare: "customer 49999"', 'customer 49999'],
    ['phone: "+34 600 012 345"', '+34 600 012 345'],
    ['no match: "zzz"', 'zzz'],
  ] as const) {
    await show(
      `Chat summary, search ${label}`,
      operator,
      (tx) => listChatSummaries(ctx(tx), { humanFilter: 'all', limit: 31, search }),
      fromConversations,
    );
  }
  // Filters (`label`, `assignee`): 10 % of the conversations labelled "vip" and assigned to the
  // operator, one labelled "rare"; the rest unassigned.
  await seedSql`update conversations set labels = '["vip"]', assigned_user_id = ${tenant.agent.id}
    where tenant_id = ${tenant.tenantId} and hashtext(id::text) % 10 = 0`;
  await seedSql`update conversations set labels = '["rare"]' where id = (select id
    from conversations where tenant_id = ${tenant.tenantId} order by last_message_at limit 1)`;
  await seedSql`vacuum analyze conversations`;
  for (const [label, options] of [
    ['label=vip (10 %)', { label: 'vip' }],
    ['label=rare (the oldest conversation)', { label: 'rare' }],
    ['assignee=me (10 %)', { assignee: tenant.agent.id }],
    ['assignee=none (90 %)', { assignee: null }],
    ['label=vip, assignee=none (nothing)', { label: 'vip', assignee: null }],
  ] as const) {
    await show(
      `Chat summary, ${label}`,
      operator,
      (tx) => listChatSummaries(ctx(tx), { humanFilter: 'all', limit: 31, ...options }),
      fromConversations,
    );
  }
  // Cursors as the route hands them out: the position of the last row of the previous page.
  const cursorAt = async (offset: number, nulls: boolean) => {
    const [row] = await seedSql<{ p: string | null; id: string }[]>`
      select last_message_at::text as p, id from conversations
      where tenant_id = ${tenant.tenantId} and (last_message_at is null) = ${nulls}
      order by last_message_at desc nulls last, id desc offset ${offset} limit 1`;
    if (!row) throw new Error('no conversation at that offset');
    return { position: row.p, id: row.id };
  };
  const deep = await cursorAt(50_000, false);
  await show(
    'Chat summary, deep cursor page (after 50,000 conversations)',
    operator,
    (tx) => listChatSummaries(ctx(tx), { humanFilter: 'all', limit: 31, after: deep }),
    fromConversations,
  );
  const tail = await cursorAt(500, true);
  await show(
    'Chat summary, a page in the tail of conversations without messages',
    operator,
    (tx) => listChatSummaries(ctx(tx), { humanFilter: 'all', limit: 31, after: tail }),
    fromConversations,
  );
  await show(
    `Thread of ${thread.conversationId.slice(0, 8)}… (20k messages), first page of 50`,
    operator,
    (tx) => listConversationMessages(ctx(tx), thread.conversationId, { limit: 50 }),
    fromMessages,
  );
  const horizon = { changedAt: seeded.changedBefore.toISOString(), id: null };
  await show(
    'Idle delta poll of the 20k thread (`after` = a horizon cursor)',
    operator,
    (tx) => listConversationMessages(ctx(tx), thread.conversationId, { limit: 50, after: horizon }),
    fromMessages,
  );
  const [newest] = await seedSql<{ changedAt: string; id: string }[]>`
    select updated_at::text as "changedAt", id from messages
    where conversation_id = ${thread.conversationId} order by updated_at desc, id desc limit 1`;
  if (!newest) throw new Error('the thread has no messages');
  await show(
    'Idle delta poll of the 20k thread (`after` = the last change handed out, has_more pages)',
    operator,
    (tx) => listConversationMessages(ctx(tx), thread.conversationId, { limit: 50, after: newest }),
    fromMessages,
  );
  // A WhatsApp customer first seen by phone (wa_id) now writes with a BSUID.
  const phone = String(34600000000 + 1);
  const ingest = (tx: Tx) =>
    ingestAccountItems(
      ctx(tx),
      { id: tenant.accounts.whatsapp.id, channel: 'whatsapp' },
      [
        {
          kind: 'message',
          providerMessageId: `explain.${Date.now()}`,
          timestamp: new Date(),
          contact: { externalUserId: 'US.explain', bsuid: 'US.explain', phone, name: 'Customer 1' },
          from: 'customer',
          type: 'text',
          content: 'hola',
          attachments: [],
          payload: {},
          wantsReply: false,
        },
      ],
      { now: new Date() },
    );
  await show('Ingest: contact lookup (BSUID, phone or key)', worker, ingest, (r) =>
    /^select .* from "contacts"/.test(r.query),
  );
  await show('Ingest: conversation upsert', worker, ingest, (r) =>
    /^insert into "conversations"/.test(r.query),
  );
}

await main();
