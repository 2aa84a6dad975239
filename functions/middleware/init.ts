import { Client as QStashClient } from '@upstash/qstash';
import { Redis } from '@upstash/redis/cloudflare';
import { createMiddleware } from 'hono/factory';
import { connect } from '../../db/client';
import { type Clock, type HonoEnv, systemClock } from '../context';
import { type Env, EnvironmentError, parseEnv } from '../env';
import { ApiError } from '../errors';
import { createLogger } from '../lib/logger';

/** Bindings are fixed for an isolate's life: parse them once per bindings object, not per request. */
const parsedEnvs = new WeakMap<object, Env>();

function envFor(bindings: Record<string, unknown>): Env {
  let env = parsedEnvs.get(bindings);
  if (!env) {
    env = parseEnv(bindings);
    parsedEnvs.set(bindings, env);
  }
  return env;
}

/**
 * Builds this request's services and puts them on `c.var`. The Postgres client is per request (a
 * Worker must not reuse sockets across requests; Hyperdrive pools for us) and is closed after the
 * response with `waitUntil`.
 */
export function init(options: { clock?: Clock } = {}) {
  return createMiddleware<HonoEnv>(async function init(c, next) {
    const requestId = c.get('requestId');
    let env: Env;
    try {
      env = envFor(c.env ?? {});
    } catch (err) {
      if (err instanceof EnvironmentError) {
        console.error(JSON.stringify({ level: 'error', msg: err.message, requestId }));
        throw new ApiError('BAD_ENVIRONMENT', err.message);
      }
      throw err;
    }
    const logger = createLogger(
      { requestId, version: env.APP_VERSION, path: c.req.path },
      env.LOG_LEVEL,
    );
    const connectionString = env.DATABASE_URL ?? env.HYPERDRIVE?.connectionString ?? '';
    const { db, close } = connect(connectionString);
    c.set('env', env);
    c.set('logger', logger);
    c.set('services', {
      db,
      logger,
      clock: options.clock ?? systemClock,
      redis: new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
      qstash: new QStashClient({ token: env.QSTASH_TOKEN, baseUrl: env.QSTASH_URL }),
    });
    try {
      await next();
    } finally {
      const closing = close().catch(() => {});
      try {
        c.executionCtx.waitUntil(closing);
      } catch {
        // No execution context (plain app.request without one): close in the background.
      }
    }
  });
}
