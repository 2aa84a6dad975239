import { createRoute, z } from '@hono/zod-openapi';
import { databaseIsUp } from '../../db/health';
import type { App } from '../app';

const health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string().openapi({ example: '0.1.0' }),
    database: z.enum(['up', 'down']),
  })
  .openapi('Health');

const route = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  operationId: 'getHealth',
  summary: 'Liveness and database reachability',
  responses: {
    200: { description: 'Healthy', content: { 'application/json': { schema: health } } },
    503: {
      description: 'The database is unreachable',
      content: { 'application/json': { schema: health } },
    },
  },
});

export function registerHealth(app: App) {
  app.openapi(route, async (c) => {
    const up = await databaseIsUp(c.var.services.db);
    const version = c.var.env.APP_VERSION;
    return up
      ? c.json({ status: 'ok' as const, version, database: 'up' as const }, 200)
      : c.json({ status: 'degraded' as const, version, database: 'down' as const }, 503);
  });
}
