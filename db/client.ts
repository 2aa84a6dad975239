import { sql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

type MemberRole = (typeof schema.memberRole.enumValues)[number];

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
  return {
    db: drizzle({ client: preparing(client), schema }),
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * drizzle runs every statement through `unsafe(…, { prepare: false })`, and postgres.js describes
 * an unprepared statement with parameters before running it, every time: two round trips per
 * statement. Prepared (named, cached per connection), a statement costs two round trips the first
 * time on a connection and one after, so a request that repeats a statement, or a long-lived
 * connection, pays one round trip per statement. Transactions and savepoints hand drizzle their own
 * scoped client, which is wrapped the same way.
 *
 * BEGIN still waits for its answer before the first statement (postgres.js's `begin`): sending it
 * with that statement needs a reserved connection, and `reserve()` hangs on a pool with no open
 * connection when `fetch_types` is off (porsager/postgres#751, #1219).
 */
function preparing<T extends postgres.Sql>(sql: T): T {
  const scoped =
    (open: (...args: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      const fn = args.pop() as (inner: postgres.Sql) => unknown;
      return open(...args, (inner: postgres.Sql) => fn(preparing(inner)));
    };
  return new Proxy(sql, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === 'unsafe') {
        return (query: string, params?: postgres.ParameterOrJSON<never>[], opts?: object) =>
          target.unsafe(query, params, { ...opts, prepare: true });
      }
      if ((property === 'begin' || property === 'savepoint') && typeof value === 'function') {
        return scoped(value.bind(target));
      }
      return value;
    },
  });
}

/** Claims from a verified Supabase JWT; only these reach Postgres. */
export type OperatorClaims = { sub: string; role: 'authenticated'; email?: string } & Record<
  string,
  unknown
>;

/** A business the operator belongs to, and their role there. */
export type Membership = { tenantId: string; tenantName: string; role: MemberRole };

/**
 * Binds the operator as Supabase's data API does — role `authenticated`, the verified JWT claims
 * as `request.jwt.claims` — and returns their memberships, read under that binding (RLS applies).
 * One statement (`app.bind_operator`, migration 0014). Claims are a bind parameter (never spliced
 * into SQL); the role is fixed, not taken from the token.
 */
function bindOperator(claims: OperatorClaims) {
  return sql`select tenant_id, tenant_name, role from app.bind_operator(${JSON.stringify(claims)})`;
}

/**
 * The operator's memberships in one statement, outside any transaction: the binding lasts only
 * for that statement, so operator-auth checks membership in one round trip instead of a
 * transaction of its own (begin, bind, read, commit).
 */
export async function operatorMemberships(
  db: Database,
  claims: OperatorClaims,
): Promise<Membership[]> {
  const rows = await db.execute<{ tenant_id: string; tenant_name: string; role: MemberRole }>(
    bindOperator(claims),
  );
  return [...rows].map((row) => ({
    tenantId: row.tenant_id,
    tenantName: row.tenant_name,
    role: row.role,
  }));
}

/**
 * The operator handle: runs `fn` in a transaction as `authenticated` with the verified JWT claims
 * bound, so `auth.uid()` and every RLS policy apply. The binding is the statement operator-auth
 * already ran on this request's connection, so it is prepared there: one round trip, not two.
 */
export function asOperator<T>(db: Database, claims: OperatorClaims, fn: (tx: Tx) => Promise<T>) {
  return db.transaction(async (tx) => {
    await tx.execute(bindOperator(claims));
    return fn(tx);
  });
}

/** Binds `switchboard_worker` and one tenant, transaction-local. */
function bindTenant(tenantId: string) {
  return sql`select set_config('role', 'switchboard_worker', true), set_config('app.tenant_id', ${tenantId}, true)`;
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
    await tx.execute(bindTenant(tenantId));
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

/**
 * What `asWorker` hands its callback: the intake context, and `forTenant`, which binds a tenant for
 * everything that follows in the transaction and returns its context. Binding another tenant ends
 * the previous binding: a context of the earlier tenant then reads and writes nothing (RLS).
 */
export type WorkerScope = {
  intake: IntakeContext;
  forTenant(tenantId: string): Promise<TenantContext>;
};

/**
 * Intake and tenant work in one transaction, for a webhook body: it is stored and its accounts
 * resolved before any tenant is known, then each account's items are written under that tenant.
 * One transaction instead of one per step saves a BEGIN, a role binding and a COMMIT per step,
 * each a round trip. The same role (`switchboard_worker`) and policies as `asIntake`/`asTenant`.
 */
export function asWorker<T>(db: Database, fn: (scope: WorkerScope) => Promise<T>) {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local role switchboard_worker`);
    let bound: string | null = null;
    return fn({
      intake: { tx },
      async forTenant(tenantId) {
        if (bound !== tenantId) {
          await tx.execute(bindTenant(tenantId));
          bound = tenantId;
        }
        return { tx, tenantId };
      },
    });
  });
}

export { schema };
