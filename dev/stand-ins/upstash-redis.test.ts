import { createHash, randomUUID } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRedis, type UpstashRedisStandIn } from './upstash-redis';

const TOKEN = 'upstash-redis-stand-in-test-token';
const REAL_REDIS_URL = 'redis://127.0.0.1:6379';

async function isRedisReachable(url: string): Promise<boolean> {
  const probe = new IORedis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const realRedisReachable = await isRedisReachable(REAL_REDIS_URL);
const requireRealRedis = process.env.CI === 'true';
if (!realRedisReachable && !requireRealRedis) {
  console.warn(
    `\n!!! ${REAL_REDIS_URL} is unreachable: SKIPPING the Upstash Redis stand-in suite against ` +
      'a real Redis (only the in-memory backend is tested). Under CI=true this fails instead.\n',
  );
}

describe('real Redis availability', () => {
  it.runIf(requireRealRedis)('is reachable (required under CI=true)', () => {
    expect(realRedisReachable, `${REAL_REDIS_URL} must be reachable under CI`).toBe(true);
  });
});

const clientVariants = [
  { name: 'default client (auto-pipelining, base64 responses)', config: {} },
  { name: 'enableAutoPipelining: false', config: { enableAutoPipelining: false } },
  { name: 'responseEncoding: false', config: { responseEncoding: false as const } },
];

const backends = [
  { name: 'in-memory backend (ioredis-mock)', redisUrl: undefined, run: true },
  {
    name: `real Redis backend (${REAL_REDIS_URL})`,
    redisUrl: REAL_REDIS_URL,
    run: realRedisReachable,
  },
];

for (const backend of backends) {
  describe.runIf(backend.run)(backend.name, () => {
    // A random prefix keeps this run's keys apart from anything else on a shared Redis.
    const keyPrefix = `test:upstash-redis-stand-in:${randomUUID()}:`;
    let standIn: UpstashRedisStandIn;

    beforeAll(async () => {
      standIn = await startUpstashRedis({ token: TOKEN, redisUrl: backend.redisUrl, keyPrefix });
    });

    afterAll(async () => {
      await standIn?.close();
      if (backend.redisUrl) {
        const cleaner = new IORedis(backend.redisUrl);
        const leftovers = await cleaner.keys(`${keyPrefix}*`);
        if (leftovers.length > 0) await cleaner.del(...leftovers);
        cleaner.disconnect();
      }
    });

    for (const variant of clientVariants) {
      describe(variant.name, () => {
        const ns = `${variant.name.replace(/\W+/g, '-')}:`;
        const client = () => new Redis({ url: standIn.url, token: TOKEN, ...variant.config });

        it('round-trips JSON values, strings with non-ASCII text and numbers through set/get', async () => {
          const redis = client();
          const value = { a: 1, nested: { list: [1, 'two'] }, text: 'héllo ✓ 日本' };
          expect(await redis.set(`${ns}json`, value)).toBe('OK');
          expect(await redis.get(`${ns}json`)).toEqual(value);
          await redis.set(`${ns}text`, 'plain ✓');
          expect(await redis.get(`${ns}text`)).toBe('plain ✓');
          await redis.set(`${ns}number`, 42);
          expect(await redis.get(`${ns}number`)).toBe(42);
          expect(await redis.get(`${ns}missing`)).toBeNull();
        });

        it('SET NX EX answers OK, then null, and sets a TTL', async () => {
          const redis = client();
          expect(await redis.set(`${ns}lock`, 'first', { nx: true, ex: 60 })).toBe('OK');
          expect(await redis.set(`${ns}lock`, 'second', { nx: true, ex: 60 })).toBeNull();
          expect(await redis.get(`${ns}lock`)).toBe('first');
          const ttl = await redis.ttl(`${ns}lock`);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(60);
        });

        it('incr, expire/ttl, del', async () => {
          const redis = client();
          expect(await redis.incr(`${ns}counter`)).toBe(1);
          expect(await redis.incr(`${ns}counter`)).toBe(2);
          expect(await redis.incrby(`${ns}counter`, 5)).toBe(7);
          expect(await redis.ttl(`${ns}counter`)).toBe(-1);
          expect(await redis.expire(`${ns}counter`, 100)).toBe(1);
          const ttl = await redis.ttl(`${ns}counter`);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(100);
          expect(await redis.del(`${ns}counter`, `${ns}never-set`)).toBe(1);
          expect(await redis.get(`${ns}counter`)).toBeNull();
        });

        it('mget keeps positions and nulls', async () => {
          const redis = client();
          await redis.set(`${ns}m1`, 'one');
          await redis.set(`${ns}m2`, { two: 2 });
          expect(await redis.mget(`${ns}m1`, `${ns}m-missing`, `${ns}m2`)).toEqual([
            'one',
            null,
            { two: 2 },
          ]);
        });

        it('hset/hgetall return an object (flat field/value array on the wire)', async () => {
          const redis = client();
          expect(await redis.hset(`${ns}hash`, { name: 'Ada', age: 36, tag: 'ünï' })).toBe(3);
          expect(await redis.hgetall(`${ns}hash`)).toEqual({ name: 'Ada', age: 36, tag: 'ünï' });
          expect(await redis.hgetall(`${ns}hash-missing`)).toBeNull();
        });

        it('pipeline() returns one result per command', async () => {
          const redis = client();
          const results = await redis
            .pipeline()
            .set(`${ns}p`, 'v')
            .incr(`${ns}p-count`)
            .incr(`${ns}p-count`)
            .get(`${ns}p`)
            .exec();
          expect(results).toEqual(['OK', 1, 2, 'v']);
        });

        it('multi() runs as a transaction and returns every result', async () => {
          const redis = client();
          const results = await redis
            .multi()
            .set(`${ns}tx`, { ok: true })
            .incr(`${ns}tx-count`)
            .get(`${ns}tx`)
            .exec();
          expect(results).toEqual(['OK', 1, { ok: true }]);
        });

        it('a command error rejects with the Redis message', async () => {
          const redis = client();
          await expect(redis.eval('this is not lua', [], [])).rejects.toThrow(/ERR|lua|symbol/i);
        });

        it('KEYS sees exactly this client’s keys, without any backend prefix', async () => {
          const redis = client();
          await redis.set(`${ns}listed:a`, 1);
          await redis.set(`${ns}listed:b`, 2);
          expect((await redis.keys(`${ns}listed:*`)).sort()).toEqual([
            `${ns}listed:a`,
            `${ns}listed:b`,
          ]);
        });

        it('SCRIPT LOAD hashes the script as sent and EVALSHA runs it (shebang included)', async () => {
          const redis = client();
          const script = `#!lua flags=allow-key-locking
redis.call('set', KEYS[1], ARGV[1])
return {redis.call('get', KEYS[1]), 7, 'OK'}`;
          const sha = await redis.scriptLoad(script);
          expect(sha).toBe(createHash('sha1').update(script).digest('hex'));
          expect(await redis.evalsha(sha, [`${ns}k`], ['arg'])).toEqual(['arg', 7, 'OK']);
          expect(await redis.get(`${ns}k`)).toBe('arg');
          await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
        });

        it('@upstash/ratelimit slidingWindow(3, "10 s") allows 3 requests, then denies', async () => {
          // A request straddling a window boundary is weighted differently; start clear of one.
          const intoWindow = Date.now() % 10_000;
          if (intoWindow > 9_000) await new Promise((r) => setTimeout(r, 10_050 - intoWindow));
          const ratelimit = new Ratelimit({
            redis: client(),
            limiter: Ratelimit.slidingWindow(3, '10 s'),
            prefix: `${ns}ratelimit`,
            ephemeralCache: false,
          });
          const outcomes = [];
          for (let i = 0; i < 4; i++) outcomes.push((await ratelimit.limit('user-1')).success);
          expect(outcomes).toEqual([true, true, true, false]);
          expect((await ratelimit.limit('user-2')).success).toBe(true);
        });

        it('a wrong token makes the client throw', async () => {
          const redis = new Redis({ url: standIn.url, token: 'wrong', ...variant.config });
          await expect(redis.get(`${ns}json`)).rejects.toThrow(/Unauthorized/);
        });
      });
    }

    describe('raw wire protocol', () => {
      const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${standIn.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, ...headers },
          body: JSON.stringify(body),
        });

      it('answers 401 with a JSON error without the bearer token', async () => {
        const response = await fetch(`${standIn.url}/`, {
          method: 'POST',
          body: '["get","x"]',
        });
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual({ error: 'Unauthorized' });
      });

      it('answers 400 {error} for a failing single command and for malformed bodies', async () => {
        const failing = await post('/', ['eval', 'not lua', 0]);
        expect(failing.status).toBe(400);
        expect(await failing.json()).toEqual({ error: expect.any(String) });
        const malformed = await post('/', { not: 'a command' });
        expect(malformed.status).toBe(400);
        expect(await malformed.json()).toEqual({ error: expect.stringMatching(/^ERR/) });
      });

      it('base64-encodes strings (nested too) but not OK, integers or nulls', async () => {
        const encoding = { 'upstash-encoding': 'base64' };
        expect(await (await post('/', ['set', 'raw:k', 'vé'], encoding)).json()).toEqual({
          result: 'OK',
        });
        expect(await (await post('/', ['get', 'raw:k'], encoding)).json()).toEqual({
          result: Buffer.from('vé').toString('base64'),
        });
        const nested = await post(
          '/',
          ['eval', "return {'a', 1, false, {'OK', 'b'}}", 0],
          encoding,
        );
        const b64 = (text: string) => Buffer.from(text).toString('base64');
        expect(await nested.json()).toEqual({ result: [b64('a'), 1, null, [b64('OK'), b64('b')]] });
        const plain = await post('/', ['get', 'raw:k']);
        expect(await plain.json()).toEqual({ result: 'vé' });
      });

      it('pipeline reports per-command errors in place; multi-exec too', async () => {
        for (const path of ['/pipeline', '/multi-exec']) {
          const response = await post(path, [
            ['set', `raw:${path}`, 1],
            ['eval', 'not lua', 0],
            ['incr', `raw:${path}`],
          ]);
          expect(response.status).toBe(200);
          const body = await response.json();
          expect(body).toEqual([{ result: 'OK' }, { error: expect.any(String) }, { result: 2 }]);
        }
      });

      it('multi-exec fails as a whole when a command cannot be queued', async () => {
        const response = await post('/multi-exec', [
          ['set', 'raw:aborted', 1],
          ['no-such-command'],
        ]);
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual({ error: expect.stringMatching(/EXECABORT/) });
        expect(await (await post('/', ['get', 'raw:aborted'])).json()).toEqual({ result: null });
      });

      it('refuses connection-state commands that would leak into other requests', async () => {
        const response = await post('/', ['select', 1]);
        expect(response.status).toBe(400);
      });

      it('echoes upstash-sync-token', async () => {
        const response = await post('/', ['ping'], { 'upstash-sync-token': 'sync-1' });
        expect(response.headers.get('upstash-sync-token')).toBe('sync-1');
      });
    });
  });
}
