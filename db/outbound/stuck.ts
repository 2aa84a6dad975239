import { eq, sql } from 'drizzle-orm';
import { SEND_REASONS } from '../../core/messaging/send-reasons';
import type { IntakeContext, TenantContext } from '../client';
import type { OutboxJob } from '../outbox';
import { enqueueJob } from '../outbox';
import { messages } from '../schema';
import { OUTCOME_UNKNOWN } from '../statuses';
import { failMessage } from './outcomes';
import { SEND_JOB_KIND, sendFlowControlKey } from './queue';

/**
 * Sends stuck in `queued` or `sending` with no delivery due any more: the send job gave up (QStash's
 * retries ran out while the database was down, so even `send_job_failed` could not be written), and
 * the message would block every later one of its conversation. The sweeper (functions/lib/sweepers.ts)
 * gives each a new send job, at most `MAX_SWEEPS` times; the send job's own checks and claim takeover
 * decide what happens then. After that it is failed with a reason and the conversation moves on.
 */

export const MAX_SWEEPS = 2;

export type StuckSend = {
  messageId: string;
  tenantId: string;
  conversationId: string;
  status: 'queued' | 'sending';
  /** The sweeper's earlier recoveries of this message. */
  sweeps: number;
};

/** Across tenants (a SECURITY DEFINER function): ids only; each is handled under its tenant. */
export async function stuckSends(
  { tx }: IntakeContext,
  { olderThanSeconds, limit }: { olderThanSeconds: number; limit: number },
): Promise<StuckSend[]> {
  const rows = await tx.execute<{
    message_id: string;
    tenant_id: string;
    conversation_id: string;
    status: 'queued' | 'sending';
    sweeps: number;
  }>(sql`select * from app.stuck_sends(${olderThanSeconds}, ${limit})`);
  return [...rows].map((r) => ({
    messageId: r.message_id,
    tenantId: r.tenant_id,
    conversationId: r.conversation_id,
    status: r.status,
    sweeps: r.sweeps,
  }));
}

export type StuckSendOutcome =
  | { action: 'requeued'; job: OutboxJob }
  | { action: 'failed'; code: string }
  /** Moved on since it was found (a late delivery sent it, an operator cancelled it). */
  | { action: 'none' };

/**
 * Under the message's tenant, with the row locked so a late delivery and the sweeper take turns:
 * a new send job (deduplicated per sweep, so two sweepers make one), or, after `MAX_SWEEPS`, the
 * failure. A `queued` one never reached Meta (`send_stuck`); one left `sending` may have
 * (`outcome_unknown`: not sent again on its own, an operator checks and retries).
 */
export async function recoverStuckSend(
  ctx: TenantContext,
  stuck: StuckSend,
  now: Date,
): Promise<StuckSendOutcome> {
  const [row] = await ctx.tx
    .select({ status: messages.status })
    .from(messages)
    .where(eq(messages.id, stuck.messageId))
    .for('update');
  if (row?.status !== stuck.status) return { action: 'none' };
  if (stuck.sweeps < MAX_SWEEPS) {
    const job = await enqueueJob(ctx, {
      kind: SEND_JOB_KIND,
      payload: { messageId: stuck.messageId },
      dedupeKey: `sweep-send:${stuck.messageId}:${stuck.sweeps + 1}`,
      flowControl: { key: sendFlowControlKey(stuck.conversationId), parallelism: 1 },
    });
    return job ? { action: 'requeued', job } : { action: 'none' };
  }
  const code = stuck.status === 'queued' ? 'send_stuck' : OUTCOME_UNKNOWN;
  const reason = stuck.status === 'queued' ? SEND_REASONS.send_stuck : SEND_REASONS.outcome_unknown;
  await failMessage(ctx, { messageId: stuck.messageId, code, reason, now });
  return { action: 'failed', code };
}
