import { sql } from 'drizzle-orm';
import { type AnyPgColumn, pgPolicy, pgRole } from 'drizzle-orm/pg-core';
import { authenticatedRole } from 'drizzle-orm/supabase';

/**
 * The role webhook and job code runs as (the "tenant handle"). It is created by the bootstrap
 * migration and granted to the connecting user, so `set local role switchboard_worker` works on
 * Supabase, on the Postgres server and on PGlite alike. Its policies only ever see the one tenant
 * named by the transaction-local setting `app.tenant_id`.
 */
export const workerRole = pgRole('switchboard_worker').existing();

export { authenticatedRole };

/**
 * The two policies every tenant-owned table carries:
 * - operators (`authenticated`) reach rows of tenants they are members of — `app.member_tenant_ids()` reads
 *   `auth.uid()` from the verified JWT claims bound by the operator handle;
 * - webhook/job code (`switchboard_worker`) reaches rows of exactly the tenant bound by the tenant
 *   handle, and nothing when no tenant is bound.
 * Declared next to each table (drizzle-kit turns them into CREATE POLICY statements).
 */
export function tenantPolicies(name: string, tenantId: AnyPgColumn) {
  return [
    pgPolicy(`${name}: members`, {
      for: 'all',
      to: authenticatedRole,
      using: sql`${tenantId} in (select app.member_tenant_ids())`,
      withCheck: sql`${tenantId} in (select app.member_tenant_ids())`,
    }),
    pgPolicy(`${name}: worker of tenant`, {
      for: 'all',
      to: workerRole,
      using: sql`${tenantId} = app.current_tenant_id()`,
      withCheck: sql`${tenantId} = app.current_tenant_id()`,
    }),
  ];
}
