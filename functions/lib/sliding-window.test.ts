import { Redis } from '@upstash/redis/cloudflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRedis, type UpstashRedisStandIn } from '../../dev/stand-ins/upstash-redis';
import { slidingWindowLimit } from './sliding-window';

const TOKEN = 'sliding-window-test-token';

describe('slidingWindowLimit over the Upstash Redis stand-in', () => {
  let standIn: UpstashRedisStandIn;
  let redis: Redis;
  beforeAll(async () => {
    standIn = await startUpstashRedis({ token: TOKEN });
    redis = new Redis({ url: standIn.url, token: TOKEN });
  });
  afterAll(() => standIn.close());

  /** Half-way through a window far from today: the real clock cannot be what decides. */
  const start = Date.UTC(2031, 0, 1, 12, 0, 0, 500);
  const at = (key: string, ms: number, limit = 2) =>
    slidingWindowLimit(redis, { key, limit, windowMs: 1_000, now: new Date(start + ms) });

  it('admits `limit` requests in a window, refuses the next until the window ends', async () => {
    const key = `w:${crypto.randomUUID()}`;
    expect((await at(key, 0)).allowed).toBe(true);
    expect((await at(key, 100)).allowed).toBe(true);
    const refused = await at(key, 200);
    expect(refused).toEqual({ allowed: false, reset: start - 500 + 1_000 });
  });

  it("counts on the caller's clock: the next window, by the caller's time, admits again", async () => {
    const key = `w:${crypto.randomUUID()}`;
    expect((await at(key, 0, 1)).allowed).toBe(true);
    expect((await at(key, 0, 1)).allowed).toBe(false);
    // 1 s later by the caller's clock (milliseconds later by the wall clock): the previous
    // window's one request now weighs floor(1 × 0.5) = 0.
    expect((await at(key, 1_000, 1)).allowed).toBe(true);
    expect((await at(key, 1_000, 1)).allowed).toBe(false);
  });

  it("weighs the previous window by how much of it still overlaps (Upstash's approximation)", async () => {
    const key = `w:${crypto.randomUUID()}`;
    const windowStart = -500;
    for (let i = 0; i < 4; i++) expect((await at(key, windowStart + i, 4)).allowed).toBe(true);
    // 25 % into the next window: floor(4 × 0.75) = 3 of the previous window's still count.
    expect((await at(key, windowStart + 1_250, 4)).allowed).toBe(true);
    expect((await at(key, windowStart + 1_250, 4)).allowed).toBe(false);
  });

  it('admits exactly `limit` of many concurrent requests (one atomic script per request)', async () => {
    const key = `w:${crypto.randomUUID()}`;
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => at(key, 0, 5)));
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(5);
  });

  it('keeps separate keys apart', async () => {
    const a = `w:${crypto.randomUUID()}`;
    const b = `w:${crypto.randomUUID()}`;
    expect((await at(a, 0, 1)).allowed).toBe(true);
    expect((await at(b, 0, 1)).allowed).toBe(true);
    expect((await at(a, 0, 1)).allowed).toBe(false);
  });
});
