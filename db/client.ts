import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js/session';
import postgres from 'postgres';
import * as schema from './schema';

type MemberRole = (typeof schema.memberRole.enumValues)[number];

/**
 * Without the schema: the relational query API (`db.query.…`) is not used here, and building its
 * metadata costs ~0.7 ms per drizzle instance, which a Worker makes per request.
 */
export type Database = PostgresJsDatabase & { $client: postgres.Sql };
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
    db: drizzle({ client: preparing(client) }),
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * drizzle runs every statement through `unsafe(…, { prepare: false })`; prepared (named, cached per
 * connection) instead, as Hyperdrive expects. postgres.js as published describes a new statement
 * with parameters before running it (two round trips); patches/postgres+3.4.9.patch sends parse,
 * describe, bind and execute together when the untyped parameters are text or numbers (all of
 * drizzle's are), so every statement is one round trip, first time or not.
 *
 * Transactions do not go through drizzle's `transaction` (postgres.js's `begin` waits for BEGIN's
 * answer): they run on a reserved connection (`boundTransaction`, `readAsMember`), whose client
 * `onReserved` prepares the same way and makes the savepoints of nested `transaction` calls.
 */
function preparing<T extends postgres.Sql>(sql: T): T {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (query: string, params?: postgres.ParameterOrJSON<never>[], opts?: object) =>
          target.unsafe(query, params, { ...opts, prepare: true });
      }
      return Reflect.get(target, property, receiver);
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
 * The client drizzle gets on a reserved connection: statements prepared as `preparing` prepares
 * them, the pool's `options` (a reserved connection has none, and drizzle reads its parsers
 * there; the connection uses the pool's), and whatever `overrides` replaces.
 */
function onReserved(
  db: Database,
  reserved: postgres.ReservedSql,
  overrides: {
    unsafe?: (query: string, params?: postgres.ParameterOrJSON<never>[], opts?: object) => unknown;
    savepoint?: (fn: (inner: postgres.Sql) => Promise<unknown>) => Promise<unknown>;
  },
): postgres.Sql {
  const unsafe =
    overrides.unsafe ??
    ((query: string, params?: postgres.ParameterOrJSON<never>[], opts?: object) =>
      reserved.unsafe(query, params, { ...opts, prepare: true }));
  return new Proxy(reserved, {
    get(target, property, receiver) {
      if (property === 'options') return db.$client.options;
      if (property === 'unsafe') return unsafe;
      if (property === 'savepoint' && overrides.savepoint) return overrides.savepoint;
      return Reflect.get(target, property, receiver);
    },
  }) as unknown as postgres.Sql;
}

/** An operator named a business they are not a member of (SQLSTATE 28000 from the binding). */
export class NotAMemberError extends Error {
  constructor() {
    super('not a member of this business');
  }
}

/**
 * Binds the operator for one business (`app.bind_operator_to`, migration 0019): role
 * `authenticated`, the verified claims, and a check that they are a member there, failing with
 * SQLSTATE 28000 otherwise. Claims are a bind parameter; the role is fixed, not taken from the
 * token.
 */
const BIND_OPERATOR_TO = 'select app.bind_operator_to($1, $2)';

/** The binding statement refused the user (SQLSTATE 28000, invalid authorization). */
function bindingRefused(err: unknown): boolean {
  const cause = err instanceof Error && 'cause' in err ? err.cause : err;
  return (cause as { code?: unknown } | null)?.code === '28000';
}

/**
 * The operator handle: runs `fn` in a transaction as `authenticated` with the verified JWT claims
 * bound, so `auth.uid()` and every RLS policy apply. RLS limits it to the operator's businesses;
 * routes use `asMember`, which also checks the one business the request acts on.
 */
export function asOperator<T>(db: Database, claims: OperatorClaims, fn: (tx: Tx) => Promise<T>) {
  return boundTransaction(db, (bind) => {
    bind(BIND_OPERATOR, [JSON.stringify(claims)]);
    return fn;
  });
}

