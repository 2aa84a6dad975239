import { z } from 'zod';
import { asIntake } from '../../db/client';
import { receivedWebhookEvent } from '../../db/webhook-events';
import { publishJobs } from '../lib/jobs';
import { processStoredBody } from '../webhooks/process';
import { defineJob } from './define';

export const WEBHOOK_EVENT_JOB_KIND = 'webhook-event';

/**
 * A webhook job works across businesses, as the webhook does: its envelope names no tenant (the
 * nil UUID) and it reaches each account's rows through the intake role.
 */
export const NO_TENANT = '00000000-0000-0000-0000-000000000000';

/**
 * `POST /jobs/webhook-event`: processes a large body the webhook stored `received` and answered at
 * once (functions/webhooks/index.ts). The same processing as inline, in one transaction: every write
 * is idempotent, so a second delivery, Meta's resend or the sweeper's replay of the same body
 * stores nothing twice. A body signed with accounts' own app secret is processed for those
 * accounts only, as its delivery would have been. A failure is retried by QStash; after that the
 * sweeper replays the body (functions/lib/sweepers.ts).
 */
export const webhookEventJob = defineJob({
  kind: WEBHOOK_EVENT_JOB_KIND,
  payload: z.object({ eventId: z.uuid() }),
  async handle({ services, env }, { eventId }) {
    const event = await asIntake(services.db, (ctx) => receivedWebhookEvent(ctx, eventId));
    if (!event) return { status: 'done', detail: 'already processed' };
    const result = await processStoredBody({ services, env }, event, {
      scope: event.signedFor ? { channelAccountIds: new Set(event.signedFor) } : undefined,
    });
    await publishJobs(services, env, result.jobs);
    return {
      status: 'done',
      detail: `${result.outcome}: ${result.counts.stored} stored, ${result.counts.duplicates} duplicates`,
    };
  },
});
