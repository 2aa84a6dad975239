import { z } from 'zod';
import { asTenant } from '../../db/client';
import { recordAcceptedSend } from '../../db/outbound';
import { defineJob } from './define';

export const SEND_ACCEPTED_JOB_KIND = 'send-accepted';

export const sendAcceptedPayload = z.object({
  messageId: z.uuid(),
  attemptId: z.uuid(),
  providerMessageId: z.string().min(1).max(512),
  /** The Graph request body, for the attempt's history (no credentials). */
  request: z.record(z.string(), z.unknown()).nullable().default(null),
});
export type SendAcceptedPayload = z.infer<typeof sendAcceptedPayload>;

/**
 * `POST /jobs/send-accepted`: Meta accepted a message but the send job could not store the
 * provider id (its database writes kept failing), so it handed the id over here, published straight
 * to QStash because the outbox lives in that same database. QStash retries this job until the
 * database is back; recording is idempotent, so a repeated delivery changes nothing. The send job
 * itself finished, so the message is never sent again.
 */
export const sendAcceptedJob = defineJob({
  kind: SEND_ACCEPTED_JOB_KIND,
  payload: sendAcceptedPayload,
  async handle({ services, tenantId }, payload) {
    const outcome = await asTenant(services.db, tenantId, (ctx) =>
      recordAcceptedSend(ctx, { ...payload, now: services.clock.now() }),
    );
    return { status: 'done', detail: `${payload.providerMessageId}: ${outcome}` };
  },
});