const BIND_OPERATOR = 'select 1 from app.bind_operator($1)';

/**
 * The operator handle for one business: as `asOperator`, after checking in the binding statement
 * itself that the operator is a member of `tenantId` (else NotAMemberError, and nothing ran). So a
 * route needs no membership query of its own before its transaction.
 */
export async function asMember<T>(
  db: Database,
  claims: OperatorClaims,
  tenantId: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    return await boundTransaction(db, (bind) => {
      bind(BIND_OPERATOR_TO, [JSON.stringify(claims), tenantId]);
      return fn;
    });
  } catch (err) {
    throw bindingRefused(err) ? new NotAMemberError() : err;
  }
}

export class NotAPlatformOperatorError extends Error {
  constructor() {
    super('not a platform operator');
  }
}

const BIND_PLATFORM_OPERATOR = 'select 1 from app.bind_platform_operator($1)';

/**
 * The platform operator handle (db/schema/platform.ts): as `asOperator`, after checking in the
 * binding statement itself that the user runs the platform (else NotAPlatformOperatorError, and
 * nothing ran). RLS then shows webhook bodies no business owns, and no business's rows.
 */
export async function asPlatformOperator<T>(
  db: Database,
  claims: OperatorClaims,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    return await boundTransaction(db, (bind) => {
      bind(BIND_PLATFORM_OPERATOR, [JSON.stringify(claims)]);
      return fn;
    });
  } catch (err) {
    throw bindingRefused(err) ? new NotAPlatformOperatorError() : err;
  }
}

/**
 * A read as statements sent together, and how their rows make the answer. The statements are
 * drizzle queries not yet awaited, each one SQL statement, none needing another's result (so a
 * page that may run on into a second range asks for both at once).
 */
export type Pipelined<T> = {
  statements: readonly PromiseLike<unknown>[];
  result: (rows: unknown[]) => T;
};

export function pipelined<const S extends readonly PromiseLike<unknown>[], T>(
  statements: S,
  result: (rows: { -readonly [K in keyof S]: Awaited<S[K]> }) => T,
): Pipelined<T> {
  return { statements, result: result as (rows: unknown[]) => T };
}

/** A pipelined read inside the caller's own transaction: its statements sent together. */
export async function runPipelined<T>(read: Pipelined<T>): Promise<T> {
  return read.result(await Promise.all(read.statements));
}

/**
 * An operator's read in one round trip. In production every round trip is a hop from the Worker
 * through Hyperdrive to Supabase, and a read through `asMember` costs four (BEGIN, binding,
 * query, COMMIT, each waiting for the last). Here they are written together on one reserved
 * connection: BEGIN, the binding with its membership check, the read's statements, COMMIT.
 *
 * Anything issued after COMMIT is refused (it would run outside the binding, as the connection's
 * own role). If the operator is not a member, the binding fails, the statements fail with it (the
 * transaction is aborted), and NotAMemberError is thrown.
 */
