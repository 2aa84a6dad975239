import type { Redis } from '@upstash/redis/cloudflare';

/**
 * The sliding-window approximation @upstash/ratelimit uses (a counter per fixed window, the
 * previous window's count weighted by how much of it still overlaps), as one Lua script so that
 * concurrent Workers count atomically. Unlike @upstash/ratelimit, whose algorithms read
 * `Date.now()`, the time is the caller's: the app's injected clock, so tests can drive it.
 *
 * KEYS[1] current window's counter, KEYS[2] previous window's; ARGV: limit, now (ms), window (ms),
 * key lifetime (ms). Returns 1 when the request is admitted (and counted), 0 when it is not.
 */
const SCRIPT = `
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local overlap = 1 - (now % window) / window
if math.floor(previous * overlap) + current >= limit then
  return 0
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return 1
`;

/**
 * Keys expire on Redis's own clock, not the caller's; a minute beyond the two windows a count is
 * read in keeps a clock that differs from Redis's (a test's frozen one) from losing counts early.
 */
const KEY_SLACK_MS = 60_000;

export type SlidingWindowResult = {
  allowed: boolean;
  /** Unix ms when the current window ends, the earliest moment a refused request may pass. */
  reset: number;
};

export async function slidingWindowLimit(
  redis: Redis,
  input: { key: string; limit: number; windowMs: number; now: Date },
): Promise<SlidingWindowResult> {
  const now = input.now.getTime();
  const window = Math.floor(now / input.windowMs);
  const admitted = await redis.eval<[number, number, number, number], number>(
    SCRIPT,
    [`${input.key}:${window}`, `${input.key}:${window - 1}`],
    [input.limit, now, input.windowMs, input.windowMs * 2 + KEY_SLACK_MS],
  );
  return { allowed: admitted === 1, reset: (window + 1) * input.windowMs };
}
