import { asIntake } from '../db/client';
import { rollUpDashboards } from '../db/dashboard';
import { scheduleOpportunityScans } from '../db/opportunities';
import { newApp } from './app';
import { queueKnowledgeEmbeddings } from './jobs/knowledge-embedding';
import { sweepOutbox } from './lib/jobs';
import { safeErrorFields } from './lib/logger';
import { replayStaleEvents, sweepStuckSends } from './lib/sweepers';
import { envFor } from './middleware/init';
import { createServices } from './services';

/** Worker entry: the composition root. Everything else is built by `newApp()`. */
const app = newApp();

export default {
  fetch: app.fetch,
  /**
   * Cron, every minute: queue each business's next daily follow-up scan (a no-op once queued) and
   * the embedding of knowledge articles not embedded with the configured model yet, then
   * publish outbox jobs that stayed pending (QStash was unreachable when they were made), which
   * includes the scans just queued; then recover sends stuck with no job due and replay bodies a
   * failed processing left `received` (functions/lib/sweepers.ts); then roll up the dashboards'
   * closed days (db/dashboard.ts; a no-op once a day is rolled up). A failed step never holds up
   * the next.
   */
  async scheduled(_event, bindings, ctx) {
    const env = envFor(bindings);
    const { services, close } = createServices(env, { logFields: { trigger: 'cron' } });
    ctx.waitUntil(
      asIntake(services.db, scheduleOpportunityScans)
        .then((n) => n > 0 && services.logger.info('opportunity scans queued', { queued: n }))
        .catch((err) =>
          services.logger.error('queueing opportunity scans failed', safeErrorFields(err)),
        )
        .then(() => queueKnowledgeEmbeddings(services, env))
        .then(
          (n) => n > 0 && services.logger.info('knowledge embeddings queued', { queued: n }),
          (err) =>
            services.logger.error('queueing knowledge embeddings failed', safeErrorFields(err)),
        )
        .then(() => sweepOutbox(services, env))
        .then((n) => n > 0 && services.logger.info('outbox swept', { published: n }))
        .catch((err) => services.logger.error('sweeping the outbox failed', safeErrorFields(err)))
        .then(() => sweepStuckSends(services, env))
        .then(
          (n) => n.requeued + n.failed > 0 && services.logger.info('stuck sends swept', n),
          (err) => services.logger.error('sweeping stuck sends failed', safeErrorFields(err)),
        )
        .then(() => replayStaleEvents(services, env))
        .then(
          (n) => n.replayed + n.failed > 0 && services.logger.info('received events replayed', n),
          (err) => services.logger.error('replaying received events failed', safeErrorFields(err)),
        )
        .then(() => asIntake(services.db, (ctx) => rollUpDashboards(ctx)))
        .then(
          (days) => days > 0 && services.logger.info('dashboard days rolled up', { days }),
          (err) => services.logger.error('rolling up dashboards failed', safeErrorFields(err)),
        )
        .finally(close),
    );
  },
} satisfies ExportedHandler<Record<string, unknown>>;