export async function readAsMember<T>(
  db: Database,
  claims: OperatorClaims,
  tenantId: string,
  read: (tx: Tx) => Pipelined<T>,
): Promise<T> {
  const reserved = await db.$client.reserve();
  try {
    let expected = Number.POSITIVE_INFINITY;
    let committed: Promise<unknown> | undefined;
    // drizzle calls `unsafe` once per statement; each is sent as soon as it is made, and COMMIT
    // right after the last, so the order on the wire is the order here.
    const sending = onReserved(db, reserved, {
      unsafe: (query, params, opts) => {
        if (committed) throw new Error('readAsMember: a statement was issued after COMMIT');
        const sent = reserved.unsafe(query, params, { ...opts, prepare: true }).execute();
        if (--expected === 0) committed = reserved.unsafe('commit').execute();
        return sent;
      },
    });
    const begun = reserved.unsafe('begin').execute();
    const bound = reserved
      .unsafe(BIND_OPERATOR_TO, [JSON.stringify(claims), tenantId], { prepare: true })
      .execute();
    let plan: Pipelined<T> | undefined;
    let unbuilt: unknown;
    try {
      plan = read(drizzle({ client: sending }) as unknown as Tx);
    } catch (err) {
      unbuilt = err;
    }
    const statements = plan?.statements ?? [];
    expected = statements.length;
    if (expected === 0) committed = reserved.unsafe(unbuilt ? 'rollback' : 'commit').execute();
    // `then` is what makes a drizzle query run.
    const results = statements.map(
      (query) => new Promise((resolve, reject) => query.then(resolve, reject)),
    );
    const settled = await Promise.allSettled([begun, bound, ...results]);
    // A statement that never reached the wire (drizzle failed building it) left no COMMIT: end
    // the transaction before the connection goes back to the pool.
    await (committed ?? reserved.unsafe('rollback'));
    const failed = settled.find((settlement) => settlement.status === 'rejected');
    if (failed) throw bindingRefused(failed.reason) ? new NotAMemberError() : failed.reason;
    if (!plan) throw unbuilt;
    return plan.result(
      settled.slice(2).map((rows) => (rows as PromiseFulfilledResult<unknown>).value),
    );
  } finally {
    reserved.release();
  }
}

/** Binds `switchboard_worker` and one tenant, transaction-local. */
const BIND_TENANT =
  "select set_config('role', 'switchboard_worker', true), set_config('app.tenant_id', $1, true)";

const BIND_WORKER = 'set local role switchboard_worker';

const dialect = new PgDialect();

/**
 * Sends a statement into the transaction without waiting for it (a binding: role, tenant, claims;
 * or a last write nothing waits for). Its failure fails the transaction.
 */
type Bind = (text: string, params?: (string | number | null)[]) => void;

/**
 * A transaction whose BEGIN and bindings go out with its first statement instead of each waiting
 * for an answer (postgres.js's `sql.begin` waits for BEGIN, and an awaited binding for itself):
 * two round trips fewer per transaction, each a hop to Supabase in production. On a reserved
 * connection, so the order on the wire is the order issued: a binding is sent before anything
 * issued after it, and a statement runs under it or, if it failed, not at all (the transaction
 * is aborted). Its error is the one thrown then, not the aborted statement's.
 *
 * `open` sends the first bindings and returns the work; the work's `bind` (through `WorkerScope`)
 * sends later ones the same way. Savepoints (drizzle's nested `transaction`) as postgres.js makes
 * them.
 */
async function boundTransaction<T>(
  db: Database,
  open: (bind: Bind) => (tx: Tx) => Promise<T | CommitWith<T>>,
): Promise<T> {
  const reserved = await db.$client.reserve();
  const sent: Promise<unknown>[] = [];
  let committing = false;
  const refuseAfterCommit = () => {
    // It would run after COMMIT, outside the bindings, as the connection's own role.
    if (committing) throw new Error('boundTransaction: a statement was issued after COMMIT');
  };
  const send = (text: string, params: (string | number | null)[] = []) => {
    refuseAfterCommit();
    const query = reserved.unsafe(text, params, { prepare: params.length > 0 }).execute();
    query.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    sent.push(query);
    return query;
  };
  const bindingError = async () => {
    for (const query of sent) {
      const failure = await query.then(
        () => null,
        (err: unknown) => err,
      );
      if (failure) return failure;
    }
    return null;
  };
  let savepoints = 0;
  const client: postgres.Sql = onReserved(db, reserved, {
    unsafe: (query, params, opts) => {
      refuseAfterCommit();
      // Queued on the connection now, in the order issued (COMMIT included), not when awaited.
      return reserved.unsafe(query, params, { ...opts, prepare: true }).execute();
    },
    savepoint: async (fn: (inner: postgres.Sql) => Promise<unknown>) => {
      const name = `s${++savepoints}`;
      await reserved.unsafe(`savepoint ${name}`);
      try {
        const result = await fn(client);
        await reserved.unsafe(`release savepoint ${name}`);
        return result;
      } catch (err) {
        await reserved.unsafe(`rollback to savepoint ${name}`);
        throw err;
      }
    },
  });
  try {
    send('begin');
    const work = open(send);
    // How drizzle builds the transaction object inside its own `transaction`, on our client.
    const session = new PostgresJsSession(client, dialect, undefined, {});
    const tx = new PostgresJsTransaction(
      dialect,
      session as unknown as ConstructorParameters<typeof PostgresJsTransaction>[1],
      undefined,
    ) as unknown as Tx;
    let returned: T | CommitWith<T>;
    try {
      returned = await work(tx);
    } catch (err) {
      throw (await bindingError()) ?? err;
    }
    // COMMIT goes out right behind what was sent and not waited for (the last write, often), so
    // it costs no round trip of its own. If one of those failed, the transaction was aborted and
    // COMMIT answers ROLLBACK: nothing is kept, and that failure is thrown.
    committing = true;
    const committed = reserved.unsafe('commit').execute();
    const last = returned instanceof CommitWith ? await settle(returned.last) : null;
    const failure = (await bindingError()) ?? (last && 'error' in last ? last.error : null);
    await committed;
    if (failure) throw failure;
    return last && 'value' in last ? last.value : (returned as T);
  } catch (err) {
    await reserved.unsafe('rollback').catch(() => {});
    throw err;
  } finally {
    reserved.release();
  }
}

