import { and, desc, eq, type SQL, sql } from 'drizzle-orm';
import { NotFoundError } from '../core/errors';
import type { TenantContext } from './client';
import { agentDrafts, type DraftStatus } from './schema';

/**
 * Approval reply mode: the agent's replies wait here as drafts until a person approves, edits or
 * cancels them (operator API, or the escalation contact's WhatsApp buttons).
 */
export type DraftRow = typeof agentDrafts.$inferSelect;

export async function createDrafts(
  { tx, tenantId }: TenantContext,
  input: {
    conversationId: string;
    runId: string | null;
    correlationId: string;
    drafts: Array<{ message: Record<string, unknown> & { type: string }; preview: string }>;
  },
): Promise<DraftRow[]> {
  if (input.drafts.length === 0) return [];
  return tx
    .insert(agentDrafts)
    .values(
      input.drafts.map((d, position) => ({
        tenantId,
        conversationId: input.conversationId,
        runId: input.runId,
        correlationId: input.correlationId,
        position,
        message: d.message,
        preview: d.preview,
      })),
    )
    .returning();
}

/**
 * Older drafts still pending in a conversation are moot once a newer turn drafted its answer
 * (that answer covers the newer messages too).
 */
export async function supersedePendingDrafts(
  { tx }: TenantContext,
  conversationId: string,
  now: Date,
): Promise<number> {
  const changed = await tx
    .update(agentDrafts)
    .set({ status: 'superseded', decidedAt: now, decidedVia: 'newer_turn', updatedAt: sql`now()` })
    .where(and(eq(agentDrafts.conversationId, conversationId), eq(agentDrafts.status, 'pending')))
    .returning({ id: agentDrafts.id });
  return changed.length;
}

/** The tenant is named as well as filtered by RLS: an operator of several tenants acts on one. */
export async function getDraft(
  { tx, tenantId }: TenantContext,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DraftRow> {
  const query = tx
    .select()
    .from(agentDrafts)
    .where(and(eq(agentDrafts.tenantId, tenantId), eq(agentDrafts.id, id)));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  if (!row) throw new NotFoundError('Draft', id);
  return row;
}

export async function getDraftOrNull(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<DraftRow | null> {
  const [row] = await tx
    .select()
    .from(agentDrafts)
    .where(and(eq(agentDrafts.tenantId, tenantId), eq(agentDrafts.id, id)))
    .for('update');
  return row ?? null;
}

export async function listDrafts(
  { tx, tenantId }: TenantContext,
  options: {
    status?: DraftStatus;
    conversationId?: string;
    correlationId?: string;
    limit: number;
    /** created_at (as Postgres prints it) and id of the last draft of the previous page. */
    after?: { createdAt: string; id: string };
  },
): Promise<Array<DraftRow & { position_key: string }>> {
  const filters: SQL[] = [eq(agentDrafts.tenantId, tenantId)];
  if (options.status) filters.push(eq(agentDrafts.status, options.status));
  if (options.conversationId) filters.push(eq(agentDrafts.conversationId, options.conversationId));
  if (options.correlationId) filters.push(eq(agentDrafts.correlationId, options.correlationId));
  if (options.after) {
    filters.push(
      sql`(${agentDrafts.createdAt}, ${agentDrafts.id}) < (${options.after.createdAt}::timestamptz, ${options.after.id}::uuid)`,
    );
  }
  const rows = await tx
    .select({ draft: agentDrafts, key: sql<string>`${agentDrafts.createdAt}::text` })
    .from(agentDrafts)
    .where(and(...filters))
    .orderBy(desc(agentDrafts.createdAt), desc(agentDrafts.id))
    .limit(options.limit);
  return rows.map((r) => ({ ...r.draft, position_key: r.key }));
}

export async function markDraftDecided(
  { tx }: TenantContext,
  id: string,
  decision: {
    status: 'approved' | 'edited' | 'cancelled';
    userId: string | null;
    via: string;
    now: Date;
    sentMessageId?: string | null;
    message?: Record<string, unknown> & { type: string };
    preview?: string;
  },
): Promise<DraftRow> {
  const [row] = await tx
    .update(agentDrafts)
    .set({
      status: decision.status,
      decidedByUserId: decision.userId,
      decidedVia: decision.via,
      decidedAt: decision.now,
      sentMessageId: decision.sentMessageId ?? null,
      ...(decision.message ? { message: decision.message } : {}),
      ...(decision.preview ? { preview: decision.preview } : {}),
      editRequestedInConversationId: null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(agentDrafts.id, id), eq(agentDrafts.status, 'pending')))
    .returning();
  if (!row) throw new NotFoundError('Pending draft', id);
  return row;
}

/** The escalation contact asked to edit: their next text in `staffConversationId` is the new reply. */
export async function requestDraftEdit(
  { tx }: TenantContext,
  id: string,
  staffConversationId: string,
  now: Date,
): Promise<void> {
  await tx
    .update(agentDrafts)
    .set({
      editRequestedInConversationId: staffConversationId,
      editRequestedAt: now,
      updatedAt: sql`now()`,
    })
    .where(and(eq(agentDrafts.id, id), eq(agentDrafts.status, 'pending')));
}

/** The pending draft whose edit this staff conversation owes, if any (the latest asked). */
export async function draftAwaitingEditIn(
  { tx }: TenantContext,
  staffConversationId: string,
): Promise<DraftRow | null> {
  const [row] = await tx
    .select()
    .from(agentDrafts)
    .where(
      and(
        eq(agentDrafts.editRequestedInConversationId, staffConversationId),
        eq(agentDrafts.status, 'pending'),
      ),
    )
    .orderBy(desc(agentDrafts.editRequestedAt))
    .limit(1)
    .for('update');
  return row ?? null;
}
