/**
 * Embedded Postgres for the local stack: PGlite (Postgres compiled to WASM) served over the Postgres
 * wire protocol by @electric-sql/pglite-socket, so postgres.js / drizzle / Hyperdrive's
 * localConnectionString talk to it exactly as they would to a real server.
 *
 * PGlite is a single backend (one session), while pglite-socket accepts many client connections.
 * Its QueryQueueManager only keeps one connection "sticky" while a transaction block is open, so
 * outside a transaction it interleaves extended-protocol messages of different connections
 * (Parse/Bind of A, Parse/Bind of B, Execute of A → `portal "" does not exist`). We replace that
 * queue with SyncAwareQueryQueue, which hands the backend to one connection per protocol batch.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  /** Directory for the data files; undefined keeps everything in memory. */
  dataDir?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * When `port` cannot be listened on, retry briefly and then take the next free port above it
   * (see choosePort) instead of failing. Default false.
   */
  nextFreePortIfBusy?: boolean;
  host?: string;
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:postgres@HOST:PORT/postgres */
  url: string;
  port: number;
  /** The port asked for, when it was busy and `port` is the one taken instead. */
  busyPort?: number;
  /**
   * The backend itself. Its query()/exec()/transaction() calls wait while a socket connection owns
   * the backend, so they never run inside a client's transaction (and vice versa).
   */
  db: PGlite;
  close(): Promise<void>;
}

/**
 * The queue replacement reaches into private fields of pglite-socket, so it is only valid for the
 * exact version it was written against. Upgrading means re-reading dist/chunk-*.js (the
 * QueryQueueManager / PGLiteSocketHandler / PGLiteSocketServer) and bumping this.
 */
export const PINNED_PGLITE_SOCKET_VERSION = '0.2.17';

const QUEUE_METHODS = [
  'enqueue',
  'getQueueLength',
  'clearQueueForHandler',
  'clearTransactionIfNeeded',
] as const;

const MESSAGE_SYNC = 0x53; // 'S'
const MESSAGE_QUERY = 0x51; // 'Q'
const MESSAGE_FUNCTION_CALL = 0x46; // 'F'
const MESSAGE_TERMINATE = 0x58; // 'X'

/** Startup packets have no type byte; their first byte is the high byte of the length, i.e. 0. */
function endsBatch(message: Uint8Array): boolean {
  const type = message[0];
  return (
    type === 0 ||
    type === MESSAGE_SYNC ||
    type === MESSAGE_QUERY ||
    // FunctionCall is answered with ReadyForQuery just like a simple Query.
    type === MESSAGE_FUNCTION_CALL ||
    type === MESSAGE_TERMINATE
  );
}

function simpleQueryMessage(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + text.length);
  message[0] = MESSAGE_QUERY;
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return message;
}

const SYNC_MESSAGE = Uint8Array.of(MESSAGE_SYNC, 0, 0, 0, 4);

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytesWritten: number) => void;
  reject: (error: Error) => void;
}

/**
 * Same interface as pglite-socket's QueryQueueManager (enqueue, getQueueLength,
 * clearQueueForHandler, clearTransactionIfNeeded), but a connection owns the backend from its
 * first message until a message that ends a protocol batch (Sync, Query, FunctionCall, startup,
 * Terminate) has run while no transaction block is open. Other connections' messages wait, so an
 * extended-protocol batch (whose unnamed statement/portal and error-skip state live in the one
 * backend) is never split, and nobody runs inside someone else's transaction.
 *
 * While it owns the backend the queue also holds PGlite's transaction and query mutexes, so direct
 * `db.query()` / `db.transaction()` calls are serialised against socket clients the same way.
 */