/**
 * What a transaction's work returns when its last statements are issued and not awaited: COMMIT
 * goes out with them, so they cost no round trip of their own, and the transaction answers with
 * their result (or their error, after which nothing was kept). Statements issued after COMMIT are
 * refused, so anything the work still needs to read must be awaited before.
 */
export class CommitWith<T> {
  constructor(readonly last: Promise<T>) {
    last.catch(() => {}); // awaited by the transaction; not an unhandled rejection meanwhile
  }
}

export function commitWith<T>(last: Promise<T>): CommitWith<T> {
  return new CommitWith(last);
}

async function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/**
 * The tenant handle for webhook and job code: a transaction as `switchboard_worker` bound to one
 * tenant. Policies give that role exactly this tenant's rows, so a bug in a query cannot leak or
 * write across tenants.
 */
export function asTenant<T>(
  db: Database,
  tenantId: string,
  fn: (ctx: TenantContext) => Promise<T | CommitWith<T>>,
): Promise<T> {
  return boundTransaction(db, (bind) => {
    bind(BIND_TENANT, [tenantId]);
    return (tx) => fn({ tx, tenantId });
  });
}

/** The worker role with no tenant bound: can only call the intake/routing functions. */
export function asIntake<T>(
  db: Database,
  fn: (ctx: IntakeContext) => Promise<T | CommitWith<T>>,
): Promise<T> {
  return boundTransaction(db, (bind) => {
    bind(BIND_WORKER);
    return (tx) => fn({ tx });
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
  /**
   * Sends a statement nobody waits for (recording how the work ended): it goes out with the
   * COMMIT, in the same round trip, and its failure fails the transaction.
   */
  sendWithCommit(statement: SQL): void;
};

/**
 * Intake and tenant work in one transaction, for a webhook body: it is stored and its accounts
 * resolved before any tenant is known, then each account's items are written under that tenant.
 * One transaction instead of one per step saves a BEGIN, a role binding and a COMMIT per step,
 * each a round trip. The same role (`switchboard_worker`) and policies as `asIntake`/`asTenant`.
 */
export function asWorker<T>(db: Database, fn: (scope: WorkerScope) => Promise<T>) {
  return boundTransaction(db, (bind) => {
    bind(BIND_WORKER);
    let bound: string | null = null;
    return (tx) =>
      fn({
        intake: { tx },
        async forTenant(tenantId) {
          if (bound !== tenantId) {
            bind(BIND_TENANT, [tenantId]);
            bound = tenantId;
          }
          return { tx, tenantId };
        },
        sendWithCommit(statement) {
          const query = dialect.sqlToQuery(statement);
          bind(query.sql, query.params as (string | number | null)[]);
        },
      });
  });
}

export { schema };
