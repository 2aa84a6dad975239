/**
 * Local stand-in for Upstash Redis: speaks the Upstash REST protocol (what @upstash/redis and
 * @upstash/ratelimit send) and runs the commands on a real Redis (ioredis) or, without a
 * `redisUrl`, on ioredis-mock in memory.
 *
 * Wire protocol served (all POST, `Authorization: Bearer <token>`, JSON bodies):
 * - `POST /`            body `["set","k","v","nx","ex",60]` -> `{"result":…}` | 400 `{"error":"…"}`
 * - `POST /pipeline`    body `[[cmd…],[cmd…]]` -> 200 `[{"result":…}|{"error":"…"}, …]`
 * - `POST /multi-exec`  same shape, run inside MULTI/EXEC (all-or-nothing on queue errors)
 * - `Upstash-Encoding: base64` (the client's default): every string in a result is base64 of its
 *   UTF-8 bytes, arrays element-wise at any depth; integers and nulls as is; a top-level `"OK"`
 *   stays literal, mirroring the decoder in @upstash/redis, which special-cases only that.
 *
 * Deliberate differences from hosted Upstash, each because a local backend cannot do better:
 * - Lua shebang lines (`#!lua flags=allow-key-locking`, used by every @upstash/ratelimit script)
 *   are stripped: Redis 7.0 rejects that Upstash-only flag and fengari (the mock's Lua) cannot
 *   parse a shebang at all. Scripts therefore run in Redis's legacy (non-shebang) mode.
 * - SCRIPT LOAD / EXISTS / FLUSH and EVALSHA are answered from this process's own script cache,
 *   keyed by the SHA-1 of the script as the client sent it (the hash clients hard-code), because
 *   the backend only ever sees the stripped script, whose SHA-1 differs.
 * - With `keyPrefix`, every key is namespaced by ioredis; KEYS, SCAN, DBSIZE, FLUSHDB and
 *   FLUSHALL are rewritten to see only prefixed keys, so a shared dev Redis is never wiped.
 *   Lua scripts do see the prefixed names in KEYS[] (so returning KEYS[1] leaks the prefix).
 * - ioredis-mock (the in-memory backend) is approximate: it only understands upper-case option
 *   keywords (lower-case ones, which @upstash/redis sends, are upper-cased here for SET, GETEX,
 *   EXPIRE*, LINSERT and ZADD), has no WRONGTYPE errors, ignores EXPIRE NX/XX/GT/LT and lacks
 *   some commands (COPY, ZUNIONSTORE …). Pass `redisUrl` when fidelity matters.
 * - Connection-state and blocking commands are refused: one backend connection serves every
 *   HTTP request, so SELECT, SUBSCRIBE, BLPOP … would leak into, or stall, other requests.
 * - Values travel as JS strings, so non-UTF-8 binary values do not round-trip byte-exactly.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { Redis as IORedis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { hasBearerToken, listenOnLoopback } from './http-server';

export interface UpstashRedisOptions {
  /** 0 or omitted = a random free port. */
  port?: number;
  token: string;
  /** e.g. redis://127.0.0.1:6379; omitted = ioredis-mock, in memory and private to this stand-in. */
  redisUrl?: string;
  /** Namespace for every key on a real Redis (ignored by the private in-memory backend). */
  keyPrefix?: string;
}

export interface UpstashRedisStandIn {
  url: string;
  close(): Promise<void>;
}

export type RedisReply = string | number | null | RedisReply[];
type Outcome = { result: RedisReply } | { error: string };

interface Backend {
  /** One outcome per command; rejects only when the whole batch fails (e.g. EXECABORT). */
  run(commands: string[][], atomic: boolean): Promise<Outcome[]>;
  close(): Promise<void>;
}

/** A command after stand-in preprocessing: answered here, or sent on (with a reply rewrite). */
type Planned =
  | { kind: 'local'; outcome: Outcome }
  | { kind: 'backend'; command: string[]; rewrite?: (reply: RedisReply) => RedisReply };

const REFUSED_COMMANDS = new Set([
  'auth',
  'blmove',
  'blmpop',
  'blpop',
  'brpop',
  'brpoplpush',
  'bzmpop',
  'bzpopmax',
  'bzpopmin',
  'client',
  'debug',
  'discard',
  'exec',
  'hello',
  'monitor',
  'multi',
  'psubscribe',
  'psync',
  'punsubscribe',
  'quit',
  'replicaof',
  'reset',
  'select',
  'shutdown',
  'slaveof',
  'ssubscribe',
  'subscribe',
  'sunsubscribe',
  'swapdb',
  'sync',
  'unsubscribe',
  'unwatch',
  'wait',
  'watch',
]);

