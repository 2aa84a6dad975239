import { z } from '@hono/zod-openapi';
import { listTeam } from '../../../db/contact-panel';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import { field, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/team`: the operators of the business (its members), for the assignment picker and to
 * name note authors. Not the appointment staff (`/admin/staff`), who need not sign in at all.
 */

const route = operatorRoutes('operators');

const teamMember = z
  .object({
    user_id: field.id("The operator's user id"),
    role: z
      .enum(['owner', 'admin', 'agent'])
      .openapi({ description: 'Their role in the business', example: 'agent' }),
    name: field.string('Their display name, else their sign-in email', 'ana@example.com'),
  })
  .openapi('TeamMember', { description: 'An operator of the business' });

const teamRoute = route('get', '/team', {
  operationId: 'listTeam',
  summary: 'The operators of the business, in the order they joined',
  responses: { 200: jsonResponse('The team', itemsOf(teamMember, 'Operators')) },
});

export function registerTeam(app: App) {
  app.openapi(teamRoute, async (c) => {
    const team = await asCurrentOperator(c, ({ ctx }) => listTeam(ctx));
    return c.json(
      {
        items: team.map((m) => ({
          user_id: m.userId,
          role: m.role,
          name: m.displayName || m.email || m.userId,
        })),
      },
      200,
    );
  });
}
