import { type AnyColumn, type SQL, sql } from 'drizzle-orm';

/**
 * `column IN ($1, $2, …)`. Use instead of drizzle's `inArray`, which binds one array parameter:
 * postgres.js runs with `fetch_types: false` (as Cloudflare recommends behind Hyperdrive), so it
 * cannot serialise array parameters and Postgres rejects them as malformed array literals.
 */
export function isOneOf(column: AnyColumn, values: readonly string[]): SQL {
  if (values.length === 0) return sql`false`;
  return sql`${column} in (${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )})`;
}

/**
 * The SQLSTATE and constraint of a failed query (drizzle wraps the driver's error as `cause`), so
 * a write can turn a broken constraint into the domain error it means.
 */
export function sqlErrorOf(err: unknown): { code?: string; constraint?: string } {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const { code, constraint_name: constraint } = e as {
      code?: unknown;
      constraint_name?: unknown;
    };
    if (typeof code === 'string') {
      return { code, constraint: typeof constraint === 'string' ? constraint : undefined };
    }
  }
  return {};
}