// Deletes in chunks because Lua's unpack() has a stack limit of a few thousand values.
const DELETE_MATCHING_SCRIPT = `local keys = redis.call('keys', ARGV[1])
for i = 1, #keys, 1000 do
  redis.call('del', unpack(keys, i, math.min(i + 999, #keys)))
end
return 'OK'`;
const COUNT_MATCHING_SCRIPT = `return #redis.call('keys', ARGV[1])`;

let mockInstanceCounter = 0;

export async function startUpstashRedis(opts: UpstashRedisOptions): Promise<UpstashRedisStandIn> {
  const keyPrefix = opts.redisUrl ? (opts.keyPrefix ?? '') : '';
  const backend = opts.redisUrl ? await connectRealRedis(opts.redisUrl, keyPrefix) : createMock();
  const isMock = !opts.redisUrl;
  const scripts = new Map<string, string>();

  const rememberScript = (script: string): string => {
    const sha = createHash('sha1').update(script, 'utf8').digest('hex');
    scripts.set(sha, stripShebang(script));
    return sha;
  };

  const planCommand = (command: string[]): Planned => {
    const name = command[0]!.toLowerCase();
    const args = command.slice(1);
    if (REFUSED_COMMANDS.has(name)) {
      return localError(`ERR command '${name}' is not available through the Upstash REST API`);
    }
    switch (name) {
      case 'eval':
      case 'eval_ro': {
        if (args[0] === undefined) break;
        rememberScript(args[0]);
        return { kind: 'backend', command: [name, stripShebang(args[0]), ...args.slice(1)] };
      }
      case 'evalsha':
      case 'evalsha_ro': {
        const script = args[0] === undefined ? undefined : scripts.get(args[0].toLowerCase());
        if (script !== undefined) {
          const evalName = name === 'evalsha' ? 'eval' : 'eval_ro';
          return { kind: 'backend', command: [evalName, script, ...args.slice(1)] };
        }
        // The mock has no script cache of its own; a real Redis might know the hash.
        if (isMock) return localError('NOSCRIPT No matching script. Please use EVAL.');
        break;
      }
      case 'script': {
        const sub = args[0]?.toLowerCase();
        if (sub === 'load' && args[1] !== undefined) {
          return { kind: 'local', outcome: { result: rememberScript(args[1]) } };
        }
        if (sub === 'exists') {
          const found = args.slice(1).map((sha) => (scripts.has(sha.toLowerCase()) ? 1 : 0));
          return { kind: 'local', outcome: { result: found } };
        }
        if (sub === 'flush') {
          scripts.clear();
          return { kind: 'local', outcome: { result: 'OK' } };
        }
        break;
      }
      case 'keys':
        if (keyPrefix && args[0] !== undefined) {
          return {
            kind: 'backend',
            command: ['keys', escapeGlob(keyPrefix) + args[0]],
            rewrite: (reply) => stripPrefix(reply, keyPrefix),
          };
        }
        break;
      case 'scan':
        if (keyPrefix) return planPrefixedScan(args, keyPrefix);
        break;
      case 'dbsize':
        if (keyPrefix) {
          const pattern = `${escapeGlob(keyPrefix)}*`;
          return { kind: 'backend', command: ['eval', COUNT_MATCHING_SCRIPT, '0', pattern] };
        }
        break;
      case 'flushdb':
      case 'flushall':
        if (keyPrefix) {
          const pattern = `${escapeGlob(keyPrefix)}*`;
          return { kind: 'backend', command: ['eval', DELETE_MATCHING_SCRIPT, '0', pattern] };
        }
        break;
    }
    return { kind: 'backend', command: [name, ...args] };
  };

  const execute = async (commands: string[][], atomic: boolean): Promise<Outcome[]> => {
    // Planned in order, so a SCRIPT LOAD earlier in a pipeline serves a later EVALSHA.
    const plans = commands.map(planCommand);
    const toBackend = plans.flatMap((plan) => (plan.kind === 'backend' ? [plan.command] : []));
    const backendOutcomes = toBackend.length > 0 ? await backend.run(toBackend, atomic) : [];
    let next = 0;
    return plans.map((plan) => {
      if (plan.kind === 'local') return plan.outcome;
      const outcome = backendOutcomes[next++]!;
      return 'result' in outcome && plan.rewrite
        ? { result: plan.rewrite(outcome.result) }
        : outcome;
    });
  };

  const app = new Hono();

  app.use('*', async (c, next) => {
    if (!hasBearerToken(c.req.header('authorization'), opts.token)) {
      return c.json({ error: 'Unauthorized' }, 401);
    }
    await next();
    // The client echoes this back for read-your-writes; one backend is always consistent,
    // so handing back what it sent is enough.
    const syncToken = c.req.header('upstash-sync-token');
    if (syncToken) c.header('upstash-sync-token', syncToken);
  });

  const encodeFor = (request: Request) => {
    const base64 = request.headers.get('upstash-encoding')?.toLowerCase() === 'base64';
    return (outcome: Outcome): Outcome =>
      base64 && 'result' in outcome ? { result: toBase64Reply(outcome.result, true) } : outcome;
  };

  app.post('/', async (c) => {
    const parsed = parseCommand(await readJson(c.req.raw));
    if (typeof parsed === 'string') return c.json({ error: parsed }, 400);
    const [outcome] = await execute([parsed], false);
    if (!outcome || 'error' in outcome) return c.json(outcome ?? { error: 'ERR no reply' }, 400);
    return c.json(encodeFor(c.req.raw)(outcome));
  });

  for (const [path, atomic] of [
    ['/pipeline', false],
    ['/multi-exec', true],
  ] as const) {
    app.post(path, async (c) => {
      const parsed = parseCommandList(await readJson(c.req.raw));
      if (typeof parsed === 'string') return c.json({ error: parsed }, 400);
      try {
        const outcomes = await execute(parsed, atomic);
        return c.json(outcomes.map(encodeFor(c.req.raw)));
      } catch (error) {
        return c.json({ error: errorMessage(error) }, 400);
      }
    });
  }

  const server = await listenOnLoopback(app.fetch, opts.port ?? 0);
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await backend.close();
    },
  };
}

