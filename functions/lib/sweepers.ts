import { asIntake, asTenant } from '../../db/client';
import { recoverStuckSend, stuckSends } from '../../db/outbound/stuck';
import { noteFailedReplay, staleReceivedEvents } from '../../db/webhook-events';
import type { Services } from '../context';
import type { Env } from '../env';
import { processStoredBody } from '../webhooks/process';
import { publishJobs } from './jobs';
import { safeErrorFields } from './logger';

/**
 * The cron's recoveries of work a crash or an outage left behind (besides `sweepOutbox`, which
 * publishes jobs QStash never got). Each handles a bounded batch per minute and never throws: one
 * tenant's failure must not hold up the others, and the next minute tries again.
 */

/**
 * Grace period before a send counts as stuck: well past a send job's own retries (about 2.5
 * minutes, functions/lib/jobs.ts) and QStash's flow-control queueing of a busy conversation.
 */
export const STUCK_SEND_AFTER_SECONDS = 15 * 60;

/** Gives sends stuck in `queued`/`sending` a new job, or fails them with a reason (db/outbound/stuck.ts). */
export async function sweepStuckSends(
  services: Services,
  env: Env,
  options: { olderThanSeconds?: number; limit?: number } = {},
): Promise<{ requeued: number; failed: number }> {
  const stuck = await asIntake(services.db, (ctx) =>
    stuckSends(ctx, {
      olderThanSeconds: options.olderThanSeconds ?? STUCK_SEND_AFTER_SECONDS,
      limit: options.limit ?? 100,
    }),
  );
  const counts = { requeued: 0, failed: 0 };
  for (const send of stuck) {
    try {
      const outcome = await asTenant(services.db, send.tenantId, (ctx) =>
        recoverStuckSend(ctx, send, services.clock.now()),
      );
      if (outcome.action === 'requeued') {
        counts.requeued += 1;
        await publishJobs(services, env, [outcome.job]);
      } else if (outcome.action === 'failed') {
        counts.failed += 1;
        services.logger.warn('a stuck send was failed', {
          messageId: send.messageId,
          tenantId: send.tenantId,
          code: outcome.code,
        });
      }
    } catch (err) {
      services.logger.error('recovering a stuck send failed', {
        messageId: send.messageId,
        ...safeErrorFields(err),
      });
    }
  }
  return counts;
}

/**
 * Grace period before a body left `received` is replayed: its 503 made Meta retry too (within
 * seconds to minutes), and a replay racing that retry is harmless (every write is idempotent).
 */
export const STALE_EVENT_AFTER_SECONDS = 5 * 60;

/**
 * Replays bodies a failed processing left `received` (the database failed mid-way and Meta's
 * retries did not get through either). A body signed with accounts' own app secret is replayed
 * for those accounts only, as its delivery would have been.
 */
export async function replayStaleEvents(
  services: Services,
  env: Env,
  options: { olderThanSeconds?: number; limit?: number } = {},
): Promise<{ replayed: number; failed: number }> {
  const events = await asIntake(services.db, (ctx) =>
    staleReceivedEvents(ctx, {
      olderThanSeconds: options.olderThanSeconds ?? STALE_EVENT_AFTER_SECONDS,
      limit: options.limit ?? 20,
    }),
  );
  const counts = { replayed: 0, failed: 0 };
  for (const event of events) {
    try {
      const result = await processStoredBody({ services, env }, event, {
        scope: event.signedFor ? { channelAccountIds: new Set(event.signedFor) } : undefined,
      });
      counts.replayed += 1;
      await publishJobs(services, env, result.jobs);
    } catch (err) {
      counts.failed += 1;
      const failure = safeErrorFields(err);
      services.logger.error('replaying a received webhook event failed', {
        eventId: event.id,
        ...failure,
      });
      await asIntake(services.db, (ctx) =>
        noteFailedReplay(ctx, {
          id: event.id,
          reason: `replay by the sweeper failed: ${failure.error}`,
        }),
      ).catch(() => {});
    }
  }
  return counts;
}
