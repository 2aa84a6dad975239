import { z } from '@hono/zod-openapi';
import type { App } from '../../app';
import { currentMembership } from '../../middleware/operator-auth';
import { field, jsonResponse, operatorRoutes } from '../route';

const route = operatorRoutes('operators');

const role = z.enum(['owner', 'admin', 'agent']);

const me = z
  .object({
    user_id: field.id("The operator's user id (Supabase Auth)"),
    email: field.nullableString('The sign-in email, when there is one', 'ana@example.com'),
    tenant_id: field.id('The business this session acts on'),
    role: role.openapi({
      description: 'Their role in that business: owners and admins change settings',
      example: 'admin',
    }),
    memberships: z
      .array(
        z.object({
          tenant_id: field.id('A business they belong to'),
          tenant_name: field.string("The business's name", 'Clínica Sol'),
          role: role.openapi({ description: 'Their role there', example: 'agent' }),
        }),
      )
      .openapi({
        description: 'Every business they may act on (choose with the X-Tenant-Id header)',
        example: [
          {
            tenant_id: '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
            tenant_name: 'Clínica Sol',
            role: 'admin',
          },
        ],
      }),
  })
  .openapi('Me', { description: 'The signed-in operator and the businesses they act on' });

const meRoute = route('get', '/me', {
  operationId: 'getMe',
  summary: 'The signed-in operator, the business they act on, and all their memberships',
  responses: { 200: jsonResponse('The operator', me) },
});

export function registerMe(app: App) {
  app.openapi(meRoute, async (c) => {
    const op = c.var.operator;
    const { role, memberships } = await currentMembership(c);
    return c.json(
      {
        user_id: op.userId,
        email: op.email ?? null,
        tenant_id: op.tenantId,
        role,
        memberships: memberships.map((m) => ({
          tenant_id: m.tenantId,
          tenant_name: m.tenantName,
          role: m.role,
        })),
      },
      200,
    );
  });
}
