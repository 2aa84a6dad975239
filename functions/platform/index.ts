import { OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import {
  asPlatformOperator,
  NotAPlatformOperatorError,
  type OperatorClaims,
  type Tx,
} from '../../db/client';
import { jsonWithoutNul } from '../admin/route';
import { validationHook } from '../app';
import type { HonoEnv } from '../context';
import { ApiError } from '../errors';
import { verifiedBearer } from '../middleware/operator-auth';
import { registerPlatformWebhookEvents } from './webhook-events';

/**
 * The platform API (`/platform/*`): for the people who run Switchboard, not for any business.
 * The same Supabase sign-in as operators, but the role is its own (db/schema/platform.ts): being a
 * business's owner grants nothing here, and a platform operator reaches no business's chats.
 */
export function platformApp() {
  const platform = new OpenAPIHono<HonoEnv>({ defaultHook: validationHook });
  platform.use('*', platformAuth);
  platform.use('*', jsonWithoutNul);
  registerPlatformWebhookEvents(platform);
  return platform;
}

const NOT_A_PLATFORM_OPERATOR = 'This account does not run the platform.';

/**
 * Verifies the token as for operators (401s in the envelope). Whether the user is a platform
 * operator is checked by the statement that binds them for the route's work
 * (`asCurrentPlatformOperator`), so it costs no query of its own.
 */
const platformAuth = createMiddleware<HonoEnv>(async function platformAuth(c, next) {
  const payload = await verifiedBearer(c);
  c.set('platformOperator', { userId: payload.sub, claims: payload as OperatorClaims });
  c.set('logger', c.var.logger.child({ userId: payload.sub, platform: true }));
  await next();
});

/** Runs db work as the current platform operator under RLS; 403 if they are not one. */
export function asCurrentPlatformOperator<T>(
  c: { var: HonoEnv['Variables'] },
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const { platformOperator, services } = c.var;
  return asPlatformOperator(services.db, platformOperator.claims, fn).catch((err: unknown) => {
    throw err instanceof NotAPlatformOperatorError
      ? new ApiError('FORBIDDEN', NOT_A_PLATFORM_OPERATOR)
      : err;
  });
}
