import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { sql as drizzleSql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  canListen,
  choosePort,
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from './embedded-postgres';

// Generous: PGlite boots a WASM Postgres, and a hung queue should fail the test, not the run.
const TIMEOUT = 60_000;

let pg: EmbeddedPostgres;
const clients: postgres.Sql[] = [];

function client(options: postgres.Options<Record<string, postgres.PostgresType>> = {}) {
  const sql = postgres(pg.url, { max: 2, onnotice: () => {}, ...options });
  clients.push(sql);
  return sql;
}

beforeAll(async () => {
  pg = await startEmbeddedPostgres({ port: 0 });
}, TIMEOUT);

// Each test opens dozens of connections; leaving them open would hit maxConnections.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((sql) => sql.end({ timeout: 0 })));
}, TIMEOUT);

afterAll(async () => {
  await pg?.close();
}, TIMEOUT);

/** Speaks just enough of the wire protocol to leave a batch half-sent, which postgres.js never does. */
class RawConnection {
  readonly #socket: Socket;
  #received = Buffer.alloc(0);
  #onData: (() => void) | null = null;

  constructor(port: number) {
    this.#socket = connect(port, '127.0.0.1');
    this.#socket.on('data', (chunk) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#onData?.();
    });
  }

  send(...messages: Buffer[]): void {
    this.#socket.write(Buffer.concat(messages));
  }

  /** Resolves once a backend message of this type has arrived (consuming everything up to it). */
  waitFor(type: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        let offset = 0;
        while (offset + 5 <= this.#received.length) {
          const length = this.#received.readInt32BE(offset + 1);
          if (offset + 1 + length > this.#received.length) break;
          const found = String.fromCharCode(this.#received[offset] ?? 0) === type;
          offset += 1 + length;
          if (found) {
            this.#received = this.#received.subarray(offset);
            this.#onData = null;
            resolve();
            return;
          }
        }
      };
      this.#onData = check;
      check();
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  static startup(): Buffer {
    const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
    const message = Buffer.alloc(8 + params.length);
    message.writeInt32BE(message.length, 0);
    message.writeInt32BE(196608, 4);
    params.copy(message, 8);
    return message;
  }

  static typed(type: string, body: Buffer): Buffer {
    const header = Buffer.alloc(5);
    header.write(type, 0, 'ascii');
    header.writeInt32BE(4 + body.length, 1);
    return Buffer.concat([header, body]);
  }

  /** Parse (unnamed, no parameter types) + Bind (unnamed portal, no parameters) + Execute. */
  static parseBindExecute(query: string): Buffer {
    return Buffer.concat([
      RawConnection.typed('P', Buffer.from(`\0${query}\0\0\0`, 'binary')),
      RawConnection.typed('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])),
      RawConnection.typed('E', Buffer.from([0, 0, 0, 0, 0])),
    ]);
  }
}

describe('startEmbeddedPostgres', () => {
  it('returns a password-bearing URL for the chosen port', () => {
    expect(pg.port).toBeGreaterThan(0);
    expect(pg.url).toBe(`postgres://postgres:postgres@127.0.0.1:${pg.port}/postgres`);
  });

  it(
    'keeps transaction-local settings apart across many concurrent connections',
    async () => {
      const sqls = Array.from({ length: 12 }, () => client({ max: 2 }));
      const runs = sqls.flatMap((sql, clientIndex) =>
        [0, 1, 2].map(async (run) => {
          const mine = `client-${clientIndex}-run-${run}`;
          return sql.begin(async (tx) => {
            await tx`select set_config('app.x', ${mine}, true)`;
            await setTimeout(20);
            const [row] = await tx`select current_setting('app.x', true) as x, ${run}::int as run`;
            return { mine, seen: row?.x, run: row?.run };
          });
        }),
      );
      const results = await Promise.all(runs);
      expect(results).toHaveLength(36);
      for (const { mine, seen, run } of results) {
        expect(seen).toBe(mine);
        expect(mine.endsWith(`run-${run}`)).toBe(true);
      }
    },
    TIMEOUT,
  );

  it(
    'keeps direct db.transaction() calls isolated from socket clients',
    async () => {
      const sql = client({ max: 4 });
      let directSettingApplied: () => void = () => {};
      const applied = new Promise<void>((resolve) => {
        directSettingApplied = resolve;
      });
      const directRun = pg.db.transaction(async (tx) => {
        await tx.query(`select set_config('app.x', 'direct', true)`);
        directSettingApplied();
        await setTimeout(20);
        const { rows } = await tx.query<{ x: string }>(
          `select current_setting('app.x', true) as x`,
        );
        return rows[0]?.x;
      });
      await applied;
      // Issued while the direct transaction is open: they must wait for it, not run inside it.
      const socketReads = [0, 1, 2, 3].map(
        async (i) => (await sql`select current_setting('app.x', true) as x, ${i}::int as i`)[0]?.x,
      );
      expect(await directRun).toBe('direct');
      for (const seen of await Promise.all(socketReads)) expect(seen).not.toBe('direct');
    },
    TIMEOUT,
  );

  it(
    'lets exactly one of 20 concurrent conflicting inserts win',
    async () => {
      const setup = client();
      await setup`create table claims (key text primary key, claimed_by int not null)`;
      const contenders = Array.from({ length: 20 }, () => client({ max: 1 }));
      const inserted = await Promise.all(
        contenders.map(
          async (sql, i) =>
            (await sql`insert into claims values (${'the-key'}, ${i}) on conflict do nothing`)
              .count,
        ),
      );
      expect(inserted.reduce((sum, count) => sum + count, 0)).toBe(1);
      const [row] = await setup`select count(*)::int as n from claims`;
      expect(row?.n).toBe(1);
    },
    TIMEOUT,
  );

  it(
    'rolls back only the transaction whose statement failed',
    async () => {
      const setup = client();
      await setup`create table ledger (who text not null)`;
      const failing = client({ max: 1 }).begin(async (tx) => {
        await tx`insert into ledger values (${'failing'})`;
        await setTimeout(20);
        await tx`select 1 / ${0}::int`;
      });
      const healthy = Array.from({ length: 5 }, (_, i) =>
        client({ max: 1 }).begin(async (tx) => {
          await tx`insert into ledger values (${`healthy-${i}`})`;
          await setTimeout(20);
          await tx`insert into ledger values (${`healthy-${i}-again`})`;
        }),
      );
      await expect(failing).rejects.toThrow(/division by zero/);
      await Promise.all(healthy);
      const rows = await setup`select who from ledger order by who`;
      expect(rows.map((row) => row.who)).toEqual(
        [0, 1, 2, 3, 4].flatMap((i) => [`healthy-${i}`, `healthy-${i}-again`]).sort(),
      );
    },
    TIMEOUT,
  );

  it(
    'rolls back a client that disconnects mid-transaction and lets the others continue',
    async () => {
      const setup = client();
      await setup`create table abandoned (who text not null)`;
      const quitter = postgres(pg.url, { max: 1, onnotice: () => {} });
      let insideTransaction: () => void = () => {};
      const reachedInsert = new Promise<void>((resolve) => {
        insideTransaction = resolve;
      });
      const abandoned = quitter.begin(async (tx) => {
        await tx`insert into abandoned values (${'quitter'})`;
        insideTransaction();
        await new Promise(() => {}); // idle in transaction until the connection is destroyed
      });
      abandoned.catch(() => {});
      await reachedInsert;
      // Queued behind the open transaction; it must run after, not inside, the quitter's transaction.
      const other = client({ max: 1 })`insert into abandoned values (${'other'}) returning who`;
      await quitter.end({ timeout: 0 });
      await expect(abandoned).rejects.toThrow();
      expect((await other).map((row) => row.who)).toEqual(['other']);
      const rows = await setup`select who from abandoned`;
      expect(rows.map((row) => row.who)).toEqual(['other']);
    },
    TIMEOUT,
  );

  it(
    'does not commit a half-sent batch of a client that vanished before Sync',
    async () => {
      const setup = client({ max: 1 });
      await setup`create table half_sent (who text not null)`;
      const raw = new RawConnection(pg.port);
      raw.send(RawConnection.startup());
      await raw.waitFor('Z');
      raw.send(RawConnection.parseBindExecute(`insert into half_sent values ('raw')`));
      await raw.waitFor('C');
      const waiting = setup`insert into half_sent values (${'after'})`;
      raw.destroy();
      await waiting;
      const rows = await setup`select who from half_sent`;
      expect(rows.map((row) => row.who)).toEqual(['after']);
    },
    TIMEOUT,
  );

  it(
    'recovers from a client that vanished while the backend skipped messages until Sync',
    async () => {
      const raw = new RawConnection(pg.port);
      raw.send(RawConnection.startup());
      await raw.waitFor('Z');
      raw.send(RawConnection.parseBindExecute('select 1 / 0'));
      await raw.waitFor('E');
      const sql = client({ max: 1 });
      const waiting = sql`select ${41}::int + 1 as answer`;
      raw.destroy();
      expect((await waiting)[0]?.answer).toBe(42);
    },
    TIMEOUT,
  );

  it(
    'answers pipelined queries on one connection in order',
    async () => {
      const single = client({ max: 1 });
      const neighbour = client({ max: 1 });
      const [mine, theirs] = await Promise.all([
        Promise.all(Array.from({ length: 25 }, (_, i) => single`select ${i}::int as i`)),
        Promise.all(Array.from({ length: 25 }, (_, i) => neighbour`select ${i + 100}::int as i`)),
      ]);
      expect(mine.map((rows) => rows[0]?.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(theirs.map((rows) => rows[0]?.i)).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 100),
      );
    },
    TIMEOUT,
  );

  it(
    'supports roles, set local role and row-level security through the socket',
    async () => {
      const admin = client({ max: 1 });
      await admin.unsafe(`
        create role tenant_reader nologin;
        grant tenant_reader to postgres;
        create table notes (tenant text not null, body text not null);
        insert into notes values ('a', 'a1'), ('a', 'a2'), ('b', 'b1');
        alter table notes enable row level security;
        create policy tenant_isolation on notes
          using (tenant = current_setting('app.tenant', true));
        grant select on notes to tenant_reader;
      `);
      const readAs = (tenant: string) =>
        client({ max: 1 }).begin(async (tx) => {
          await tx`select set_config('app.tenant', ${tenant}, true)`;
          await tx`set local role tenant_reader`;
          await setTimeout(20);
          const [who] = await tx`select current_user as name`;
          const rows = await tx`select body from notes order by body`;
          return { user: who?.name, bodies: rows.map((row) => row.body) };
        });
      const [a, b, none] = await Promise.all([readAs('a'), readAs('b'), readAs('')]);
      expect(a).toEqual({ user: 'tenant_reader', bodies: ['a1', 'a2'] });
      expect(b).toEqual({ user: 'tenant_reader', bodies: ['b1'] });
      expect(none).toEqual({ user: 'tenant_reader', bodies: [] });
      const [after] = await admin`select current_user as name, count(*)::int as n from notes`;
      expect(after).toEqual({ name: 'postgres', n: 3 });
    },
    TIMEOUT,
  );

  it(
    'runs drizzle transactions over postgres.js',
    async () => {
      const sql = client({ max: 2 });
      await sql`create table widgets (id integer primary key, name text not null)`;
      const widgets = pgTable('widgets', {
        id: integer('id').primaryKey(),
        name: text('name').notNull(),
      });
      const db = drizzle({ client: sql });
      await db.transaction(async (tx) => {
        await tx.insert(widgets).values({ id: 1, name: 'sprocket' });
        await tx.execute(drizzleSql`update widgets set name = ${'cog'} where id = ${1}`);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(widgets).values({ id: 2, name: 'doomed' });
          tx.rollback();
        }),
      ).rejects.toThrow();
      expect(await db.select().from(widgets)).toEqual([{ id: 1, name: 'cog' }]);
    },
    TIMEOUT,
  );
});

describe('startEmbeddedPostgres with a dataDir', () => {
  it(
    'keeps data across restarts',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'embedded-postgres-'));
      const dataDir = join(dir, 'nested', 'pgdata');
      try {
        const first = await startEmbeddedPostgres({ dataDir });
        const writer = postgres(first.url, { max: 1, onnotice: () => {} });
        await writer`create table kept (value text not null)`;
        await writer`insert into kept values (${'survives'})`;
        await writer.end();
        await first.close();

        const second = await startEmbeddedPostgres({ dataDir });
        const reader = postgres(second.url, { max: 1, onnotice: () => {} });
        try {
          const rows = await reader`select value from kept`;
          expect(rows.map((row) => row.value)).toEqual(['survives']);
        } finally {
          await reader.end();
          await second.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );
});

/**
 * Makes a port busy the way that breaks `npm start`: one of the machine's outgoing connections
 * took it as its (ephemeral) local port, while nothing listens on it. The port is the one the
 * kernel picked, as for any outgoing connection: asking for a local port would bind it with
 * SO_REUSEADDR, which a listener may share.
 */
async function holdPortWithOutgoingConnection() {
  const peers: Socket[] = [];
  const target = createServer((socket) => peers.push(socket));
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  const outgoing = connect({ host: '127.0.0.1', port: (target.address() as AddressInfo).port });
  await once(outgoing, 'connect');
  const port = outgoing.localPort;
  if (port === undefined) throw new Error('the outgoing connection has no local port');
  return {
    port,
    async release() {
      outgoing.destroy();
      for (const peer of peers) peer.destroy();
      await new Promise((r) => target.close(r));
    },
  };
}

describe('choosePort', () => {
  it('keeps the preferred port when it frees up during the short retries', async () => {
    const asked: number[] = [];
    const choice = await choosePort(54322, {
      retryDelayMs: 0,
      isFree: async (port) => {
        asked.push(port);
        return asked.length > 2;
      },
    });
    expect(choice).toEqual({ port: 54322 });
    expect(asked).toEqual([54322, 54322, 54322]);
  });

  it('takes the next free port above a busy one, and says which one was busy', async () => {
    const busy = new Set([54322, 54323]);
    const asked: number[] = [];
    const choice = await choosePort(54322, {
      retries: 2,
      retryDelayMs: 0,
      isFree: async (port) => {
        asked.push(port);
        return !busy.has(port);
      },
    });
    expect(choice).toEqual({ port: 54324, busyPort: 54322 });
    expect(asked).toEqual([54322, 54322, 54322, 54323, 54324]);
  });

  it('fails with a way out when every port it may take is busy', async () => {
    await expect(
      choosePort(54322, { retries: 0, scan: 3, isFree: async () => false }),
    ).rejects.toThrow(/port 54322 and the 3 ports above it are busy.*SWITCHBOARD_PORT_OFFSET/);
  });

  it('moves off a port an outgoing connection holds while nothing listens on it', async () => {
    const held = await holdPortWithOutgoingConnection();
    try {
      expect(await canListen(held.port)).toBe(false);
      const choice = await choosePort(held.port, { retries: 1, retryDelayMs: 0 });
      expect(choice.busyPort).toBe(held.port);
      expect(choice.port).toBeGreaterThan(held.port);
      expect(await canListen(choice.port)).toBe(true);
    } finally {
      await held.release();
    }
  });
});

describe('startEmbeddedPostgres on a busy fixed port', () => {
  it(
    'starts on the next free port and reports the busy one (nextFreePortIfBusy)',
    async () => {
      const held = await holdPortWithOutgoingConnection();
      try {
        const moved = await startEmbeddedPostgres({ port: held.port, nextFreePortIfBusy: true });
        const sql = postgres(moved.url, { max: 1, onnotice: () => {} });
        try {
          expect(moved.busyPort).toBe(held.port);
          expect(moved.port).not.toBe(held.port);
          expect(moved.url).toBe(`postgres://postgres:postgres@127.0.0.1:${moved.port}/postgres`);
          expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
        } finally {
          await sql.end();
          await moved.close();
        }
      } finally {
        await held.release();
      }
    },
    TIMEOUT,
  );
});
