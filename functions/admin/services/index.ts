import { z } from '@hono/zod-openapi';
import {
  createService,
  deleteService,
  getService,
  type ServiceInput,
  updateService,
} from '../../../db/appointment-setup';
import { listServices, type Service } from '../../../db/appointments';
import type { App } from '../../app';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { registerItemRoutes } from '../item-routes';
import { itemsOf } from '../paging';
import { EXAMPLE_ID, field, fromRow, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/services`: what the business sells by the slot (docs/appointments.md), with the staff
 * who perform each. Every member reads them; owners and admins write them, since they change what
 * the agent offers customers.
 */

const route = operatorRoutes('services');

const doc = {
  name: {
    description: 'The name, shown when no name in the customer’s language',
    example: 'Haircut',
  },
  names: {
    description: 'The name per two-letter language code, shown to customers in their language',
    example: { es: 'Corte de pelo' },
  },
  description: {
    description: 'What it is, for the agent and customers; null: none',
    example: 'Wash, cut and style.',
  },
  duration: { description: 'How long the service takes, in minutes (1–1440)', example: 30 },
  price: {
    description: 'Price in minor units of `currency` (cents); null: on request',
    example: 2500,
  },
  currency: {
    description: 'ISO 4217 currency code, required with a price; null: none',
    example: 'EUR',
  },
  bufferBefore: {
    description: 'Minutes the staff member is busy before it (preparation), not told to customers',
    example: 0,
  },
  bufferAfter: {
    description: 'Minutes the staff member is busy after it (cleaning), not told to customers',
    example: 10,
  },
  bookable: { description: 'Customers may book it themselves through the agent', example: true },
  requiresAssessment: {
    description: 'A person must assess the customer first: the agent offers a consultation instead',
    example: false,
  },
  active: {
    description: 'Retired services (false) keep their history but are never offered',
    example: true,
  },
  recallAfterDays: {
    description:
      'Customers are due back this many days after their last completed appointment of it (1–3650): the daily follow-up scan proposes a recall; null: never',
    example: 180,
  },
  staffIds: { description: 'The staff members who perform it', example: [EXAMPLE_ID] },
};

const minutes = (max: number) => z.number().int().min(0).max(max);
const fields = {
  name: z.string().trim().min(1).max(120).openapi(doc.name),
  names: z
    .record(
      z.string().regex(/^[a-z]{2}$/, 'keys must be two-letter ISO 639-1 codes, e.g. es, en'),
      z.string().trim().min(1).max(120),
    )
    .openapi(doc.names),
  description: z.string().trim().max(2000).nullable().openapi(doc.description),
  duration_minutes: z.number().int().min(1).max(1440).openapi(doc.duration),
  price_minor: z.number().int().min(0).max(100_000_000).nullable().openapi(doc.price),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code, e.g. EUR')
    .nullable()
    .openapi(doc.currency),
  buffer_before_minutes: minutes(1440).openapi(doc.bufferBefore),
  buffer_after_minutes: minutes(1440).openapi(doc.bufferAfter),
  bookable: z.boolean().openapi(doc.bookable),
  requires_assessment: z.boolean().openapi(doc.requiresAssessment),
  active: z.boolean().openapi(doc.active),
  recall_after_days: z.number().int().min(1).max(3650).nullable().openapi(doc.recallAfterDays),
  staff_ids: z.array(z.uuid()).max(200).openapi(doc.staffIds),
};

const serviceInput = z
  .object({
    name: fields.name,
    names: fields.names.default({}),
    description: fields.description.default(null),
    duration_minutes: fields.duration_minutes,
    price_minor: fields.price_minor.default(null),
    currency: fields.currency.default(null),
    buffer_before_minutes: fields.buffer_before_minutes.default(0),
    buffer_after_minutes: fields.buffer_after_minutes.default(0),
    bookable: fields.bookable.default(true),
    requires_assessment: fields.requires_assessment.default(false),
    active: fields.active.default(true),
    recall_after_days: fields.recall_after_days.default(null),
    staff_ids: fields.staff_ids.default([]),
  })
  .strict()
  .refine((v) => v.price_minor === null || v.currency !== null, {
    message: 'a price needs a currency',
    path: ['currency'],
  })
  .openapi('ServiceInput', { description: 'A new service' });

const servicePatch = z
  .object(fields)
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .openapi('ServicePatch', {
    description: 'The fields to change; the others stay. `staff_ids` replaces the performers',
  });

const service = z
  .object({
    id: field.id('The service'),
    name: z.string().openapi(doc.name),
    names: z.record(z.string(), z.string()).openapi(doc.names),
    description: z.string().nullable().openapi(doc.description),
    duration_minutes: z.number().int().openapi(doc.duration),
    price_minor: z.number().int().nullable().openapi(doc.price),
    currency: z.string().nullable().openapi(doc.currency),
    buffer_before_minutes: z.number().int().openapi(doc.bufferBefore),
    buffer_after_minutes: z.number().int().openapi(doc.bufferAfter),
    bookable: z.boolean().openapi(doc.bookable),
    requires_assessment: z.boolean().openapi(doc.requiresAssessment),
    active: z.boolean().openapi(doc.active),
    recall_after_days: z.number().int().nullable().openapi(doc.recallAfterDays),
    staff_ids: z.array(z.string()).openapi(doc.staffIds),
    created_at: field.time('When it was added'),
    updated_at: field.time('When it last changed'),
  })
  .openapi('Service', { description: 'A service customers book by the slot' });

const toService = (row: Service) => fromRow(service, row);

/** The API's snake_case fields as db/ names them. */
function toInput<T extends z.infer<typeof servicePatch>>(
  body: T,
): T extends z.infer<typeof serviceInput> ? ServiceInput : Partial<ServiceInput>;
function toInput(body: z.infer<typeof servicePatch>): Partial<ServiceInput> {
  const input: Partial<ServiceInput> = {
    name: body.name,
    names: body.names,
    description: body.description,
    durationMinutes: body.duration_minutes,
    priceMinor: body.price_minor,
    currency: body.currency,
    bufferBeforeMinutes: body.buffer_before_minutes,
    bufferAfterMinutes: body.buffer_after_minutes,
    bookable: body.bookable,
    requiresAssessment: body.requires_assessment,
    active: body.active,
    recallAfterDays: body.recall_after_days,
    staffIds: body.staff_ids,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

export const includeInactiveQuery = z
  .enum(['true', 'false'])
  .optional()
  .openapi({ description: 'true: also the retired ones', example: 'false' });

const listRoute = route('get', '/services', {
  operationId: 'listServices',
  summary: 'Services with who performs them, by name (retired ones only when asked)',
  request: { query: z.object({ include_inactive: includeInactiveQuery }) },
  responses: { 200: jsonResponse('The services', itemsOf(service, 'Services, by name')) },
});

export function registerServices(app: App) {
  app.openapi(listRoute, async (c) => {
    const includeInactive = c.req.valid('query').include_inactive === 'true';
    const rows = await asCurrentOperator(c, ({ ctx }) => listServices(ctx, { includeInactive }));
    return c.json({ items: rows.map(toService) }, 200);
  });

  registerItemRoutes(app, {
    tag: 'services',
    path: '/services',
    operation: 'Service',
    thing: 'service',
    schemas: { item: service, input: serviceInput, patch: servicePatch },
    summaries: {
      get: 'One service',
      create: 'Add a service (owners and admins)',
      update: 'Change a service or who performs it (owners and admins)',
      delete: 'Delete a service never booked; one with appointments is a 409: retire it instead',
    },
    toItem: toService,
    db: {
      get: (ctx, { id }) => getService(ctx, id),
      create: (ctx, body) => createService(ctx, toInput(body)),
      update: (ctx, { id }, body) => updateService(ctx, { serviceId: id, changes: toInput(body) }),
      delete: (ctx, { id }) => deleteService(ctx, id),
    },
  });
}
