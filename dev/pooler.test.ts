import { sql as dsql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { asIntake, asTenant, connect } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { createTenant } from '../test/fixtures';
import { type RoundTripCounter, startRoundTripCounter } from '../test/round-trips';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { type Pooler, startPooler } from './pooler';

/**
 * The pooler between postgres.js clients configured exactly as the Worker's (db/client.ts
 * `connect`) and the run's database, with a connection-counting proxy behind it: what reaches the
 * server is what the counter sees.
 */
/**
 * The database behind the pooler. On the embedded database the pooler gets a PGlite of its own:
 * PGlite has one backend for all its connections, so the pooler's `DISCARD ALL` would drop the
 * prepared statements of every other test file running against the run's database meanwhile.
 */
let databaseUrl = inject('databaseUrl');
let privateDatabase: EmbeddedPostgres | undefined;
beforeAll(async () => {
  if (inject('databaseKind') !== 'embedded') return;
  privateDatabase = await startEmbeddedPostgres({ port: 0 });
  await migrateDatabase(privateDatabase.url);
  databaseUrl = privateDatabase.url;
});
afterAll(() => privateDatabase?.close());
const adminSql = () => postgres(databaseUrl, { max: 2, onnotice: () => {} });

let server: RoundTripCounter;
let pooler: Pooler;
const open: Array<{ close: () => Promise<void> }> = [];

async function startStack(maxServerConnections: number, queueTimeoutMs?: number) {
  server = await startRoundTripCounter(databaseUrl);
  pooler = await startPooler({
    targetUrl: server.url,
    maxServerConnections,
    ...(queueTimeoutMs !== undefined ? { queueTimeoutMs } : {}),
  });
}

/** A postgres.js client as a Worker request makes one (db/client.ts), plus its raw handle. */
function client(url = pooler.url) {
  const handle = connect(url);
  open.push(handle);
  return { ...handle, sql: handle.db.$client };
}

const serverUser = () => new URL(databaseUrl).username;

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await pooler?.close();
  await server?.close();
});