export class SyncAwareQueryQueue {
  readonly #db: PGlite;
  #queue: QueuedMessage[] = [];
  #owner: number | null = null;
  /** The owner has sent messages since its last batch end (e.g. Parse/Bind but no Sync yet). */
  #ownerMidBatch = false;
  #releaseBackend: (() => void) | null = null;
  /** Handlers whose socket is gone; their ownership is cleaned up by the run loop. */
  readonly #disconnected = new Set<number>();
  readonly #releaseWaiters = new Map<number, { promise: Promise<void>; resolve: () => void }>();
  #running = false;
  #runLoopPromise: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(db: PGlite) {
    this.#db = db;
  }

  enqueue(
    handlerId: number,
    message: Uint8Array,
    onData: (data: Uint8Array) => void,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.#closed || this.#disconnected.has(handlerId)) {
        reject(new Error('Handler disconnected'));
        return;
      }
      this.#queue.push({ handlerId, message, onData, resolve, reject });
      void this.#kick();
    });
  }

  getQueueLength(): number {
    return this.#queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.#disconnected.add(handlerId);
    this.#queue = this.#queue.filter((queued) => {
      if (queued.handlerId !== handlerId) return true;
      queued.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  /**
   * Called by the handler on detach (after clearQueueForHandler). Resolves once the handler no
   * longer owns the backend: its open transaction or half-sent batch has been rolled back.
   */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    this.#disconnected.add(handlerId);
    if (this.#owner === handlerId) {
      const released = this.#releaseWaiterFor(handlerId);
      void this.#kick();
      await released;
    }
    // Handler ids are never reused, so forgetting the id afterwards is safe.
    this.#disconnected.delete(handlerId);
  }

  /** Rejects everything still queued and waits until the backend is released. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    for (const queued of this.#queue) queued.reject(new Error('Server shutting down'));
    this.#queue = [];
    if (this.#owner !== null) this.#disconnected.add(this.#owner);
    await this.#kick();
  }

  #releaseWaiterFor(handlerId: number): Promise<void> {
    let waiter = this.#releaseWaiters.get(handlerId);
    if (!waiter) {
      let resolve = () => {};
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      waiter = { promise, resolve };
      this.#releaseWaiters.set(handlerId, waiter);
    }
    return waiter.promise;
  }

  #kick(): Promise<void> {
    // #running flips synchronously at loop start and exit, so a message enqueued after the loop
    // decided to stop always starts a new loop instead of joining one that is finishing.
    if (!this.#running) this.#runLoopPromise = this.#runLoop();
    return this.#runLoopPromise;
  }

  async #runLoop(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        if (this.#owner !== null && this.#disconnected.has(this.#owner)) {
          await this.#abandonOwner();
          continue;
        }
        const next = this.#takeNext();
        if (!next) break;
        if (!this.#releaseBackend) this.#releaseBackend = await this.#holdBackend();
        await this.#execute(next);
        this.#ownerMidBatch = !endsBatch(next.message);
        if (!this.#ownerMidBatch && !this.#db.isInTransaction()) this.#releaseOwner();
      }
    } finally {
      this.#running = false;
    }
  }

  /** The owner's next message, or — when nobody owns the backend — the oldest message overall. */
  #takeNext(): QueuedMessage | undefined {
    if (this.#owner === null) {
      const next = this.#queue.shift();
      // Claimed synchronously so a disconnect during #holdBackend still finds its owner to clean up.
      if (next) this.#owner = next.handlerId;
      return next;
    }
    const index = this.#queue.findIndex((queued) => queued.handlerId === this.#owner);
    return index === -1 ? undefined : this.#queue.splice(index, 1)[0];
  }

  /** Takes both PGlite mutexes (same order as its query()) until the returned release runs. */
  #holdBackend(): Promise<() => void> {
    return new Promise((held) => {
      this.#db
        ._runExclusiveTransaction(() =>
          this.#db.runExclusive(() => new Promise<void>((release) => held(release))),
        )
        .catch((error: unknown) => console.error('[embedded-postgres] backend lock failed', error));
    });
  }

  async #execute(queued: QueuedMessage): Promise<void> {
    if (this.#disconnected.has(queued.handlerId)) {
      queued.reject(new Error('Handler disconnected'));
      return;
    }
    let bytesWritten = 0;
    try {
      await this.#db.execProtocolRawStream(queued.message, {
        onRawData: (data) => {
          bytesWritten += data.length;
          queued.onData(data);
        },
      });
      queued.resolve(bytesWritten);
    } catch (error) {
      // The handler detaches on a rejected message, which lands in #abandonOwner.
      queued.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * The owner vanished holding the backend. Undo what it left behind without ever committing it:
   * - mid-batch without an error: the implicit (or explicit) transaction is still running, and a
   *   bare Sync would COMMIT it, so ROLLBACK first (a harmless warning if nothing is open);
   * - mid-batch after an error: the backend ignores everything until Sync, hence the Sync;
   * - a transaction block still open (idle in transaction, or failed): ROLLBACK.
   */
  async #abandonOwner(): Promise<void> {
    try {
      if (this.#ownerMidBatch) {
        await this.#runInternal(simpleQueryMessage('ROLLBACK'));
        await this.#runInternal(SYNC_MESSAGE);
      }
      if (this.#db.isInTransaction()) await this.#runInternal(simpleQueryMessage('ROLLBACK'));
    } catch (error) {
      console.error('[embedded-postgres] cleanup after a disconnected client failed', error);
    }
    this.#releaseOwner();
  }

  /** Runs a message under the lock we already hold; its replies have no client to go to. */
  async #runInternal(message: Uint8Array): Promise<void> {
    if (!this.#releaseBackend) return;
    await this.#db.execProtocolRawStream(message, { onRawData: () => {} });
  }

  #releaseOwner(): void {
    const previousOwner = this.#owner;
    this.#owner = null;
    this.#ownerMidBatch = false;
    const release = this.#releaseBackend;
    this.#releaseBackend = null;
    release?.();
    if (previousOwner === null) return;
    const waiter = this.#releaseWaiters.get(previousOwner);
    if (waiter) {
      this.#releaseWaiters.delete(previousOwner);
      waiter.resolve();
    }
  }
}

