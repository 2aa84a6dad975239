import { sql } from 'drizzle-orm';
import { type AnyPgColumn, type PgPolicyConfig, pgPolicy, pgRole } from 'drizzle-orm/pg-core';
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
 * What operators (`authenticated`) may do with a tenant-owned table, enforced by Postgres so it
 * holds even for direct access through Supabase's data API, not only through our routes:
 * - `read-write`: the inbox's working data (contacts, conversations, messages, drafts);
 * - `admins-write`: configuration: every member reads it, only owners and admins change it;
 * - `append-only`: records an operator's action creates but nobody rewrites (consent ledger, jobs
 *   an operator triggers, send attempts, lock history);
 * - `read-only`: records only webhook and job code writes (agent traces, delivery status events).
 */
export type OperatorAccess = 'read-write' | 'admins-write' | 'append-only' | 'read-only';

const isMember = (tenantId: AnyPgColumn) => sql`${tenantId} in (select app.member_tenant_ids())`;
const isAdmin = (tenantId: AnyPgColumn) =>
  sql`${tenantId} in (select app.tenant_ids_with_role(array['owner', 'admin']))`;

/**
 * Webhook/job code (`switchboard_worker`) reaches rows of exactly the tenant bound by the tenant
 * handle, and nothing when no tenant is bound. Alone, it is the whole policy of a `private` table.
 */
export const workerOfTenant = (name: string, tenantId: AnyPgColumn) =>
  pgPolicy(`${name}: worker of tenant`, {
    for: 'all',
    to: workerRole,
    using: sql`${tenantId} = app.current_tenant_id()`,
    withCheck: sql`${tenantId} = app.current_tenant_id()`,
  });

/**
 * The policies every tenant-owned table carries, declared beside it (drizzle-kit turns them into
 * CREATE POLICY statements):
 * - operators reach rows of tenants they are members of (`app.member_tenant_ids()` reads
 *   `auth.uid()` from the verified JWT claims bound by the operator handle), as `operators` allows;
 * - webhook/job code (`switchboard_worker`) reaches rows of exactly the tenant bound by the tenant
 *   handle, and nothing when no tenant is bound.
 */
export function tenantPolicies(
  name: string,
  tenantId: AnyPgColumn,
  operators: OperatorAccess = 'read-write',
) {
  const operator = (what: string, policy: Omit<PgPolicyConfig, 'to'>) =>
    pgPolicy(`${name}: ${what}`, { ...policy, to: authenticatedRole });
  const member = isMember(tenantId);
  const read = () => operator('members read', { for: 'select', using: member });
  const worker = workerOfTenant(name, tenantId);
  switch (operators) {
    case 'read-write':
      return [operator('members', { for: 'all', using: member, withCheck: member }), worker];
    case 'read-only':
      return [read(), worker];
    case 'append-only':
      return [read(), operator('members append', { for: 'insert', withCheck: member }), worker];
    case 'admins-write': {
      const admin = isAdmin(tenantId);
      return [
        read(),
        operator('admins write', { for: 'all', using: admin, withCheck: admin }),
        worker,
      ];
    }
  }
}
