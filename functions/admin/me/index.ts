import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../../app';
import { errorResponses } from '../../errors';

const me = z
  .object({
    user_id: z.uuid(),
    email: z.string().nullable(),
    tenant_id: z.uuid().openapi({ description: 'The business this session acts on' }),
    role: z.enum(['owner', 'admin', 'agent']),
    memberships: z.array(
      z.object({
        tenant_id: z.uuid(),
        tenant_name: z.string(),
        role: z.enum(['owner', 'admin', 'agent']),
      }),
    ),
  })
  .openapi('Me');

const route = createRoute({
  method: 'get',
  path: '/me',
  tags: ['operators'],
  operationId: 'getMe',
  summary: 'The signed-in operator, the business they act on, and all their memberships',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'The operator', content: { 'application/json': { schema: me } } },
    ...errorResponses,
  },
});

export function registerMe(app: App) {
  app.openapi(route, (c) => {
    const op = c.var.operator;
    return c.json(
      {
        user_id: op.userId,
        email: op.email ?? null,
        tenant_id: op.tenantId,
        role: op.role,
        memberships: op.memberships.map((m) => ({
          tenant_id: m.tenantId,
          tenant_name: m.tenantName,
          role: m.role,
        })),
      },
      200,
    );
  });
}