function installedPgliteSocketVersion(): unknown {
  // The package's "exports" hides package.json, so find it next to the resolved entry point.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite-socket');
  const manifest: unknown = JSON.parse(
    readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'),
  );
  return typeof manifest === 'object' && manifest !== null
    ? Reflect.get(manifest, 'version')
    : undefined;
}

/**
 * Swaps the server's private queue for ours. Replacing one object with the same interface keeps the
 * rest of pglite-socket (startup/SSL/cancel handling, framing, connection limits) untouched, instead
 * of copying the package. Fails loudly if anything it relies on has moved.
 */
function installSyncAwareQueue(server: PGLiteSocketServer, queue: SyncAwareQueryQueue): void {
  const version = installedPgliteSocketVersion();
  const upgradeHint =
    'dev/embedded-postgres.ts replaces a private field of PGLiteSocketServer; re-check its ' +
    'QueryQueueManager usage and bump PINNED_PGLITE_SOCKET_VERSION.';
  if (version !== PINNED_PGLITE_SOCKET_VERSION) {
    throw new Error(
      `@electric-sql/pglite-socket is ${String(version)}, expected ${PINNED_PGLITE_SOCKET_VERSION}. ${upgradeHint}`,
    );
  }
  const original: unknown = Reflect.get(server, 'queryQueue');
  const originalHasQueueShape =
    typeof original === 'object' &&
    original !== null &&
    QUEUE_METHODS.every((method) => typeof Reflect.get(original, method) === 'function');
  // Handlers receive the queue from the server when a connection arrives, so the field must be read
  // there (not captured earlier) for the swap to take effect.
  const handleConnection: unknown = Reflect.get(PGLiteSocketServer.prototype, 'handleConnection');
  const handlersReadTheField =
    typeof handleConnection === 'function' &&
    handleConnection.toString().includes('queryQueue:this.queryQueue');
  if (!originalHasQueueShape || !handlersReadTheField) {
    throw new Error(`PGLiteSocketServer internals changed. ${upgradeHint}`);
  }
  Reflect.set(server, 'queryQueue', queue);
}

