import { asIntake, asTenant, commitWith } from '../../db/client';
import {
  enqueueJob,
  type JobRequest,
  markJobPublished,
  markJobPublishFailed,
  type OutboxJob,
  pendingJobs,
  staleJobRefs,
} from '../../db/outbox';
import type { Services } from '../context';
import type { Env } from '../env';
import { safeErrorFields } from './logger';

export { enqueueJob, type JobRequest };

/** Where QStash delivers a job kind. The job route verifies signatures against this exact URL. */
export function jobUrl(env: Env, kind: string): string {
  return `${env.PUBLIC_BASE_URL.replace(/\/$/, '')}/jobs/${kind}`;
}

/** QStash retries of every job: deliveries are numbered 0 (first) to JOB_RETRIES (last). */
export const JOB_RETRIES = 5;

/**
 * Milliseconds before each retry (QStash's `Upstash-Retry-Delay`, `retried` = retries already
 * made): 5 s, 10 s, 20 s, 40 s, 80 s — about 2.5 minutes from the first failure to the last
 * delivery. QStash's default (`e^(2.5 * (retried + 1))` s) would leave a job failed on a short
 * database outage waiting hours (issue 15: a queued reply rescheduled ~6 h later), and a turn's
 * last delivery, which hands the conversation to a person, ~3 h after the customer wrote.
 */
export const JOB_RETRY_DELAY = 'min(300000, 5000 * pow(2, retried))';

/** What every job delivery carries. */
export type JobEnvelope = { outboxId: string; tenantId: string; payload: Record<string, unknown> };

/**
 * Publishes committed outbox rows to QStash and marks them published. A failure is recorded and
 * the row stays pending for the sweeper; it never throws, because the caller's change is already
 * durable and must still be acknowledged. The marks of one tenant's jobs go out together, in one
 * transaction and one round trip, however many jobs a turn queued (replies, its trace export).
 */
export async function publishJobs(services: Services, env: Env, jobs: OutboxJob[]): Promise<void> {
  const published = await Promise.all(
    jobs.map(async (job) => {
      try {
        const { messageId } = await services.qstash.publishJSON({
          url: jobUrl(env, job.kind),
          body: {
            outboxId: job.id,
            tenantId: job.tenantId,
            payload: job.payload,
          } satisfies JobEnvelope,
          // The outbox id makes a second publish of the same row (after a crash, by the sweeper) a no-op.
          deduplicationId: job.id,
          notBefore: job.notBefore ? Math.ceil(job.notBefore.getTime() / 1000) : undefined,
          retries: JOB_RETRIES,
          retryDelay: JOB_RETRY_DELAY,
          flowControl: job.flowControlKey
            ? {
                key: job.flowControlKey,
                // Rows that leave it open are agent turns (db/inbound.ts): configured per deploy.
                parallelism: job.flowControlParallelism ?? env.AGENT_TURN_PARALLELISM,
              }
            : undefined,
        });
        return { job, messageId };
      } catch (err) {
        await recordPublishFailure(services, job, err);
        return null;
      }
    }),
  );
  const byTenant = Map.groupBy(
    published.filter((p) => p !== null),
    (p) => p.job.tenantId,
  );
  await Promise.all(
    [...byTenant].map(async ([tenantId, group]) => {
      try {
        // BEGIN, binding, the updates and COMMIT in one round trip.
        await asTenant(services.db, tenantId, async (ctx) =>
          commitWith(Promise.all(group.map((p) => markJobPublished(ctx, p.job.id, p.messageId)))),
        );
      } catch (err) {
        // Published but not marked: the sweeper publishes them again, which QStash deduplicates.
        services.logger.warn('job publish failed; left pending for the sweeper', {
          kinds: group.map((p) => p.job.kind),
          outboxIds: group.map((p) => p.job.id),
          ...safeErrorFields(err),
        });
      }
    }),
  );
}

async function recordPublishFailure(services: Services, job: OutboxJob, err: unknown) {
  const failure = safeErrorFields(err);
  services.logger.warn('job publish failed; left pending for the sweeper', {
    kind: job.kind,
    outboxId: job.id,
    ...failure,
  });
  await asTenant(services.db, job.tenantId, (ctx) =>
    markJobPublishFailed(ctx, job.id, `${failure.error}: ${failure.detail}`),
  ).catch(() => {});
}

/**
 * Publishes a job with no outbox row behind it, because what it works on is recorded elsewhere
 * (a stored webhook body): `id` names the delivery and makes a second publish of it a no-op.
 * Throws when QStash refuses; the caller's record is what a sweeper recovers from.
 */
export async function publishUnqueuedJob(
  services: Services,
  env: Env,
  job: { kind: string; id: string; tenantId: string; payload: Record<string, unknown> },
): Promise<void> {
  await services.qstash.publishJSON({
    url: jobUrl(env, job.kind),
    body: { outboxId: job.id, tenantId: job.tenantId, payload: job.payload } satisfies JobEnvelope,
    deduplicationId: `${job.kind}-${job.id}`,
    retries: JOB_RETRIES,
    retryDelay: JOB_RETRY_DELAY,
  });
}

/** Publishes jobs that stayed pending (QStash was down, or the Worker died after commit). */
export async function sweepOutbox(
  services: Services,
  env: Env,
  options: { olderThanSeconds?: number; limit?: number } = {},
): Promise<number> {
  const refs = await asIntake(services.db, (ctx) =>
    staleJobRefs(ctx, {
      olderThanSeconds: options.olderThanSeconds ?? 15,
      limit: options.limit ?? 200,
    }),
  );
  const byTenant = Map.groupBy(refs, (r) => r.tenantId);
  let published = 0;
  for (const [tenantId, group] of byTenant) {
    const jobs = await asTenant(services.db, tenantId, (ctx) =>
      pendingJobs(
        ctx,
        group.map((r) => r.id),
      ),
    );
    await publishJobs(services, env, jobs);
    published += jobs.length;
  }
  return published;
}
