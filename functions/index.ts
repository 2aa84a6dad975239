import { newApp } from './app';
import { sweepOutbox } from './lib/jobs';
import { envFor } from './middleware/init';
import { createServices } from './services';

/** Worker entry: the composition root. Everything else is built by `newApp()`. */
const app = newApp();

export default {
  fetch: app.fetch,
  /** Cron: publish outbox jobs that stayed pending (QStash was unreachable when they were made). */
  async scheduled(_event, bindings, ctx) {
    const env = envFor(bindings);
    const { services, close } = createServices(env, { logFields: { trigger: 'cron' } });
    ctx.waitUntil(
      sweepOutbox(services, env)
        .then((n) => n > 0 && services.logger.info('outbox swept', { published: n }))
        .finally(close),
    );
  },
} satisfies ExportedHandler<Record<string, unknown>>;
