import { z } from 'zod';
import { asTenant } from '../../db/client';
import { loadContactProfileTarget, storeContactProfile } from '../../db/contact-profiles';
import { GraphApiError, graphClient } from '../lib/graph';
import { graphAccountFor } from '../lib/graph-accounts';
import { defineJob, type JobContext, type JobOutcome } from './define';

export const CONTACT_PROFILE_JOB = 'contact-profile';

/** QStash gets 5 retries from publishJobs: after the last, the lookup is given up (and logged). */
const LAST_RETRY = 5;

/**
 * `contact-profile`: a Messenger / Instagram customer's name (and Instagram username) from Graph's
 * User Profile API, once, after the webhook that first stored them answered (db/inbound.ts
 * enqueues it, deduplicated per contact). Meta answers only with the customer's consent (they
 * wrote to the business) and the right permissions; a refusal (no permission, unknown id, 4xx)
 * is permanent: logged as the job's outcome and not retried, and the contact keeps its id.
 */
export const contactProfileJob = defineJob({
  kind: CONTACT_PROFILE_JOB,
  payload: z.object({ contactId: z.uuid(), channelAccountId: z.uuid() }),
  async handle(job: JobContext, { contactId, channelAccountId }): Promise<JobOutcome> {
    const { services, env, tenantId } = job;
    const target = await asTenant(services.db, tenantId, (ctx) =>
      loadContactProfileTarget(ctx, contactId, channelAccountId),
    );
    if (!target) return { status: 'done', detail: 'the contact or account no longer exists' };
    if (target.account.channel === 'whatsapp') {
      return { status: 'done', detail: 'WhatsApp webhooks carry the profile name' };
    }
    if (target.account.channel === 'web') {
      return { status: 'done', detail: 'a widget visitor gives their own name' };
    }
    if (target.name) return { status: 'done', detail: 'the contact already has a name' };
    const account = await graphAccountFor(services, env, tenantId, target.account);
    if (!account) return { status: 'done', detail: 'skipped: the account has no access token' };
    let profile: { name: string | null; username: string | null };
    try {
      profile = await graphClient(env).userProfile(account, target.externalUserId);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const transient = err instanceof GraphApiError ? err.transient : true;
      if (!transient) return { status: 'dead', detail: `profile lookup refused: ${reason}` };
      if (job.retried >= LAST_RETRY) {
        return { status: 'dead', detail: `profile lookup given up after retries: ${reason}` };
      }
      return { status: 'retry', detail: reason };
    }
    await asTenant(services.db, tenantId, (ctx) => storeContactProfile(ctx, contactId, profile));
    return {
      status: 'done',
      detail: profile.name || profile.username ? 'name stored' : 'the profile has no name',
    };
  },
});
