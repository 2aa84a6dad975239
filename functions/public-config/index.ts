import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../app';

const publicConfig = z
  .object({
    supabase_url: z.url(),
    supabase_anon_key: z.string(),
    version: z.string(),
  })
  .openapi('PublicConfig');

const route = createRoute({
  method: 'get',
  path: '/config.json',
  tags: ['operators'],
  operationId: 'getPublicConfig',
  summary: 'What the operator page needs to sign in (public values only)',
  responses: {
    200: { description: 'Config', content: { 'application/json': { schema: publicConfig } } },
  },
});

/** The page reads its Supabase project from here, so the same static files work in every environment. */
export function registerPublicConfig(app: App) {
  app.openapi(route, (c) =>
    c.json(
      {
        supabase_url: c.var.env.SUPABASE_URL,
        supabase_anon_key: c.var.env.SUPABASE_ANON_KEY,
        version: c.var.env.APP_VERSION,
      },
      200,
    ),
  );
}
