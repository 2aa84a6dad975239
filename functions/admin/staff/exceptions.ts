import { z } from '@hono/zod-openapi';
import {
  createScheduleException,
  deleteScheduleException,
  listScheduleExceptions,
  type ScheduleExceptionInput,
  type ScheduleExceptionRow,
  updateScheduleException,
} from '../../../db/appointment-setup';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { registerItemRoutes } from '../item-routes';
import { itemsOf } from '../paging';
import { EXAMPLE_ID, field, fromRow, jsonResponse, operatorRoutes } from '../route';
import { hhmm, wallTime } from './hours';

/**
 * `/admin/schedule-exceptions`: dated changes to the weekly hours, of one staff member or (no
 * `staff_id`) of everyone: `closed` / `holiday` (the whole day without times, else that range) and
 * `extra_hours` (a timed range worked beyond the weekly hours). Not under `/staff/{id}` because a
 * tenant-wide one (a public holiday) belongs to nobody.
 */

const route = operatorRoutes('staff');

const doc = {
  staffId: {
    description: 'Whose schedule it changes; null: everyone (e.g. a public holiday)',
    example: EXAMPLE_ID,
  },
  date: 'The local date it applies to',
  kind: {
    description:
      'closed / holiday: not working (the whole day without times); extra_hours: working beyond the weekly hours (times required)',
    example: 'holiday' as const,
  },
  start: 'When the range starts, HH:MM local; null with end_time: the whole day',
  end: 'When the range ends, HH:MM local (24:00: midnight); null with start_time: the whole day',
  note: { description: 'Why, for the team; null: none', example: 'Public holiday' },
};

const kind = z.enum(['closed', 'holiday', 'extra_hours']).openapi(doc.kind);
const fields = {
  staff_id: z.uuid().nullable().openapi(doc.staffId),
  date: field.date(doc.date, '2027-01-06'),
  kind,
  start_time: wallTime(doc.start, '14:00').nullable(),
  end_time: wallTime(doc.end, '18:00', true).nullable(),
  note: z.string().trim().max(500).nullable().openapi(doc.note),
};

type Times = { kind?: string; start_time?: string | null; end_time?: string | null };
/** The table's rules, said per field before they reach Postgres (it checks them again). */
function checkTimes(v: Times, ctx: z.RefinementCtx, complete: boolean) {
  if (complete && (v.start_time === null) !== (v.end_time === null)) {
    ctx.addIssue({ code: 'custom', path: ['end_time'], message: 'give both times, or neither' });
  }
  if (v.start_time && v.end_time && v.start_time >= v.end_time) {
    ctx.addIssue({ code: 'custom', path: ['end_time'], message: 'must be after start_time' });
  }
  if (complete && v.kind === 'extra_hours' && !v.start_time) {
    ctx.addIssue({ code: 'custom', path: ['start_time'], message: 'extra_hours need times' });
  }
}

const exceptionInput = z
  .object({
    staff_id: fields.staff_id.default(null),
    date: fields.date,
    kind: fields.kind,
    start_time: fields.start_time.default(null),
    end_time: fields.end_time.default(null),
    note: fields.note.default(null),
  })
  .strict()
  .superRefine((v, ctx) => checkTimes(v, ctx, true))
  .openapi('ScheduleExceptionInput', { description: 'A dated change to the weekly hours' });

const exceptionPatch = z
  .object(fields)
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .superRefine((v, ctx) => checkTimes(v, ctx, false))
  .openapi('ScheduleExceptionPatch', { description: 'The fields to change; the others stay' });

const exception = z
  .object({
    id: field.id('The exception'),
    staff_id: z.string().nullable().openapi(doc.staffId),
    date: field.string(`${doc.date} (YYYY-MM-DD)`, '2027-01-06'),
    kind: z.string().openapi(doc.kind),
    start_time: field.nullableString(doc.start, null),
    end_time: field.nullableString(doc.end, null),
    note: z.string().nullable().openapi(doc.note),
  })
  .openapi('ScheduleException', { description: 'A dated change to the weekly hours' });

/** Postgres's `HH:MM:SS` shortened to the API's `HH:MM`. */
function toException(row: ScheduleExceptionRow): z.infer<typeof exception> {
  const { startTime, endTime } = row;
  return {
    ...fromRow(exception, row),
    start_time: startTime && hhmm(startTime),
    end_time: endTime && hhmm(endTime),
  };
}

function toInput(body: z.infer<typeof exceptionPatch>): Partial<ScheduleExceptionInput> {
  return {
    ...(body.staff_id !== undefined ? { staffId: body.staff_id } : {}),
    ...(body.date !== undefined ? { date: body.date } : {}),
    ...(body.kind !== undefined ? { kind: body.kind } : {}),
    ...(body.start_time !== undefined ? { startTime: body.start_time } : {}),
    ...(body.end_time !== undefined ? { endTime: body.end_time } : {}),
    ...(body.note !== undefined ? { note: body.note } : {}),
  };
}

const listRoute = route('get', '/schedule-exceptions', {
  operationId: 'listScheduleExceptions',
  summary: 'Exceptions between two dates, by date (with staff_id: theirs and everyone’s)',
  request: {
    query: z.object({
      from: field.date('First date', '2027-01-01').optional(),
      to: field.date('Last date, inclusive', '2027-01-31').optional(),
      staff_id: z
        .uuid()
        .optional()
        .openapi({ description: 'Only what applies to this staff member', example: EXAMPLE_ID }),
    }),
  },
  responses: {
    200: jsonResponse('The exceptions', itemsOf(exception, 'Exceptions, by date (at most 1000)')),
  },
});

export function registerScheduleExceptions(app: App) {
  app.openapi(listRoute, async (c) => {
    const { from, to, staff_id: staffId } = c.req.valid('query');
    const rows = await asCurrentOperator(c, ({ ctx }) =>
      listScheduleExceptions(ctx, { from, to, staffId }),
    );
    return c.json({ items: rows.map(toException) }, 200);
  });

  registerItemRoutes(app, {
    tag: 'staff',
    path: '/schedule-exceptions',
    operation: 'ScheduleException',
    thing: 'exception',
    schemas: { item: exception, input: exceptionInput, patch: exceptionPatch },
    summaries: {
      create: 'Add a dated exception to the weekly hours (owners and admins)',
      update: 'Change a dated exception (owners and admins)',
      delete: 'Remove a dated exception (owners and admins)',
    },
    toItem: toException,
    db: {
      create: (ctx, body) =>
        createScheduleException(ctx, {
          staffId: body.staff_id,
          date: body.date,
          kind: body.kind,
          startTime: body.start_time,
          endTime: body.end_time,
          note: body.note,
        }),
      update: (ctx, { id }, body) =>
        updateScheduleException(ctx, { exceptionId: id, changes: toInput(body) }),
      delete: (ctx, { id }) => deleteScheduleException(ctx, id),
    },
  });
}