/** Whether a server can listen on host:port right now (the probe closes at once). */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

export interface PortChoiceOptions {
  host?: string;
  /** Further attempts at the preferred port before moving on; default 3. */
  retries?: number;
  retryDelayMs?: number;
  /** How many ports above the preferred one are tried; default 20. */
  scan?: number;
  /** Injectable for tests; default canListen. */
  isFree?: (port: number, host: string) => Promise<boolean>;
}

/**
 * The preferred port, or the next free one above it. A fixed port in Linux's ephemeral range
 * (32768–60999, e.g. 54322) can be held for a while by one of the machine's own outgoing
 * connections while nothing listens on it: a few short retries ride out a connection that is just
 * closing, then the next free port keeps `npm start` from failing with EADDRINUSE.
 */
export async function choosePort(
  preferred: number,
  options: PortChoiceOptions = {},
): Promise<{ port: number; busyPort?: number }> {
  const host = options.host ?? '127.0.0.1';
  const isFree = options.isFree ?? canListen;
  const retries = options.retries ?? 3;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (await isFree(preferred, host)) return { port: preferred };
    if (attempt < retries) await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 250));
  }
  const scan = options.scan ?? 20;
  for (let port = preferred + 1; port <= Math.min(preferred + scan, 65_535); port++) {
    if (await isFree(port, host)) return { port, busyPort: preferred };
  }
  throw new Error(
    `port ${preferred} and the ${scan} ports above it are busy; set SWITCHBOARD_PORT_OFFSET or SWITCHBOARD_RANDOM_PORTS=1`,
  );
}

export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const host = opts.host ?? '127.0.0.1';
  // Chosen before PGlite loads the data directory, which is the slow part of starting.
  const choice =
    opts.nextFreePortIfBusy && opts.port
      ? await choosePort(opts.port, { host })
      : { port: opts.port ?? 0 };
  if (opts.dataDir !== undefined) {
    // PGlite's NodeFS only creates the last path segment.
    mkdirSync(opts.dataDir, { recursive: true });
  }
  // The contrib extensions the migrations use, which Supabase and Debian's Postgres ship too:
  // unaccent (accent-insensitive search), pg_trgm, btree_gist (exclusion constraints); and
  // pgvector (knowledge search by meaning), which Supabase ships and CI builds for its server.
  const db = await PGlite.create(opts.dataDir, {
    extensions: { unaccent, pg_trgm, btree_gist, vector },
  });
  const queue = new SyncAwareQueryQueue(db);
  const server = new PGLiteSocketServer({
    db,
    host,
    port: choice.port,
    maxConnections: opts.maxConnections ?? 64,
  });
  try {
    installSyncAwareQueue(server, queue);
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }

  const serverAddress = server.getServerConn();
  const port = Number(serverAddress.slice(serverAddress.lastIndexOf(':') + 1));
  const wildcard = host === '0.0.0.0' || host === '::';
  const urlHost = wildcard ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    // PGlite accepts any password; Hyperdrive's localConnectionString insists on having one.
    url: `postgres://postgres:postgres@${urlHost}:${port}/postgres`,
    port,
    ...(choice.busyPort !== undefined ? { busyPort: choice.busyPort } : {}),
    db,
    close() {
      closing ??= (async () => {
        // stop() detaches every handler, which hands disconnected owners to the queue's cleanup;
        // the backend must be released before PGlite's close() can take its mutexes.
        await server.stop();
        await queue.shutdown();
        await db.close();
      })();
      return closing;
    },
  };
}