async function connectRealRedis(redisUrl: string, keyPrefix: string): Promise<Backend> {
  const redis = new IORedis(redisUrl, {
    keyPrefix: keyPrefix || undefined,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
  });
  // Connect eagerly so a wrong URL fails start-up instead of hanging the first request.
  await redis.connect();
  return {
    async run(commands, atomic) {
      if (commands.length === 1 && !atomic) {
        const [name, ...args] = commands[0]!;
        try {
          return [{ result: toReply(await redis.call(name!, ...args)) }];
        } catch (error) {
          return [{ error: errorMessage(error) }];
        }
      }
      const batch = atomic ? redis.multi() : redis.pipeline();
      for (const [name, ...args] of commands) batch.call(name!, ...args);
      const replies = await batch.exec();
      if (!replies) throw new Error('EXECABORT Transaction discarded');
      return replies.map(([error, reply]) =>
        error ? { error: errorMessage(error) } : { result: toReply(reply) },
      );
    },
    async close() {
      await redis.quit();
    },
  };
}

function createMock(): Backend {
  // ioredis-mock shares data between instances with equal host:port/db; a unique host keeps
  // every stand-in private, like a fresh database.
  mockInstanceCounter += 1;
  const mock = new RedisMock({
    host: `upstash-redis-stand-in-${process.pid}-${mockInstanceCounter}`,
  });
  const knownCommands = new Set(new IORedis({ lazyConnect: true }).getBuiltinCommands());
  const methods = mock as unknown as Record<string, unknown>;

  // ioredis-mock has no generic call(); commands are methods named after the command.
  const dispatch = async (command: string[]): Promise<RedisReply> => {
    const [name, ...args] = upperCaseMockOptions(command);
    const method = methods[name!];
    if (!knownCommands.has(name!) || typeof method !== 'function') {
      throw new Error(`ERR unknown command '${name}'`);
    }
    try {
      return toReply(await (method as (...a: string[]) => Promise<unknown>).apply(mock, args));
    } catch (error) {
      if (error instanceof TypeError && error.message.startsWith('Unsupported command')) {
        throw new Error(`ERR unknown command '${name}' (not implemented by ioredis-mock)`);
      }
      throw error;
    }
  };

  // Every request runs its commands under one lock: with no interleaving, a multi-exec batch
  // is as atomic as MULTI/EXEC on a real server.
  let tail: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };

  return {
    run(commands, atomic) {
      return serialized(async () => {
        if (atomic) {
          // Real Redis rejects the whole transaction when a command cannot even be queued.
          const unknown = commands.find(
            ([name]) => !knownCommands.has(name!) || typeof methods[name!] !== 'function',
          );
          if (unknown) {
            throw new Error(
              `EXECABORT Transaction discarded because of previous errors: unknown command '${unknown[0]}'`,
            );
          }
        }
        const outcomes: Outcome[] = [];
        for (const command of commands) {
          try {
            outcomes.push({ result: await dispatch(command) });
          } catch (error) {
            outcomes.push({ error: errorMessage(error) });
          }
        }
        return outcomes;
      });
    },
    async close() {
      mock.disconnect();
    },
  };
}

