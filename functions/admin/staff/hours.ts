import { z } from '@hono/zod-openapi';
import {
  createWorkingHours,
  deleteWorkingHours,
  listWorkingHours,
  updateWorkingHours,
  type WorkingHoursInput,
  type WorkingHoursRow,
} from '../../../db/appointment-setup';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { registerItemRoutes } from '../item-routes';
import { itemsOf } from '../paging';
import { EXAMPLE_ID, field, fromRow, idParams, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/staff/{id}/working-hours`: a staff member's weekly hours, wall-clock times in the
 * business time zone (a 9:00 opening stays 9:00 across daylight-saving changes). Several ranges on
 * one weekday make a split shift.
 */

const route = operatorRoutes('staff');

/** `HH:MM`, 24 h; `24:00` (the end of the day) only where `allowMidnightEnd`. */
export function wallTime(description: string, example: string, allowMidnightEnd = false) {
  const pattern = allowMidnightEnd
    ? /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/
    : /^([01]\d|2[0-3]):[0-5]\d$/;
  return z
    .string()
    .regex(pattern, allowMidnightEnd ? 'must be HH:MM (24 h), or 24:00' : 'must be HH:MM (24 h)')
    .openapi({ description, example });
}

/** Postgres prints `time` as HH:MM:SS; the API speaks HH:MM. */
export const hhmm = (time: string) => time.slice(0, 5);

const doc = {
  weekday: { description: 'ISO weekday: 1 = Monday … 7 = Sunday', example: 1 },
  start: 'When the range starts, HH:MM local',
  end: 'When the range ends, HH:MM local (24:00: midnight)',
};

const weekday = z.number().int().min(1).max(7).openapi(doc.weekday);
const start = wallTime(doc.start, '09:00');
const end = wallTime(doc.end, '14:00', true);

const hoursInput = z
  .object({ weekday, start_time: start, end_time: end })
  .strict()
  .refine((v) => v.start_time < v.end_time, {
    message: 'must be after start_time',
    path: ['end_time'],
  })
  .openapi('WorkingHoursInput', { description: 'A weekly range of working hours' });

const hoursPatch = z
  .object({ weekday, start_time: start, end_time: end })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .refine((v) => !v.start_time || !v.end_time || v.start_time < v.end_time, {
    message: 'must be after start_time',
    path: ['end_time'],
  })
  .openapi('WorkingHoursPatch', { description: 'The fields to change; the others stay' });

const hours = z
  .object({
    id: field.id('The range'),
    staff_id: field.id('Whose hours'),
    weekday: z.number().int().openapi(doc.weekday),
    start_time: field.string(doc.start, '09:00'),
    end_time: field.string(doc.end, '14:00'),
  })
  .openapi('WorkingHours', { description: 'A weekly range of working hours of a staff member' });

/** Postgres's `HH:MM:SS` shortened to the API's `HH:MM`. */
function toHours(row: WorkingHoursRow): z.infer<typeof hours> {
  return { ...fromRow(hours, row), start_time: hhmm(row.startTime), end_time: hhmm(row.endTime) };
}

const hoursParams = idParams.extend({
  hours_id: z.uuid().openapi({
    param: { name: 'hours_id', in: 'path' },
    description: 'The id of the range of working hours',
    example: EXAMPLE_ID,
  }),
});

const listRoute = route('get', '/staff/{id}/working-hours', {
  operationId: 'listWorkingHours',
  summary: "A staff member's weekly hours, Monday first",
  request: { params: idParams },
  responses: {
    200: jsonResponse('The weekly hours', itemsOf(hours, 'Ranges, by weekday and start')),
  },
});

function toInput(body: z.infer<typeof hoursPatch>): Partial<WorkingHoursInput> {
  return {
    ...(body.weekday !== undefined ? { weekday: body.weekday } : {}),
    ...(body.start_time !== undefined ? { startTime: body.start_time } : {}),
    ...(body.end_time !== undefined ? { endTime: body.end_time } : {}),
  };
}

export function registerWorkingHours(app: App) {
  app.openapi(listRoute, async (c) => {
    const { id } = c.req.valid('param');
    const rows = await asCurrentOperator(c, ({ ctx }) => listWorkingHours(ctx, id));
    return c.json({ items: rows.map(toHours) }, 200);
  });

  registerItemRoutes(app, {
    tag: 'staff',
    path: '/staff/{id}/working-hours',
    itemPath: '/staff/{id}/working-hours/{hours_id}',
    pathParams: idParams,
    itemParams: hoursParams,
    operation: 'WorkingHours',
    thing: 'range',
    schemas: { item: hours, input: hoursInput, patch: hoursPatch },
    summaries: {
      create: 'Add a weekly range of working hours (owners and admins)',
      update: 'Change a weekly range of working hours (owners and admins)',
      delete: 'Remove a weekly range of working hours (owners and admins)',
    },
    toItem: toHours,
    db: {
      create: (ctx, body, { id }) =>
        createWorkingHours(ctx, {
          staffId: id,
          weekday: body.weekday,
          startTime: body.start_time,
          endTime: body.end_time,
        }),
      update: (ctx, { id, hours_id: hoursId }, body) =>
        updateWorkingHours(ctx, { staffId: id, hoursId, changes: toInput(body) }),
      delete: (ctx, { id, hours_id: hoursId }) => deleteWorkingHours(ctx, { staffId: id, hoursId }),
    },
  });
}
