import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { IntakeContext, TenantContext } from './client';
import { jobOutbox } from './schema';
import { isOneOf } from './sql';

export type OutboxJob = typeof jobOutbox.$inferSelect;

export type JobRequest = {
  kind: string;
  payload: Record<string, unknown>;
  /** Not delivered before this time (QStash not-before). */
  notBefore?: Date;
  /** Enqueueing the same key again for this tenant is a no-op (returns null). */
  dedupeKey?: string;
  /** QStash flow control: at most `parallelism` deliveries of this key at once. */
  flowControl?: { key: string; parallelism?: number };
};

/** Records a job in the caller's transaction; it is published after commit (see functions/lib/jobs.ts). */
export async function enqueueJob(ctx: TenantContext, job: JobRequest): Promise<OutboxJob | null> {
  const [row] = await ctx.tx
    .insert(jobOutbox)
    .values({
      tenantId: ctx.tenantId,
      kind: job.kind,
      payload: job.payload,
      notBefore: job.notBefore,
      dedupeKey: job.dedupeKey,
      flowControlKey: job.flowControl?.key,
      flowControlParallelism: job.flowControl?.parallelism,
    })
    .onConflictDoNothing()
    .returning();
  return row ?? null;
}

/**
 * An outbox row that SQL returned as JSON (`to_jsonb(row)`, snake_case keys, times as text), as
 * drizzle would have returned it: each column through its own driver mapping.
 */
export function outboxJobFromJson(json: Record<string, unknown>): OutboxJob {
  const job: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(jobOutbox))) {
    const value = json[column.name];
    job[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return job as OutboxJob;
}

export async function markJobPublished(ctx: IntakeContext, id: string, qstashMessageId: string) {
  await ctx.tx
    .update(jobOutbox)
    .set({
      status: 'published',
      publishedAt: sql`now()`,
      providerMessageId: qstashMessageId,
      attempts: sql`${jobOutbox.attempts} + 1`,
    })
    .where(eq(jobOutbox.id, id));
}

export async function markJobPublishFailed(ctx: IntakeContext, id: string, error: string) {
  await ctx.tx
    .update(jobOutbox)
    .set({ lastError: error.slice(0, 500), attempts: sql`${jobOutbox.attempts} + 1` })
    .where(and(eq(jobOutbox.id, id), eq(jobOutbox.status, 'pending')));
}

export async function pendingJobs(ctx: IntakeContext, ids: string[]): Promise<OutboxJob[]> {
  if (ids.length === 0) return [];
  return ctx.tx
    .select()
    .from(jobOutbox)
    .where(and(eq(jobOutbox.status, 'pending'), isOneOf(jobOutbox.id, ids)));
}

/**
 * Pending jobs older than `olderThanSeconds`, across tenants: only ids and tenant ids, through the
 * `app.stale_outbox_jobs` function (the sweeper then loads each under its tenant handle).
 */
export async function staleJobRefs(
  { tx }: IntakeContext,
  { olderThanSeconds, limit }: { olderThanSeconds: number; limit: number },
): Promise<Array<{ id: string; tenantId: string }>> {
  const rows = await tx.execute<{ id: string; tenant_id: string }>(
    sql`select id, tenant_id from app.stale_outbox_jobs(${olderThanSeconds}, ${limit})`,
  );
  return [...rows].map((r) => ({ id: r.id, tenantId: r.tenant_id }));
}
