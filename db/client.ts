import { sql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Database = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * What every tenant-scoped db/ function takes first: the caller's transaction (tenant or operator
 * handle, so RLS already limits it to the tenant) and the tenant id, for inserts and explicit
 * filters. Built only by `asTenant` and `asCurrentOperator`, never by hand.
 */
export type TenantContext = { tx: Tx; tenantId: string };

/**
 * What the few cross-tenant functions take (resolving an account by its Meta id, recording raw
 * webhook events, the outbox sweeper): the worker role with no tenant bound, so RLS lets it call
 * only those SECURITY DEFINER functions.
 */
export type IntakeContext = { tx: Tx };

/**
 * A postgres.js client + drizzle for one request (Workers must not share sockets across requests).
 * `prepare` stays on: Cloudflare's Hyperdrive guidance says `prepare: false` hangs there.
 */
export function connect(connectionString: string, options: { max?: number } = {}) {
  const client = postgres(connectionString, {
    max: options.max ?? 5,
    fetch_types: false,
    connect_timeout: 5,
    onnotice: () => {},
  });
  return { db: drizzle({ client, schema }), close: () => client.end({ timeout: 5 }) };
}

/** Claims from a verified Supabase JWT; only these reach Postgres. */
export type OperatorClaims = { sub: string; role: 'authenticated'; email?: string } & Record<
  string,
  unknown
>;

/**
 * The operator handle: runs `fn` in a transaction as `authenticated` with the verified JWT claims
 * bound exactly as Supabase's data API binds them, so `auth.uid()` and every RLS policy apply.
 * Claims are bind parameters (never spliced into SQL); the role is fixed, not taken from the token.
 */
export function asOperator<T>(db: Database, claims: OperatorClaims, fn: (tx: Tx) => Promise<T>) {
  return db.transaction(async (tx) => {
    // One round trip, as PostgREST does it: `set_config('role', …, true)` is `SET LOCAL ROLE`.
    await tx.execute(
      sql`select set_config('role', 'authenticated', true),
        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
        set_config('request.jwt.claim.sub', ${claims.sub}, true)`,
    );
    return fn(tx);
  });
}

/**
 * The tenant handle for webhook and job code: a transaction as `switchboard_worker` bound to one
 * tenant. Policies give that role exactly this tenant's rows, so a bug in a query cannot leak or
 * write across tenants.
 */
export function asTenant<T>(
  db: Database,
  tenantId: string,
  fn: (ctx: TenantContext) => Promise<T>,
) {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('role', 'switchboard_worker', true), set_config('app.tenant_id', ${tenantId}, true)`,
    );
    return fn({ tx, tenantId });
  });
}

/** The worker role with no tenant bound: can only call the intake/routing functions. */
export function asIntake<T>(db: Database, fn: (ctx: IntakeContext) => Promise<T>) {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local role switchboard_worker`);
    return fn({ tx });
  });
}

export { schema };