const ZADD_OPTIONS = new Set(['NX', 'XX', 'GT', 'LT', 'CH', 'INCR']);

/**
 * ioredis-mock matches option keywords case-sensitively (a lower-case `nx` on SET is silently
 * ignored), while @upstash/redis sends them lower-case. Only positions that hold keywords or
 * numbers are touched, so values and members keep their case.
 */
function upperCaseMockOptions(command: string[]): string[] {
  const upperFrom = (start: number) =>
    command.map((arg, index) => (index >= start ? arg.toUpperCase() : arg));
  switch (command[0]) {
    case 'set':
      return upperFrom(3);
    case 'getex':
      return upperFrom(2);
    case 'expire':
    case 'pexpire':
    case 'expireat':
    case 'pexpireat':
      return upperFrom(3);
    case 'linsert':
      return command.map((arg, index) => (index === 2 ? arg.toUpperCase() : arg));
    case 'zadd': {
      const result = [...command];
      for (let index = 2; index < result.length; index++) {
        const upper = result[index]!.toUpperCase();
        if (!ZADD_OPTIONS.has(upper)) break;
        result[index] = upper;
      }
      return result;
    }
    default:
      return command;
  }
}

function planPrefixedScan(args: string[], keyPrefix: string): Planned {
  const rewritten = [...args];
  const matchAt = rewritten.findIndex((arg) => arg.toLowerCase() === 'match');
  if (matchAt >= 0 && rewritten[matchAt + 1] !== undefined) {
    rewritten[matchAt + 1] = escapeGlob(keyPrefix) + rewritten[matchAt + 1];
  } else {
    rewritten.push('MATCH', `${escapeGlob(keyPrefix)}*`);
  }
  return {
    kind: 'backend',
    command: ['scan', ...rewritten],
    rewrite: (reply) =>
      Array.isArray(reply) && reply.length === 2
        ? [reply[0]!, stripPrefix(reply[1]!, keyPrefix)]
        : reply,
  };
}

function stripPrefix(reply: RedisReply, keyPrefix: string): RedisReply {
  if (!Array.isArray(reply)) return reply;
  return reply.map((key) =>
    typeof key === 'string' && key.startsWith(keyPrefix) ? key.slice(keyPrefix.length) : key,
  );
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/** Replaces a shebang line with an empty one, so Lua error line numbers still match. */
function stripShebang(script: string): string {
  return script.startsWith('#!') ? script.replace(/^#![^\n]*/, '') : script;
}

function localError(error: string): Planned {
  return { kind: 'local', outcome: { error } };
}

/** Normalizes whatever ioredis / ioredis-mock resolve with into the JSON Upstash returns. */
function toReply(value: unknown): RedisReply {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  // Redis converts Lua true to 1 and false to nil; ioredis-mock hands the Lua booleans through.
  if (typeof value === 'boolean') return value ? 1 : null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (Array.isArray(value)) return value.map(toReply);
  if (value instanceof Error) return value.message;
  // ioredis turns HGETALL into an object; Upstash (and the client's deserializer) want the
  // flat field/value array Redis itself sends.
  if (typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => [key, toReply(item)]);
  }
  return String(value);
}

export function toBase64Reply(reply: RedisReply, topLevel: boolean): RedisReply {
  if (typeof reply === 'string') {
    return topLevel && reply === 'OK' ? reply : Buffer.from(reply, 'utf8').toString('base64');
  }
  if (Array.isArray(reply)) return reply.map((item) => toBase64Reply(item, false));
  return reply;
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return JSON.parse(await request.text());
  } catch {
    return undefined;
  }
}

/** Returns the command as strings (how Redis sees every argument) or an error message. */
function parseCommand(body: unknown): string[] | string {
  if (!Array.isArray(body) || body.length === 0 || typeof body[0] !== 'string' || !body[0]) {
    return 'ERR failed to parse command: expected a JSON array like ["get","key"]';
  }
  const command: string[] = [];
  for (const arg of body) {
    if (typeof arg === 'string') command.push(arg);
    else if (typeof arg === 'number' || typeof arg === 'boolean') command.push(String(arg));
    else return `ERR failed to parse command: unsupported argument ${JSON.stringify(arg)}`;
  }
  return command;
}

function parseCommandList(body: unknown): string[][] | string {
  if (!Array.isArray(body) || body.length === 0) {
    return 'ERR failed to parse pipeline: expected a non-empty JSON array of commands';
  }
  const commands: string[][] = [];
  for (const item of body) {
    const command = parseCommand(item);
    if (typeof command === 'string') return command;
    commands.push(command);
  }
  return commands;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
