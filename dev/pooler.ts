/**
 * A small Postgres wire-protocol pooler for the local stack, standing where Hyperdrive stands in
 * production: the Worker opens a postgres.js client per request, and every one of those client
 * connections is served from a bounded set of long-lived server connections. Locally that means a
 * request never forks a Postgres backend (≈5 ms each on the machine's server) and a burst of
 * webhooks queues for a connection instead of exhausting `max_connections` ("too many clients").
 *
 * - Startup is answered here (SSLRequest → 'N'; StartupMessage → AuthenticationOk, the
 *   ParameterStatus values recorded from a server connection's own startup, BackendKeyData,
 *   ReadyForQuery). The password is not checked: the pooler listens on loopback only, like the
 *   other stand-ins, and authenticates itself to the server with the target URL's credentials.
 * - Transaction pooling, as Hyperdrive does it: a client gets a server connection with its first
 *   message and gives it back when the server is idle again (ReadyForQuery 'I' with every batch the
 *   client sent answered and none half-sent). Session pooling would also be correct, but a request
 *   would hold a server connection for its whole life, and requests that open a second connection
 *   (postgres.js runs concurrent queries on up to `max` connections) while holding one could
 *   deadlock once every server connection is held by such a request.
 * - Prepared statements: postgres.js (prepare on, as db/client.ts keeps it) prepares every
 *   statement under a name once per client connection and afterwards only Binds that name. Under
 *   transaction pooling the next Bind may land on another server connection, where the name does
 *   not exist (or, with names reused across clients, means another statement). So every release
 *   resets the server connection with `DISCARD ALL` (nothing prepared survives, so names never
 *   collide), the pooler remembers each client's Parse messages, and when a client Binds or
 *   Describes a statement the current server connection has not seen in this assignment, it sends
 *   the client's Parse first and swallows the ParseComplete. Same round trips for the client.
 * - `DISCARD ALL` also drops session state a client left (`set_config(…, false)`, `SET ROLE`,
 *   temp tables, advisory locks), as pgbouncer's server_reset_query does. It cannot run inside a
 *   transaction, so a client leaving one open (Terminate or a dropped socket while idle in a
 *   transaction) gets `ROLLBACK` first; a client leaving mid-batch (a query in flight, or Parse/Bind
 *   without Sync) gets its server connection closed, never returned dirty.
 * - At most `maxServerConnections`; clients beyond that wait in FIFO order and are never refused.
 *   A query that waited `queueTimeoutMs` fails with an ErrorResponse (53300, as a server would
 *   answer it), and the client stays connected.
 * - Terminate ('X') releases the server connection. Cancel requests are ignored (the connection is
 *   closed): forwarding one could cancel another client's query once the server connection has
 *   been handed on, and the app never cancels.
 * - COPY is not supported (the app does not use it).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface PoolerOptions {
  /** postgres://user:password@host:port/database the server connections go to. */
  targetUrl: string;
  /** Default 10. */
  maxServerConnections?: number;
  /** How long a client may wait for a server connection; default 30 s. */
  queueTimeoutMs?: number;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface Pooler {
  /** The target URL with host and port replaced by the pooler's (same user, password, database). */
  url: string;
  port: number;
  maxServerConnections: number;
  stats(): { serverConnections: number; idle: number; waiting: number; clients: number };
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;

/** Splits a byte stream into typed messages (type byte, int32 length including itself). */
class MessageReader {
  #pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const messages: Buffer[] = [];
    while (this.#pending.length >= 5) {
      const size = 1 + this.#pending.readInt32BE(1);
      if (this.#pending.length < size) break;
      messages.push(this.#pending.subarray(0, size));
      this.#pending = this.#pending.subarray(size);
    }
    return messages;
  }
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8');
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** The NUL-terminated string starting at `offset`. */
function readCString(buffer: Buffer, offset: number): string {
  const end = buffer.indexOf(0, offset);
  return buffer.toString('utf8', offset, end === -1 ? buffer.length : end);
}

function errorResponse(severity: 'ERROR' | 'FATAL', code: string, text: string): Buffer {
  return message(
    'E',
    Buffer.concat([
      cstring(`S${severity}`),
      cstring(`V${severity}`),
      cstring(`C${code}`),
      cstring(`M${text}`),
      Buffer.alloc(1),
    ]),
  );
}

const READY_IDLE = message('Z', Buffer.from('I'));
const simpleQuery = (sql: string) => message('Q', cstring(sql));

/** Error text of a server ErrorResponse (fields: a code byte and a string each). */
function errorText(error: Buffer): string {
  const fields = new Map<string, string>();
  let offset = 5;
  while (offset < error.length && error[offset] !== 0) {
    const value = readCString(error, offset + 1);
    fields.set(String.fromCharCode(error[offset] ?? 0), value);
    offset += 2 + Buffer.byteLength(value);
  }
  return `${fields.get('M') ?? 'server error'}${fields.has('C') ? ` (${fields.get('C')})` : ''}`;
}

interface ServerTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** One long-lived connection to the server, startup and authentication done. */
class ServerConnection {
  client: ClientSession | null = null;
  status = 'I';
  /** Batches (Sync, Query) sent in the current assignment and ReadyForQuerys received back. */
  batchesSent = 0;
  batchesAnswered = 0;
  /** The client sent extended-protocol messages since its last Sync (Parse/Bind/Flush…). */
  midBatch = false;
  /** Statement names prepared on this connection since the last reset. */
  prepared = new Set<string>();
  /** One entry per Parse sent, oldest first: whose ParseComplete is it, and in which batch. */
  parses: { batch: number; injected: boolean }[] = [];
  /** ReadyForQuerys still expected from the reset; while > 0, replies go nowhere. */
  resetting = 0;
  resetFailed = false;
  onResetDone: (() => void) | null = null;
  readonly reader = new MessageReader();
  constructor(readonly socket: Socket) {}

  startAssignment(client: ClientSession) {
    this.client = client;
    this.batchesSent = 0;
    this.batchesAnswered = 0;
    this.midBatch = false;
    this.parses = [];
  }

  /** Idle, with everything the client sent answered: safe to hand to someone else. */
  get clean() {
    return this.batchesSent === this.batchesAnswered && !this.midBatch;
  }
}

interface ClientSession {
  socket: Socket;
  server: ServerConnection | null;
  /** Messages received while waiting for a server connection. */
  pending: Buffer[];
  /** Every Parse the client sent, by statement name, to replay on another server connection. */
  statements: Map<string, Buffer>;
  waitTimer: NodeJS.Timeout | null;
  /** After a failed wait: drop the client's messages up to its next Sync, then say ReadyForQuery. */
  skipUntilSync: boolean;
  closed: boolean;
}

function openServerConnection(
  target: ServerTarget,
  onParameter: (name: string, value: string) => void,
): Promise<ServerConnection> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(target.port, target.host);
    socket.setNoDelay(true);
    const reader = new MessageReader();
    let scram: { nonce: string; clientFirstBare: string; serverSignature?: Buffer } | null = null;
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) {
        const type = String.fromCharCode(msg[0] ?? 0);
        if (type === 'E') return fail(new Error(errorText(msg)));
        if (type === 'S') {
          const name = readCString(msg, 5);
          onParameter(name, readCString(msg, 6 + Buffer.byteLength(name)));
        }
        if (type === 'R') {
          const kind = msg.readInt32BE(5);
          if (kind === 3) socket.write(message('p', cstring(target.password)));
          if (kind === 5) {
            const inner = createHash('md5')
              .update(target.password + target.user)
              .digest('hex');
            const outer = createHash('md5')
              .update(Buffer.concat([Buffer.from(inner), msg.subarray(9, 13)]))
              .digest('hex');
            socket.write(message('p', cstring(`md5${outer}`)));
          }
          if (kind === 10) {
            const nonce = randomBytes(18).toString('base64');
            const clientFirstBare = `n=*,r=${nonce}`;
            scram = { nonce, clientFirstBare };
            const first = Buffer.from(`n,,${clientFirstBare}`);
            socket.write(
              message('p', Buffer.concat([cstring('SCRAM-SHA-256'), int32(first.length), first])),
            );
          }
          if (kind === 11 && scram) {
            const serverFirst = msg.toString('utf8', 9);
            const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
            const nonce = attrs.get('r') ?? '';
            if (!nonce.startsWith(scram.nonce)) return fail(new Error('SCRAM: bad server nonce'));
            const salted = pbkdf2Sync(
              target.password,
              Buffer.from(attrs.get('s') ?? '', 'base64'),
              Number(attrs.get('i')),
              32,
              'sha256',
            );
            const clientKey = createHmac('sha256', salted).update('Client Key').digest();
            const storedKey = createHash('sha256').update(clientKey).digest();
            const withoutProof = `c=biws,r=${nonce}`;
            const authMessage = `${scram.clientFirstBare},${serverFirst},${withoutProof}`;
            const signature = createHmac('sha256', storedKey).update(authMessage).digest();
            const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
            const serverKey = createHmac('sha256', salted).update('Server Key').digest();
            scram.serverSignature = createHmac('sha256', serverKey).update(authMessage).digest();
            socket.write(
              message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)),
            );
          }
          if (kind === 12) {
            const verifier = msg.toString('utf8', 9).replace(/^v=/, '');
            if (verifier !== scram?.serverSignature?.toString('base64'))
              return fail(new Error('SCRAM: the server did not prove it knows the password'));
          }
          if (![0, 3, 5, 10, 11, 12].includes(kind))
            return fail(new Error(`unsupported authentication method ${kind}`));
        }
        if (type === 'Z') {
          socket.off('data', onData);
          socket.off('error', fail);
          resolve(new ServerConnection(socket));
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.on('error', fail);
    socket.once('connect', () => {
      const params = Buffer.concat([
        ...Object.entries({
          user: target.user,
          database: target.database,
          client_encoding: 'UTF8',
          application_name: 'switchboard-pooler',
        }).flatMap(([k, v]) => [cstring(k), cstring(v)]),
        Buffer.alloc(1),
      ]);
      socket.write(Buffer.concat([int32(8 + params.length), int32(PROTOCOL_3), params]));
    });
  });
}

