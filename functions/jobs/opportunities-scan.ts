import { z } from 'zod';
import { asTenant } from '../../db/client';
import { SCAN_JOB_KIND, scanOpportunities } from '../../db/opportunities';
import { getTenantSettings } from '../../db/settings';
import { sendOpportunityCards } from '../agent/follow-ups';
import { publishJobs } from '../lib/jobs';
import { defineJob } from './define';

/**
 * The daily follow-up scan of one business (docs/follow-ups.md). The cron queues it per business
 * at 08:00 in the business's time zone (db/opportunities.ts `scheduleOpportunityScans`); owners
 * and admins also run it by hand with `POST /admin/opportunities/scan`. It records opportunities
 * for staff to decide on and sends the staff a few cards about them (follow-ups.ts); nothing goes
 * to a customer. A redelivery finds nothing new (one opportunity per kind and evidence).
 */
export const opportunitiesScanJob = defineJob({
  kind: SCAN_JOB_KIND,
  // The local date it was queued for: the dedupe key's, kept for the logs.
  payload: z.object({ localDate: z.string().optional() }),
  async handle(job, input) {
    const now = job.services.clock.now();
    const { result, jobs } = await asTenant(job.services.db, job.tenantId, async (ctx) => {
      const scanned = await scanOpportunities(ctx, { now });
      const settings = await getTenantSettings(ctx);
      // A redelivery finds today's cards sent: it sends none twice (cards are marked in the row).
      const cards = await sendOpportunityCards(ctx, { settings, now, logger: job.logger });
      return { result: scanned, jobs: cards };
    });
    await publishJobs(job.services, job.env, jobs);
    const found = Object.entries(result.found)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    return {
      status: 'done',
      detail: `${input.localDate ?? 'now'}: found ${found}; expired ${result.expired}; ${jobs.length} card messages`,
    };
  },
});
