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
