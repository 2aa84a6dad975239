import { asc, eq, sql } from 'drizzle-orm';
import type { Tx } from './client';
import { tenantMembers, tenants } from './schema';

/** The signed-in operator's memberships (RLS limits rows to tenants they belong to). */
export async function listMemberships(tx: Tx) {
  return tx
    .select({
      tenantId: tenantMembers.tenantId,
      tenantName: tenants.name,
      role: tenantMembers.role,
    })
    .from(tenantMembers)
    .innerJoin(tenants, eq(tenants.id, tenantMembers.tenantId))
    .where(eq(tenantMembers.userId, sql`auth.uid()`))
    .orderBy(asc(tenantMembers.createdAt), asc(tenants.name));
}
