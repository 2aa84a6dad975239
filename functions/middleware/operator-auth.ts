import { createMiddleware } from 'hono/factory';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import {
  asMember,
  type Membership,
  NotAMemberError,
  type OperatorClaims,
  operatorMemberships,
  type Pipelined,
  readAsMember,
  type TenantContext,
  type Tx,
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A verified operator token: the claims the API relies on are present and well formed. */
export type OperatorTokenPayload = JWTPayload & { sub: string; exp: number; role: 'authenticated' };

/**
 * Verifies a Supabase access token: signature (HS256 secret or project JWKS), issuer, audience,
 * expiry, and the claims every access token Supabase issues carries: `exp` (a token without one
 * would never expire), `sub` a user id (it is cast to uuid in every query, so anything else
 * would fail there as a 500) and `role` authenticated (the anon and service keys are JWTs too).
 * Every refusal is a 401 in the envelope.
 */
export async function verifyOperatorToken(
  token: string,
  env: Env,
  now: Date,
): Promise<OperatorTokenPayload> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new ApiError('UNAUTHORIZED', 'The access token is malformed.');
  }
  const options = {
    issuer: `${env.SUPABASE_URL}/auth/v1`,
    audience: 'authenticated',
    requiredClaims: ['exp', 'sub', 'iss', 'aud'],
    currentDate: now,
  };
  let payload: JWTPayload;
  try {
    if (alg === 'HS256') {
      if (!env.SUPABASE_JWT_SECRET)
        throw new ApiError('UNAUTHORIZED', 'HS256 tokens are not accepted here.');
      const key = new TextEncoder().encode(env.SUPABASE_JWT_SECRET);
      payload = (await jwtVerify(token, key, { ...options, algorithms: ['HS256'] })).payload;
    } else {
      // Only asymmetric algorithms go to the JWKS; `none` and anything else is refused by jose.
      payload = (
        await jwtVerify(token, jwksFor(env), {
          ...options,
          algorithms: ['RS256', 'ES256', 'EdDSA'],
        })
      ).payload;
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof joseErrors.JWTExpired)
      throw new ApiError('UNAUTHORIZED', 'The access token has expired; sign in again.');
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw new ApiError('UNAUTHORIZED', `The access token's ${err.claim} claim is not accepted.`);
    throw new ApiError('UNAUTHORIZED', 'The access token could not be verified.');
  }
  if (typeof payload.sub !== 'string' || !UUID.test(payload.sub))
    throw new ApiError('UNAUTHORIZED', "The access token's sub claim is not a user id.");
  if (payload.role !== 'authenticated')
    throw new ApiError('UNAUTHORIZED', 'Only signed-in operators may use the operator API.');
  return payload as OperatorTokenPayload;
}

/**
 * The request's `Authorization: Bearer <token>`, verified (`verifyOperatorToken`): operators and
 * platform operators sign in the same way. 401 in the envelope when it is missing or refused.
 */
export async function verifiedBearer(c: {
  req: { header: (name: string) => string | undefined };
  var: HonoEnv['Variables'];
}): Promise<OperatorTokenPayload> {
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
  if (!match?.[1])
    throw new ApiError(
      'UNAUTHORIZED',
      'Sign in: an Authorization: Bearer <access token> header is required.',
    );
  return verifyOperatorToken(match[1], c.var.env, c.var.services.clock.now());
}

const NOT_A_MEMBER = 'You are not a member of the business named in X-Tenant-Id.';

/**
 * `/admin/*` guard: a verified Supabase operator, acting on one business. With X-Tenant-Id, that
 * business; membership in it is checked by the very statement that binds the operator for the
 * route's work (`asCurrentOperator`, `readAsCurrentOperator`), so a read costs no membership
 * query of its own. Without it, the operator's memberships are read here to pick the first.
 */
export const operatorAuth = createMiddleware<HonoEnv>(async function operatorAuth(c, next) {
  const payload = await verifiedBearer(c);
  const claims = payload as OperatorClaims;
  const wanted = c.req.header('x-tenant-id');
  if (wanted !== undefined && !UUID.test(wanted)) throw new ApiError('FORBIDDEN', NOT_A_MEMBER);
  const operator: Operator = {
    userId: payload.sub,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    claims,
    tenantId: wanted ?? (await firstMembership(c, claims)).tenantId,
  };
  c.set('operator', operator);
  c.set('logger', c.var.logger.child({ tenantId: operator.tenantId, userId: payload.sub }));
  await next();
});

async function firstMembership(c: { var: HonoEnv['Variables'] }, claims: OperatorClaims) {
  const memberships = await operatorMemberships(c.var.services.db, claims);
  c.var.memberships = memberships;
  const [first] = memberships;
  if (!first) throw new ApiError('FORBIDDEN', 'This account is not a member of any business.');
  return first;
}

/**
 * The operator's memberships and their role in the business this request acts on, for routes
 * that need them before any work (role checks, /admin/me): read once per request.
 */
export async function currentMembership(c: {
  var: HonoEnv['Variables'];
}): Promise<{ role: Membership['role']; memberships: Membership[] }> {
  const { operator, services } = c.var;
  const memberships =
    c.var.memberships ?? (await operatorMemberships(services.db, operator.claims));
  c.var.memberships = memberships;
  const active = memberships.find((m) => m.tenantId === operator.tenantId);
  if (!active) throw new ApiError('FORBIDDEN', NOT_A_MEMBER);
  return { role: active.role, memberships };
}

function forbiddenIfNotAMember(err: unknown): never {
  throw err instanceof NotAMemberError ? new ApiError('FORBIDDEN', NOT_A_MEMBER) : err;
}

/**
 * Runs db work for the current operator under RLS: the tenant context every db/ function takes,
 * plus who the operator is (for "decided by" and "locked by" columns). 403 if they are not a
 * member of the business, and nothing ran.
 */
export function asCurrentOperator<T>(
  c: { var: HonoEnv['Variables'] },
  fn: (scope: { ctx: TenantContext; userId: string }) => Promise<T>,
): Promise<T> {
  const { operator, services } = c.var;
  return asMember(services.db, operator.claims, operator.tenantId, (tx) =>
    fn({ ctx: { tx, tenantId: operator.tenantId }, userId: operator.userId }),
  ).catch(forbiddenIfNotAMember);
}

/** A read for the current operator in one round trip (`readAsMember`). */
export function readAsCurrentOperator<T>(
  c: { var: HonoEnv['Variables'] },
  read: (ctx: TenantContext) => Pipelined<T>,
): Promise<T> {
  const { operator, services } = c.var;
  return readAsMember(services.db, operator.claims, operator.tenantId, (tx: Tx) =>
    read({ tx, tenantId: operator.tenantId }),
  ).catch(forbiddenIfNotAMember);
}

/** Owners and admins only (settings, replays, team). */
export function requireRole(...roles: Membership['role'][]) {
  return createMiddleware<HonoEnv>(async function requireRole(c, next) {
    if (!roles.includes((await currentMembership(c)).role)) {
      throw new ApiError('FORBIDDEN', `This action needs the ${roles.join(' or ')} role.`);
    }
    await next();
  });
}
