import { and, asc, eq, sql } from 'drizzle-orm';
import { ConflictError, NotFoundError } from '../core/errors';
import type { TenantContext, Tx } from './client';
import { cannedReplies } from './schema';
import { sqlErrorOf } from './sql';

/**
 * A tenant's canned replies (saved answers for the composer). RLS lets every member read and only
 * owners and admins write; every query also names the tenant, since an operator of several
 * tenants acts on one per request.
 */

export type CannedReply = typeof cannedReplies.$inferSelect;
export type CannedReplyInput = { title: string; text: string };

const ofTenant = (tenantId: string) => eq(cannedReplies.tenantId, tenantId);
const theReply = (tenantId: string, id: string) =>
  and(ofTenant(tenantId), eq(cannedReplies.id, id));

/** Runs `write` in a savepoint, turning a second reply of the same title into a ConflictError. */
async function uniqueTitle<T>(tx: Tx, write: (sp: Tx) => Promise<T>): Promise<T> {
  try {
    return await tx.transaction(write);
  } catch (err) {
    if (sqlErrorOf(err).constraint === 'canned_replies_tenant_title') {
      throw new ConflictError('A canned reply with this title already exists.');
    }
    throw err;
  }
}

/** Every reply of the tenant, by title: the picker shows them all and filters as one types. */
export async function listCannedReplies({ tx, tenantId }: TenantContext): Promise<CannedReply[]> {
  return tx
    .select()
    .from(cannedReplies)
    .where(ofTenant(tenantId))
    .orderBy(asc(cannedReplies.title), asc(cannedReplies.id));
}

export async function createCannedReply(
  { tx, tenantId }: TenantContext,
  input: CannedReplyInput,
): Promise<CannedReply> {
  const [row] = await uniqueTitle(tx, (sp) =>
    sp
      .insert(cannedReplies)
      .values({ tenantId, ...input })
      .returning(),
  );
  if (!row) throw new Error('canned reply insert returned nothing');
  return row;
}

export async function updateCannedReply(
  { tx, tenantId }: TenantContext,
  id: string,
  changes: Partial<CannedReplyInput>,
): Promise<CannedReply> {
  const [row] = await uniqueTitle(tx, (sp) =>
    sp
      .update(cannedReplies)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(theReply(tenantId, id))
      .returning(),
  );
  if (!row) throw new NotFoundError('Canned reply', id);
  return row;
}

export async function deleteCannedReply(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<void> {
  const deleted = await tx
    .delete(cannedReplies)
    .where(theReply(tenantId, id))
    .returning({ id: cannedReplies.id });
  if (deleted.length === 0) throw new NotFoundError('Canned reply', id);
}