describe('the local pooler', () => {
  it('serves 50 short clients in a row from its few server connections', async () => {
    await startStack(10);
    for (let i = 0; i < 50; i++) {
      const c = connect(pooler.url);
      const [row] = await c.db.$client`select ${i}::int + 1 as n`;
      expect(row?.n).toBe(i + 1);
      await c.close();
    }
    // Without the pooler: 50.
    expect(server.counts().connections).toBeLessThanOrEqual(pooler.maxServerConnections);
  });

  it('queues 100 concurrent clients on 4 server connections, refusing none', async () => {
    await startStack(4);
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const { sql, close } = client();
        const rows = await sql.begin(async (tx) => {
          await tx`select set_config('app.pooler_probe', ${String(i)}, true)`;
          return tx`select current_setting('app.pooler_probe') as v, ${i}::int as i`;
        });
        await close();
        return rows[0];
      }),
    );
    expect(results.map((r) => Number(r?.v))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(results.every((r) => String(r?.i) === r?.v)).toBe(true);
    // Server connections are never closed in normal operation, so the total opened is the peak.
    expect(server.counts().connections).toBeLessThanOrEqual(4);
  });

  it('answers a client that waited too long with a Postgres error, then serves the next', async () => {
    await startStack(1, 200);
    const holder = client();
    await holder.sql`select 1`;
    const reserved = await holder.sql.reserve();
    await reserved`begin`; // holds the only server connection
    await expect(client().sql`select 1`).rejects.toMatchObject({ code: '53300' });
    await reserved`commit`;
    reserved.release();
    expect((await client().sql`select 2 as n`)[0]?.n).toBe(2);
  });

  it('answers with a Postgres error, not a hang, when the database cannot be reached', async () => {
    await startStack(2);
    const { sql } = client();
    expect((await sql`select 1 as n`)[0]?.n).toBe(1);
    await server.close(); // drops the server connections and refuses new ones
    await expect(sql`select 2 as n`).rejects.toMatchObject({ code: '08006' });
  });

  it("keeps clients' prepared statements apart on a shared server connection", async () => {
    await startStack(1);
    // postgres.js names statements with a random prefix per connection: make two clients pick the
    // same prefix, so their first statements share a name as they would with a counter-only scheme.
    vi.spyOn(Math, 'random').mockReturnValue(0.42);
    const a = client();
    const b = client();
    try {
      const plus = (sql: typeof a.sql, n: number) => sql`select ${n}::int + 1 as v`;
      const shout = (sql: typeof a.sql, s: string) => sql`select upper(${s}::text) as v`;
      // Interleaved: each client's statement is prepared once, then only bound, each time on a
      // server connection another client used (and reset) in between.
      expect((await plus(a.sql, 1))[0]?.v).toBe(2);
      expect((await shout(b.sql, 'b'))[0]?.v).toBe('B');
      expect((await plus(a.sql, 10))[0]?.v).toBe(11);
      expect((await plus(b.sql, 20))[0]?.v).toBe(21);
      expect((await shout(a.sql, 'a'))[0]?.v).toBe('A');
      expect((await shout(b.sql, 'bb'))[0]?.v).toBe('BB');
      // Inside a transaction too, where postgres.js cannot recover from a missing statement by
      // preparing it again (the failed Bind has already aborted the transaction).
      // Same text and parameter types as `plus`, so postgres.js binds its cached statement.
      expect(await a.sql.begin(async (tx) => (await tx`select ${5}::int + 1 as v`)[0]?.v)).toBe(6);
      // Concurrent, through one server connection.
      const both = await Promise.all([
        plus(a.sql, 100),
        shout(b.sql, 'x'),
        shout(a.sql, 'y'),
        plus(b.sql, 200),
      ]);
      expect(both.map((rows) => rows[0]?.v)).toEqual([101, 'X', 'Y', 201]);
    } finally {
      vi.restoreAllMocks();
    }
    expect(server.counts().connections).toBe(1);
  });

  describe('a client that dies inside a transaction', () => {
    // Its own schema: the run's database is shared, and db/rls.test.ts wants RLS on every table
    // in public and private.
    const table = `pooler_${crypto.randomUUID().slice(0, 8)}.probe`;
    beforeAll(async () => {
      const admin = adminSql();
      const schema = table.split('.')[0];
      await admin.unsafe(`create schema ${schema}; create table ${table} (note text);
        grant usage on schema ${schema} to switchboard_worker;
        grant select, insert on ${table} to switchboard_worker`);
      await admin.end();
    });
    afterAll(async () => {
      const admin = adminSql();
      await admin.unsafe(`drop schema ${table.split('.')[0]} cascade`);
      await admin.end();
    });

    /**
     * Sets session state that outlives transactions (a setting and a role), then opens a
     * transaction that inserts and leaves it open.
     */
    async function dirtyTransaction(url: string, note: string) {
      const { sql } = client(url);
      // postgres.js 3.4's reserve() only resolves with an already open connection (with
      // fetch_types off, a fresh one never hands itself over), so open one first.
      await sql`select 1`;
      const reserved = await sql.reserve();
      await reserved`select set_config('app.pooler_leak', 'leaked', false)`;
      await reserved`set role switchboard_worker`;
      await reserved`begin`;
      await reserved.unsafe(`insert into ${table} (note) values ($1)`, [note]);
      return { sql, reserved };
    }

    async function nextClientSees(note: string) {
      const { sql } = client();
      const [row] = await sql.unsafe(
        `select (select count(*)::int from ${table} where note = $1) as rows,
          current_setting('app.pooler_leak', true) as leak, current_user as role`,
        [note],
      );
      return row;
    }

    it('by Terminate: its insert and session state are gone for the next client', async () => {
      await startStack(1);
      const note = crypto.randomUUID();
      const { sql } = await dirtyTransaction(pooler.url, note);
      await sql.end({ timeout: 0 }); // sends Terminate ('X') with the transaction open
      expect(await nextClientSees(note)).toMatchObject({ rows: 0, role: serverUser() });
      expect((await nextClientSees(note))?.leak ?? '').toBe('');
    });

    it('by a dropped socket, also with a statement in flight', async () => {
      await startStack(1);
      for (const inFlight of [false, true]) {
        const note = crypto.randomUUID();
        const link = await startRoundTripCounter(pooler.url); // cut below to drop the socket
        const { sql, reserved } = await dirtyTransaction(link.url, note);
        if (inFlight) {
          reserved`select pg_sleep(0.3)`.catch(() => {});
          await new Promise((r) => setTimeout(r, 50));
        }
        await link.close();
        await sql.end({ timeout: 0 });
        expect(await nextClientSees(note)).toMatchObject({ rows: 0, role: serverUser() });
        expect((await nextClientSees(note))?.leak ?? '').toBe('');
      }
    });
  });

  it("runs the app's tenant and intake handles (set_config …, true; set local role)", async () => {
    await startStack(1);
    const admin = adminSql();
    const a = await createTenant(admin, 'Pooler A');
    await createTenant(admin, 'Pooler B'); // a second tenant the handle must not see
    await admin.end();
    const { db } = client();
    const seen = await asTenant(db, a.tenantId, async (ctx) => [
      ...(await ctx.tx.execute<{ tenant_id: string; role: string }>(
        dsql`select distinct tenant_id, current_user as role from channel_accounts`,
      )),
    ]);
    expect(seen).toEqual([{ tenant_id: a.tenantId, role: 'switchboard_worker' }]);
    const intake = await asIntake(db, async (ctx) => [
      ...(await ctx.tx.execute<{ role: string }>(dsql`select current_user as role`)),
    ]);
    expect(intake).toEqual([{ role: 'switchboard_worker' }]);
    // Local settings ended with their transactions.
    const [after] = await db.$client`
      select current_user as role, current_setting('app.tenant_id', true) as tenant`;
    expect(after?.role).toBe(serverUser());
    expect(after?.tenant ?? '').toBe('');
  });
});
