import { createMiddleware } from 'hono/factory';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import {
  asOperator,
  type OperatorClaims,
  operatorMemberships,
  type TenantContext,
} from '../../db/client';
import type { HonoEnv, Operator } from '../context';
import type { Env } from '../env';
import { ApiError } from '../errors';

/**
 * JWKS per Supabase project, kept for the isolate's life: jose caches keys and refetches on an
 * unknown `kid`, so rotating keys needs no redeploy.
 */
const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksFor(env: Env) {
  const url = `${env.SUPABASE_URL}/auth/v1/.well-known/jwks.json`;
  let jwks = jwksByUrl.get(url);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(url));
    jwksByUrl.set(url, jwks);
  }
  return jwks;
}

/** Verifies a Supabase access token: signature (HS256 secret or project JWKS), issuer, audience, expiry. */
export async function verifyOperatorToken(token: string, env: Env, now: Date): Promise<JWTPayload> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new ApiError('UNAUTHORIZED', 'The access token is malformed.');
  }
  const options = {
    issuer: `${env.SUPABASE_URL}/auth/v1`,
    audience: 'authenticated',
    currentDate: now,
  };
  try {
    if (alg === 'HS256') {
      if (!env.SUPABASE_JWT_SECRET)
        throw new ApiError('UNAUTHORIZED', 'HS256 tokens are not accepted here.');
      const key = new TextEncoder().encode(env.SUPABASE_JWT_SECRET);
      return (await jwtVerify(token, key, { ...options, algorithms: ['HS256'] })).payload;
    }
    // Only asymmetric algorithms go to the JWKS; `none` and anything else is refused by jose.
    return (
      await jwtVerify(token, jwksFor(env), { ...options, algorithms: ['RS256', 'ES256', 'EdDSA'] })
    ).payload;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof joseErrors.JWTExpired)
      throw new ApiError('UNAUTHORIZED', 'The access token has expired; sign in again.');
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw new ApiError('UNAUTHORIZED', `The access token's ${err.claim} claim is not accepted.`);
    throw new ApiError('UNAUTHORIZED', 'The access token could not be verified.');
  }
}

/**
 * `/admin/*` guard: a verified Supabase operator who is a member of the tenant the request acts
 * on. Membership is read under the operator's own binding (RLS applies to it), in one statement
 * of its own: the route's transaction follows.
 */
export const operatorAuth = createMiddleware<HonoEnv>(async function operatorAuth(c, next) {
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1])
    throw new ApiError(
      'UNAUTHORIZED',
      'Sign in: an Authorization: Bearer <access token> header is required.',
    );
  const { services, env } = c.var;
  const payload = await verifyOperatorToken(match[1], env, services.clock.now());
  if (payload.role !== 'authenticated' || typeof payload.sub !== 'string') {
    throw new ApiError('FORBIDDEN', 'Only signed-in operators may use the operator API.');
  }
  const claims = { ...payload, sub: payload.sub, role: 'authenticated' } as OperatorClaims;
  const memberships = await operatorMemberships(services.db, claims);
  if (memberships.length === 0)
    throw new ApiError('FORBIDDEN', 'This account is not a member of any business.');
  const wanted = c.req.header('x-tenant-id');
  const active = wanted ? memberships.find((m) => m.tenantId === wanted) : memberships[0];
  if (!active)
    throw new ApiError('FORBIDDEN', 'You are not a member of the business named in X-Tenant-Id.');
  const operator: Operator = {
    userId: payload.sub,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    claims,
    tenantId: active.tenantId,
    role: active.role,
    memberships,
  };
  c.set('operator', operator);
  c.set('logger', c.var.logger.child({ tenantId: active.tenantId, userId: payload.sub }));
  await next();
});

/**
 * Runs db work for the current operator under RLS: the tenant context every db/ function takes,
 * plus who the operator is (for "decided by" and "locked by" columns).
 */
export function asCurrentOperator<T>(
  c: { var: HonoEnv['Variables'] },
  fn: (scope: { ctx: TenantContext; userId: string }) => Promise<T>,
): Promise<T> {
  const { operator, services } = c.var;
  return asOperator(services.db, operator.claims, (tx) =>
    fn({ ctx: { tx, tenantId: operator.tenantId }, userId: operator.userId }),
  );
}

/** Owners and admins only (settings, replays, team). */
export function requireRole(...roles: Operator['role'][]) {
  return createMiddleware<HonoEnv>(async function requireRole(c, next) {
    if (!roles.includes(c.var.operator.role)) {
      throw new ApiError('FORBIDDEN', `This action needs the ${roles.join(' or ')} role.`);
    }
    await next();
  });
}
