import { z } from '@hono/zod-openapi';
import {
  createStaffMember,
  deleteStaffMember,
  getStaffMember,
  type StaffInput,
  updateStaffMember,
} from '../../../db/appointment-setup';
import { listStaff, type StaffMember } from '../../../db/appointments';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { registerItemRoutes } from '../item-routes';
import { itemsOf } from '../paging';
import { EXAMPLE_ID, field, fromRow, jsonResponse, operatorRoutes } from '../route';
import { includeInactiveQuery } from '../services';
import { registerScheduleExceptions } from './exceptions';
import { registerWorkingHours } from './hours';

/**
 * `/admin/staff`: whose time is booked (people, or resources such as a room), with their weekly
 * hours (`/staff/{id}/working-hours`) and dated exceptions (`/schedule-exceptions`). Every member
 * reads; owners and admins write.
 */

const route = operatorRoutes('staff');

const doc = {
  name: { description: 'The name customers and operators see', example: 'Ana' },
  userId: {
    description: 'The operator this staff member is, if any (a member of this business)',
    example: EXAMPLE_ID,
  },
  active: {
    description: 'Deactivated staff (false) keep their appointments but are never offered',
    example: true,
  },
};

const fields = {
  name: z.string().trim().min(1).max(120).openapi(doc.name),
  user_id: z.uuid().nullable().openapi(doc.userId),
  active: z.boolean().openapi(doc.active),
};

const staffInput = z
  .object({
    name: fields.name,
    user_id: fields.user_id.default(null),
    active: fields.active.default(true),
  })
  .strict()
  .openapi('StaffInput', { description: 'A new staff member' });

const staffPatch = z
  .object(fields)
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .openapi('StaffPatch', { description: 'The fields to change; the others stay' });

const staffMember = z
  .object({
    id: field.id('The staff member'),
    name: z.string().openapi(doc.name),
    user_id: z.string().nullable().openapi(doc.userId),
    active: z.boolean().openapi(doc.active),
    created_at: field.time('When they were added'),
    updated_at: field.time('When they last changed'),
  })
  .openapi('StaffMember', { description: 'Someone (or something) whose time is booked' });

const toStaff = (row: StaffMember) => fromRow(staffMember, row);

function toInput(body: z.infer<typeof staffPatch>): Partial<StaffInput> {
  return {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.user_id !== undefined ? { userId: body.user_id } : {}),
    ...(body.active !== undefined ? { active: body.active } : {}),
  };
}

const listRoute = route('get', '/staff', {
  operationId: 'listStaff',
  summary: 'Staff, by name (deactivated ones only when asked)',
  request: { query: z.object({ include_inactive: includeInactiveQuery }) },
  responses: { 200: jsonResponse('The staff', itemsOf(staffMember, 'Staff, by name')) },
});

export function registerStaff(app: App) {
  app.openapi(listRoute, async (c) => {
    const includeInactive = c.req.valid('query').include_inactive === 'true';
    const rows = await asCurrentOperator(c, ({ ctx }) => listStaff(ctx, { includeInactive }));
    return c.json({ items: rows.map(toStaff) }, 200);
  });

  registerItemRoutes(app, {
    tag: 'staff',
    path: '/staff',
    operation: 'StaffMember',
    thing: 'staff member',
    schemas: { item: staffMember, input: staffInput, patch: staffPatch },
    summaries: {
      get: 'One staff member',
      create: 'Add a staff member (owners and admins)',
      update: 'Change a staff member (owners and admins)',
      delete:
        'Delete a staff member never booked, with their hours; one with appointments is a 409: deactivate them instead',
    },
    toItem: toStaff,
    db: {
      get: (ctx, { id }) => getStaffMember(ctx, id),
      create: (ctx, body) =>
        createStaffMember(ctx, { name: body.name, userId: body.user_id, active: body.active }),
      update: (ctx, { id }, body) =>
        updateStaffMember(ctx, { staffId: id, changes: toInput(body) }),
      delete: (ctx, { id }) => deleteStaffMember(ctx, id),
    },
  });

  registerWorkingHours(app);
  registerScheduleExceptions(app);
}