export async function startPooler(options: PoolerOptions): Promise<Pooler> {
  const url = new URL(options.targetUrl);
  const target: ServerTarget = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username),
  };
  const maxServerConnections = options.maxServerConnections ?? 10;
  const queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
  const parameters = new Map<string, string>();
  const idle: ServerConnection[] = [];
  const waiting: ClientSession[] = [];
  const clients = new Set<ClientSession>();
  const servers = new Set<ServerConnection>();
  /** Open or opening. */
  let serverConnections = 0;
  let nextProcessId = 1;
  let closing = false;

  async function addServerConnection() {
    serverConnections++;
    let server: ServerConnection;
    try {
      server = await openServerConnection(target, (name, value) => {
        if (!parameters.has(name)) parameters.set(name, value);
      });
    } catch (error) {
      serverConnections--;
      // The oldest waiter was counting on this one; with no server connection left at all, nobody
      // else will be served either. Tell them why instead of letting them wait for the timeout.
      const message = error instanceof Error ? error.message : String(error);
      const text = `pooler: could not connect to the database: ${message}`;
      for (const client of waiting.splice(0, serverConnections === 0 ? waiting.length : 1)) {
        if (client.waitTimer) clearTimeout(client.waitTimer);
        client.waitTimer = null;
        failPending(client, errorResponse('ERROR', '08006', text));
      }
      if (serverConnections === 0) throw error;
      return;
    }
    servers.add(server);
    server.socket.on('data', (chunk) => onServerData(server, chunk));
    server.socket.on('error', () => server.socket.destroy());
    server.socket.on('close', () => onServerClosed(server));
    if (closing) server.socket.destroy();
    else handOut(server);
  }

  function onServerClosed(server: ServerConnection) {
    serverConnections--;
    const index = idle.indexOf(server);
    if (index !== -1) idle.splice(index, 1);
    if (server.client) {
      const client = server.client;
      server.client = null;
      client.server = null;
      client.socket.destroy();
    }
    servers.delete(server);
    if (!closing && waiting.length > 0 && serverConnections < maxServerConnections) {
      void addServerConnection().catch(() => {});
    }
  }

  /** A free (reset) server connection goes to the longest-waiting client, or back to idle. */
  function handOut(server: ServerConnection) {
    const client = waiting.shift();
    if (!client) {
      idle.push(server);
      return;
    }
    if (client.waitTimer) clearTimeout(client.waitTimer);
    client.waitTimer = null;
    assign(client, server);
  }

  function assign(client: ClientSession, server: ServerConnection) {
    client.server = server;
    server.startAssignment(client);
    const messages = client.pending;
    client.pending = [];
    forward(client, server, messages);
  }

  function requestServer(client: ClientSession) {
    const server = idle.pop();
    if (server) {
      assign(client, server);
      return;
    }
    waiting.push(client);
    client.waitTimer = setTimeout(() => {
      const index = waiting.indexOf(client);
      if (index === -1) return;
      waiting.splice(index, 1);
      client.waitTimer = null;
      failPending(
        client,
        errorResponse(
          'ERROR',
          '53300',
          `pooler: no database connection free within ${queueTimeoutMs} ms (all ${maxServerConnections} in use)`,
        ),
      );
    }, queueTimeoutMs);
    if (serverConnections < maxServerConnections) void addServerConnection().catch(() => {});
  }

  /**
   * Answers the client's waiting batches as a server would answer a failed one: the error, and
   * ReadyForQuery at its Sync. A batch still open (no Sync yet) gets the error now and the rest of
   * its messages are skipped until the Sync. The client stays connected and may try again.
   */
  function failPending(client: ClientSession, error: Buffer) {
    const out: Buffer[] = [];
    let batchOpen = false;
    for (const msg of client.pending) {
      if (msg[0] === 0x53 /* S */ || msg[0] === 0x51 /* Q */ || msg[0] === 0x46 /* F */) {
        out.push(error, READY_IDLE);
        batchOpen = false;
      } else {
        batchOpen = true;
      }
    }
    if (batchOpen) {
      out.push(error);
      client.skipUntilSync = true;
    }
    client.pending = [];
    client.socket.write(Buffer.concat(out));
  }

  /** Sends client messages to its server connection, replaying Parses it has not seen. */
  function forward(client: ClientSession, server: ServerConnection, messages: Buffer[]) {
    const out: Buffer[] = [];
    const ensurePrepared = (name: string) => {
      const parse = client.statements.get(name);
      if (server.prepared.has(name) || !parse) return;
      out.push(parse);
      server.prepared.add(name);
      server.parses.push({ batch: server.batchesSent, injected: true });
    };
    for (const msg of messages) {
      const type = String.fromCharCode(msg[0] ?? 0);
      if (type === 'P') {
        const name = readCString(msg, 5);
        client.statements.set(name, msg);
        server.prepared.add(name);
        server.parses.push({ batch: server.batchesSent, injected: false });
      } else if (type === 'B') {
        const portal = readCString(msg, 5);
        ensurePrepared(readCString(msg, 6 + Buffer.byteLength(portal)));
      } else if (type === 'D' && msg[5] === 0x53 /* S */) {
        ensurePrepared(readCString(msg, 6));
      } else if (type === 'C' && msg[5] === 0x53) {
        client.statements.delete(readCString(msg, 6));
        server.prepared.delete(readCString(msg, 6));
      }
      if (type === 'S' || type === 'Q' || type === 'F') {
        server.batchesSent++;
        server.midBatch = false;
      } else {
        server.midBatch = true;
      }
      out.push(msg);
    }
    if (out.length) server.socket.write(Buffer.concat(out));
  }

  function onServerData(server: ServerConnection, chunk: Buffer) {
    const out: Buffer[] = [];
    for (const msg of server.reader.push(chunk)) {
      const type = String.fromCharCode(msg[0] ?? 0);
      if (server.resetting > 0) {
        if (type === 'E') server.resetFailed = true;
        if (type === 'Z') server.status = String.fromCharCode(msg[5] ?? 0x49);
        if (type === 'Z' && --server.resetting === 0) server.onResetDone?.();
        continue;
      }
      if (!server.client) continue; // e.g. a NoticeResponse while idle
      if (type === '1') {
        if (server.parses.shift()?.injected) continue;
      } else if (type === 'Z') {
        server.batchesAnswered++;
        server.status = String.fromCharCode(msg[5] ?? 0x49);
        // Parses of answered batches that got no ParseComplete were skipped after an error.
        server.parses = server.parses.filter((p) => p.batch >= server.batchesAnswered);
      }
      out.push(msg);
    }
    const client = server.client;
    if (client && out.length) client.socket.write(Buffer.concat(out));
    if (client && server.clean && server.status === 'I' && client.pending.length === 0) {
      release(client, server);
    }
  }

  /** The client is done with the server connection (idle, or leaving): reset it and hand it on. */
  function release(client: ClientSession, server: ServerConnection) {
    client.server = null;
    server.client = null;
    if (!server.clean) {
      // Something is in flight or half-sent: no reset can run now, and nothing may be committed.
      server.socket.destroy();
      return;
    }
    const reset = [
      ...(server.status === 'I' ? [] : [simpleQuery('ROLLBACK')]),
      simpleQuery('DISCARD ALL'),
    ];
    server.resetting = reset.length;
    server.resetFailed = false;
    server.onResetDone = () => {
      server.onResetDone = null;
      server.prepared.clear();
      if (server.resetFailed || closing || server.status !== 'I') server.socket.destroy();
      else handOut(server);
    };
    server.socket.write(Buffer.concat(reset));
  }

  function onClientGone(client: ClientSession) {
    if (client.closed && !client.server && !waiting.includes(client)) {
      clients.delete(client);
      return;
    }
    client.closed = true;
    clients.delete(client);
    if (client.waitTimer) clearTimeout(client.waitTimer);
    const index = waiting.indexOf(client);
    if (index !== -1) waiting.splice(index, 1);
    if (client.server) release(client, client.server);
  }

  function startupReply(processId: number): Buffer {
    return Buffer.concat([
      message('R', int32(0)),
      ...[...parameters].map(([k, v]) => message('S', Buffer.concat([cstring(k), cstring(v)]))),
      message('K', Buffer.concat([int32(processId), randomBytes(4)])),
      READY_IDLE,
    ]);
  }

  const listener = createServer((socket) => {
    socket.setNoDelay(true);
    const client: ClientSession = {
      socket,
      server: null,
      pending: [],
      statements: new Map(),
      waitTimer: null,
      skipUntilSync: false,
      closed: false,
    };
    clients.add(client);
    let startup: Buffer | null = Buffer.alloc(0);
    const reader = new MessageReader();

    const onMessages = (received: Buffer[]) => {
      let messages = received;
      if (client.skipUntilSync) {
        const sync = messages.findIndex((msg) => msg[0] === 0x53 /* S */);
        if (sync === -1) return;
        client.skipUntilSync = false;
        socket.write(READY_IDLE);
        messages = messages.slice(sync + 1);
      }
      for (const [i, msg] of messages.entries()) {
        if (msg[0] === 0x58 /* X: Terminate */) {
          if (client.server) forward(client, client.server, messages.slice(0, i));
          else client.pending.push(...messages.slice(0, i));
          onClientGone(client);
          socket.end();
          return;
        }
      }
      if (client.server) forward(client, client.server, messages);
      else if (messages.length) {
        const wasWaiting = client.pending.length > 0;
        client.pending.push(...messages);
        if (!wasWaiting) requestServer(client);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (client.closed) return;
      if (startup === null) {
        onMessages(reader.push(chunk));
        return;
      }
      startup = Buffer.concat([startup, chunk]);
      while (startup && startup.length >= 8 && startup.length >= startup.readInt32BE(0)) {
        const length = startup.readInt32BE(0);
        const code = startup.readInt32BE(4);
        const rest = startup.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          socket.write('N');
          startup = rest;
        } else if (code === PROTOCOL_3) {
          socket.write(startupReply(nextProcessId++));
          startup = null;
          if (rest.length) onMessages(reader.push(rest));
        } else {
          // A CancelRequest (ignored, see above) or a protocol version we do not speak.
          client.closed = true;
          if (code !== CANCEL_REQUEST) {
            socket.write(errorResponse('FATAL', '0A000', `pooler: unsupported protocol ${code}`));
          }
          socket.end();
          return;
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => onClientGone(client));
  });

  // One server connection up front: its startup gives the ParameterStatus values clients get, and
  // a wrong DATABASE_URL fails here instead of on the first request.
  await addServerConnection();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  const poolerUrl = new URL(options.targetUrl);
  poolerUrl.hostname = '127.0.0.1';
  poolerUrl.port = String(port);

  return {
    url: poolerUrl.toString(),
    port,
    maxServerConnections,
    stats: () => ({
      serverConnections,
      idle: idle.length,
      waiting: waiting.length,
      clients: clients.size,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const client of [...clients]) client.socket.destroy();
        for (const server of servers) server.socket.end(message('X', Buffer.alloc(0)));
        listener.close(() => resolve());
      }),
  };
}
