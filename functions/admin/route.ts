import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { HonoEnv, Services } from '../context';
import { ApiError, errorCode } from '../errors';
import { safeErrorFields } from '../lib/logger';
import { createServices } from '../services';

/**
 * What every operator route shares, so each route file states only what is its own: documented
 * fields (`field`), the tag, bearer security and error responses (`operatorRoutes`), the `{id}`
 * path parameter, and background work after the response (`afterResponse`). Paging lives beside
 * it in `paging.ts`.
 */

export const EXAMPLE_ID = '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60';
export const EXAMPLE_TIME = '2025-03-14T09:26:53.589Z';

/** Documented fields: each says what it holds and shows an example in the OpenAPI document. */
export const field = {
  /** An id (a UUID). */
  id: (description: string) => z.uuid().openapi({ description, example: EXAMPLE_ID }),
  /** A point in time: ISO 8601 in UTC, as `Date.toISOString` prints it. */
  time: (description: string) =>
    z.string().openapi({ description: `${description} (ISO 8601)`, example: EXAMPLE_TIME }),
  string: (description: string, example: string) => z.string().openapi({ description, example }),
  /** A string that may be null; an example of null says none is the usual case. */
  nullableString: (description: string, example: string | null) =>
    z.string().nullable().openapi({ description, example }),
  boolean: (description: string, example: boolean) => z.boolean().openapi({ description, example }),
  /** A calendar date, `YYYY-MM-DD`, that the calendar has (no 2026-02-30). */
  date: (description: string, example: string) =>
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD')
      .refine((d) => {
        const t = Date.parse(`${d}T00:00:00Z`);
        return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
      }, 'must be a date the calendar has')
      .openapi({ description: `${description} (YYYY-MM-DD)`, example }),
};

/**
 * A `from`..`to` range of dates (YYYY-MM-DD, both inclusive) runs forwards and spans at most
 * `maxDays` days: the diary's and the dashboard's, each naming it its own way (`noun`).
 */
export function checkDateRange(
  q: { from: string; to: string },
  ctx: z.RefinementCtx,
  maxDays: number,
  noun = 'a range',
) {
  if (q.from > q.to) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
  } else if (Date.parse(q.to) - Date.parse(q.from) >= maxDays * 86_400_000) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `${noun} is at most ${maxDays} days` });
  }
}

export const errorEnvelope = z
  .object({
    error: z
      .object({
        code: errorCode.openapi({
          description: 'Machine-readable error class; the HTTP status follows from it',
          example: 'BAD_REQUEST',
        }),
        message: field.string(
          'What went wrong and, where it helps, what to do; safe to show an operator',
          'conversation_id: Invalid UUID',
        ),
        requestId: field.string(
          'This request’s id, also in our logs: quote it when reporting a problem',
          '5f0c9a3e-2b1d-4c7e-9a51-0d3f6c2e8b47',
        ),
        conflicting_id: z.uuid().optional().openapi({
          description:
            'Only on a 409 caused by an existing thing: its id (the appointment holding the time)',
          example: EXAMPLE_ID,
        }),
      })
      .openapi({
        description: 'The error',
        example: {
          code: 'BAD_REQUEST',
          message: 'conversation_id: Invalid UUID',
          requestId: '5f0c9a3e-2b1d-4c7e-9a51-0d3f6c2e8b47',
        },
      }),
  })
  .openapi('Error', { description: 'Every error the API answers, whatever the route' });

const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 422, 429, 500, 503] as const;

/** Error responses every operation may return, for the OpenAPI document. */
export const errorResponses = Object.fromEntries(
  ERROR_STATUSES.map((status) => [
    status,
    {
      description: `Error (${status})`,
      content: { 'application/json': { schema: errorEnvelope } },
    },
  ]),
) as Record<
  (typeof ERROR_STATUSES)[number],
  { description: string; content: { 'application/json': { schema: typeof errorEnvelope } } }
>;

/** A route's own part: `operatorRoutes` adds the method, path, tag, security and error responses. */
type OwnRouteConfig = Omit<
  RouteConfig,
  'method' | 'path' | 'security' | 'operationId' | 'summary' | 'tags'
> & {
  operationId: string;
  summary: string;
};

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  content: { 'application/json': { schema } },
  required: true,
});

/** A JSON response. */
export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});

/**
 * `createRoute` for the operator API routes of one tag, declared as `route(method, path, config)`:
 * bearer-secured, with the shared error responses.
 */
