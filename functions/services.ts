import { Client as QStashClient } from '@upstash/qstash';
import { Redis } from '@upstash/redis/cloudflare';
import { connect } from '../db/client';
import { type Clock, type Services, systemClock } from './context';
import type { Env } from './env';
import { createLogger, type LogFields } from './lib/logger';

/**
 * Builds the services one unit of work uses (a request, a cron tick). The Postgres client is per
 * unit (a Worker must not reuse sockets across requests; Hyperdrive pools for us): call `close`
 * when done, through `waitUntil`.
 */
export function createServices(
  env: Env,
  options: { clock?: Clock; logFields?: LogFields } = {},
): { services: Services; close: () => Promise<void> } {
  const logger = createLogger({ version: env.APP_VERSION, ...options.logFields }, env.LOG_LEVEL);
  const { db, close } = env.DATABASE_POOL
    ? { db: env.DATABASE_POOL.db, close: async () => {} }
    : connect(env.DATABASE_URL ?? env.HYPERDRIVE?.connectionString ?? '');
  return {
    services: {
      db,
      logger,
      clock: options.clock ?? systemClock,
      // Redis only accelerates (dedupe fast path, rate limits): when it is down, fail fast and let
      // the database decide, instead of the client's default five retries (~4 s per call).
      redis: new Redis({
        url: env.UPSTASH_REDIS_REST_URL,
        token: env.UPSTASH_REDIS_REST_TOKEN,
        retry: false,
      }),
      qstash: new QStashClient({ token: env.QSTASH_TOKEN, baseUrl: env.QSTASH_URL }),
    },
    close,
  };
}
