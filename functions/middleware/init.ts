import { createMiddleware } from 'hono/factory';
import type { Clock, HonoEnv } from '../context';
import { type Env, EnvironmentError, parseEnv } from '../env';
import { ApiError } from '../errors';
import { createServices } from '../services';

/** Bindings are fixed for an isolate's life: parse them once per bindings object, not per request. */
const parsedEnvs = new WeakMap<object, Env>();

export function envFor(bindings: Record<string, unknown>): Env {
  let env = parsedEnvs.get(bindings);
  if (!env) {
    env = parseEnv(bindings);
    parsedEnvs.set(bindings, env);
  }
  return env;
}

/**
 * Validates configuration and puts this request's services on `c.var`; the database client is
 * closed after the response through `waitUntil`.
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
    const { services, close } = createServices(env, {
      clock: options.clock,
      logFields: { requestId, path: c.req.path },
    });
    c.set('env', env);
    c.set('logger', services.logger);
    c.set('services', services);
    const started = Date.now();
    try {
      await next();
    } finally {
      // One line per request; later middleware may have enriched the logger (tenant, user).
      c.var.logger.info('request', {
        method: c.req.method,
        status: c.res.status,
        durationMs: Date.now() - started,
      });
      const closing = close().catch(() => {});
      try {
        c.executionCtx.waitUntil(closing);
      } catch {
        // No execution context (plain app.request without one): it closes in the background.
      }
    }
  });
}