export function operatorRoutes(tag: string) {
  return <M extends RouteConfig['method'], P extends string, R extends OwnRouteConfig>(
    method: M,
    path: P,
    config: R,
  ) =>
    createRoute({
      method,
      path,
      tags: [tag],
      ...config,
      security: [{ bearer: [] }],
      responses: { ...config.responses, ...errorResponses },
    });
}

/** `buffer_after_minutes` → `bufferAfterMinutes`: how db/ names what the API snake_cases. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** What a row holds for an API field: the same value, or a Date where the API shows ISO text. */
type Stored<T> = T extends string ? T | Date : T;

/** A row with every field of an API object `Shape`, by its camelCase name. */
export type RowFor<Shape extends z.ZodRawShape> = {
  [K in keyof Shape & string as CamelCase<K>]: Stored<z.infer<Shape[K]>>;
};

/**
 * The API object `schema` of a row it only renames: each snake_case field is the row's camelCase
 * one, a Date as ISO 8601 text. Only the schema's fields are copied, so a column the API does not
 * show (tenant_id) never leaves (responses are not validated). Mappers that change a value
 * (`HH:MM:SS` → `HH:MM`) stay written out.
 */
export function fromRow<S extends z.ZodObject>(schema: S, row: RowFor<S['shape']>): z.infer<S> {
  const stored: Record<string, unknown> = row;
  return Object.fromEntries(
    Object.keys(schema.shape).map((key) => {
      const value = stored[key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())];
      return [key, value instanceof Date ? value.toISOString() : value];
    }),
  ) as z.infer<S>;
}

/** NUL, the other C0 controls and DEL: no name, label, search or id a person types holds one. */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * The string every text path or query parameter starts from. Postgres text cannot hold NUL, so
 * a `%00` that reached a query failed there as a 500; refused here it is a 400 naming the field,
 * before any query, and control characters with it (they only ever come from a fuzzer or an
 * attacker). Chain length limits, trimming and patterns after it.
 */
export const textParam = () =>
  z.string().refine((text) => !hasControlCharacter(text), {
    message: 'must not contain NUL or control characters',
  });

/** The path (`tags.0`, `text`) of the first string or key holding NUL in a parsed JSON body. */
function pathOfNul(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string')
    return value.includes('\u0000') ? path.join('.') || '(body)' : null;
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, inner] of Object.entries(value)) {
    const here = [...path, key];
    if (key.includes('\u0000')) return here.join('.');
    const found = pathOfNul(inner, here);
    if (found) return found;
  }
  return null;
}

/**
 * JSON bodies of every operator route: a string holding NUL (`\u0000` is valid JSON) is a 400
 * naming its field, in one place for every route; Postgres text and jsonb cannot store it, and it
 * used to fail there as a 500. Tabs and line breaks are text people type: only NUL is refused.
 * The body parsed here is the one the route's validator reads (Hono caches it); one that does not
 * parse is left to the validator's own 400.
 */
export const jsonWithoutNul = createMiddleware<HonoEnv>(async function jsonWithoutNul(c, next) {
  if (/^application\/([\w.-]+\+)?json/i.test(c.req.header('content-type') ?? '')) {
    const body: unknown = await c.req.json().catch(() => undefined);
    const field = pathOfNul(body);
    if (field) throw new ApiError('BAD_REQUEST', `${field}: must not contain NUL`);
  }
  await next();
});

/** The `{id}` path parameter of every route that addresses one thing by its id. */
export const idParams = z.object({
  id: z.uuid().openapi({
    param: { name: 'id', in: 'path' },
    description: 'The id (a UUID) of the thing the path names, as listed by the API',
    example: EXAMPLE_ID,
  }),
});

/**
 * Work that must not delay the answer (publishing jobs, read receipts), handed to `waitUntil`.
 * It gets its own services: the request's database client is closed once the response is sent.
 * A failure is logged with the request's logger under `label`, never thrown: the answer is gone.
 */
export function afterResponse(
  c: Context<HonoEnv>,
  label: string,
  work: (services: Services) => Promise<unknown>,
): void {
  const { env, services: requestServices, logger, requestId } = c.var;
  const task = (async () => {
    const { services, close } = createServices(env, {
      clock: requestServices.clock,
      logFields: { requestId, phase: 'after-response', work: label },
    });
    try {
      await work(services);
    } finally {
      await close().catch(() => {});
    }
  })().catch((err) =>
    logger.error('after-response work failed', { work: label, ...safeErrorFields(err) }),
  );
  try {
    c.executionCtx.waitUntil(task);
  } catch {
    // No execution context (a bare app.request): the task still runs, unawaited.
  }
}
