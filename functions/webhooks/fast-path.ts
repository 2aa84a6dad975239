import type { Redis } from '@upstash/redis/cloudflare';
import { type Logger, safeErrorFields } from '../lib/logger';

/**
 * The Redis fast path in front of the database for webhook dedupe. Redis only ever *remembers*
 * what the database already committed (keys are written after commit), so a Redis hit can skip
 * work but never a message that is not stored. Redis being slow or down changes nothing: every
 * call is bounded and failures are logged and treated as "not seen", leaving the decision to the
 * unique keys in Postgres.
 */

/** Meta retries a webhook for up to 7 days; remember a little longer. */
const TTL_SECONDS = 8 * 24 * 60 * 60;
/** The client retries on its own for seconds; Meta wants an answer faster than that. */
const TIMEOUT_MS = 750;

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
  });
  // The losing request keeps running in the background; its outcome no longer matters.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function eventKey(eventId: string): string {
  return `sb:webhook:${eventId}`;
}

export function itemKey(channel: string, accountExternalId: string, dedupeKey: string): string {
  return `sb:inbound:${channel}:${accountExternalId}:${dedupeKey}`;
}

/** Which of `keys` Redis has seen (committed before); an empty set when Redis cannot answer. */
export async function seenKeys(redis: Redis, keys: string[], logger: Logger): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  try {
    const seen = new Set<string>();
    for (let i = 0; i < keys.length; i += 100) {
      const batch = keys.slice(i, i + 100);
      const values = await bounded(redis.mget<Array<unknown>>(...batch), 'redis mget');
      batch.forEach((key, j) => {
        if (values[j] !== null && values[j] !== undefined) seen.add(key);
      });
    }
    return seen;
  } catch (err) {
    logger.warn('redis fast path unavailable; the database decides', {
      ...safeErrorFields(err),
    });
    return new Set();
  }
}

/** Remembers committed keys. Best effort: a failure only costs the fast path. */
export async function rememberKeys(redis: Redis, keys: string[], logger: Logger): Promise<void> {
  if (keys.length === 0) return;
  try {
    for (let i = 0; i < keys.length; i += 100) {
      const pipeline = redis.pipeline();
      for (const key of keys.slice(i, i + 100)) pipeline.set(key, 1, { ex: TTL_SECONDS });
      await bounded(pipeline.exec(), 'redis pipeline');
    }
  } catch (err) {
    logger.warn('could not remember webhook keys in redis', {
      ...safeErrorFields(err),
    });
  }
}
