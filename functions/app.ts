import type { Hook } from '@hono/zod-openapi';
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { adminApp } from './admin';
import type { Clock, HonoEnv } from './context';
import { ApiError, handleError, zodMessage } from './errors';
import { registerHealth } from './health';
import { registerJobs } from './jobs';
import type { JobHandler } from './jobs/define';
import { init } from './middleware/init';
import { noStore, operatorPage, securityHeaders } from './middleware/security-headers';
import { platformApp } from './platform';
import { registerPublicConfig } from './public-config';
import { registerWebhooks } from './webhooks';
import { registerProviderWebhooks } from './webhooks/providers';
import { registerWidget, widgetEdge } from './widget';

export type App = OpenAPIHono<HonoEnv>;

/** zod failures on any route become a 400 in the one envelope, naming the field paths. */
// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes of every input shape
export const validationHook: Hook<any, HonoEnv, any, any> = (result) => {
  if (!result.success) throw new ApiError('BAD_REQUEST', zodMessage(result.error));
};

/**
 * The one app factory, used by the Worker entry and by the tests. Options exist only for what a
 * test must control (the clock, extra job kinds); everything else comes from bindings.
 */
export function newApp(options: { clock?: Clock; jobs?: JobHandler[] } = {}): App {
  const app = new OpenAPIHono<HonoEnv>({ defaultHook: validationHook });
  app.onError(handleError);
  app.notFound((c) =>
    handleError(new ApiError('NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`), c),
  );
  app.use('*', requestId());
  // The widget's script is loaded by other sites' pages (docs/widget.md): not same-origin only.
  app.use('/widget.js', async (c, next) => {
    await next();
    c.res.headers.set('cross-origin-resource-policy', 'cross-origin');
  });
  app.use('*', securityHeaders);
  app.use('/admin/*', noStore);
  app.use('/platform/*', noStore);
  // The widget's CORS and its own, smaller body limit, before the app's.
  app.use('/widget/*', ...widgetEdge);
  // Meta batches up to 1,000 updates per webhook; nothing legitimate we accept is near 1 MiB.
  app.use(
    '*',
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than 1 MiB.');
      },
    }),
  );
  app.use('*', operatorPage);
  app.use('*', init(options));

  registerHealth(app);
  registerJobs(app, options.jobs);
  registerPublicConfig(app);
  registerWebhooks(app);
  registerProviderWebhooks(app);
  registerWidget(app);
  app.route('/admin', adminApp());
  app.route('/platform', platformApp());

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'Supabase access token (JWT)',
  });
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: { title: 'Switchboard operator API', version: c.var.env.APP_VERSION },
  }));
  return app;
}
