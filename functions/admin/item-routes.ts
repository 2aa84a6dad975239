import { z } from '@hono/zod-openapi';
import type { TenantContext } from '../../db/client';
import type { OutboxJob } from '../../db/outbox';
import type { App } from '../app';
import type { HonoEnv } from '../context';
import { publishJobs } from '../lib/jobs';
import { asCurrentOperator, requireRole } from '../middleware/operator-auth';
import { idParams, jsonBody, jsonResponse, operatorRoutes } from './route';

/**
 * The routes of a thing every member reads and owners and admins write (knowledge articles,
 * services, staff, their hours, schedule exceptions), declared and served from one description:
 * get one, create, change by a patch and delete, at `path` and `itemPath`. Listing stays each
 * resource's own, since its filters and paging differ.
 */

type Params = z.ZodObject<{ id: z.ZodType<string> } & z.ZodRawShape>;

export type ItemRoutes<
  Row,
  Item extends z.ZodType,
  Input extends z.ZodType,
  Patch extends z.ZodType,
  PathParams extends z.ZodObject,
  ItemParams extends Params,
> = {
  tag: string;
  /** Where new ones are created (`POST`). */
  path: string;
  /** Where one is read, changed and deleted; `{path}/{id}` unless said. */
  itemPath?: string;
  /** The parameters of `path`, when it has any (hours belong to a staff member). */
  pathParams?: PathParams;
  /** The parameters of `itemPath`; `idParams` unless said. */
  itemParams?: ItemParams;
  /** Operation ids: `get{operation}`, `create{operation}`, … */
  operation: string;
  /** What one is called in response descriptions: `The {thing}`, `The new {thing}`. */
  thing: string;
  schemas: { item: Item; input: Input; patch: Patch };
  /** No `get`: the resource is read only through its list. */
  summaries: { get?: string; create: string; update: string; delete: string };
  toItem: (row: Row) => z.infer<Item>;
  db: {
    get?: (ctx: TenantContext, params: z.infer<ItemParams>) => Promise<Row>;
    create: (
      ctx: TenantContext,
      body: z.infer<Input>,
      pathParams: z.infer<PathParams>,
    ) => Promise<Row>;
    update: (ctx: TenantContext, params: z.infer<ItemParams>, body: z.infer<Patch>) => Promise<Row>;
    delete: (ctx: TenantContext, params: z.infer<ItemParams>) => Promise<void>;
  };
  /**
   * Jobs a create or an update queues in its transaction (knowledge articles: their embedding),
   * published once it is committed. `env` is the request's: whether a job applies may depend on it.
   */
  jobs?: (ctx: TenantContext, env: HonoEnv['Variables']['env'], row: Row) => Promise<OutboxJob[]>;
};

/** Writes change what the agent tells customers: owners and admins only. */
const ownersAndAdmins = [requireRole('owner', 'admin')];

export function registerItemRoutes<
  Row,
  Item extends z.ZodType,
  Input extends z.ZodType,
  Patch extends z.ZodType,
  PathParams extends z.ZodObject = z.ZodObject<Record<string, never>>,
  ItemParams extends Params = typeof idParams,
>(app: App, spec: ItemRoutes<Row, Item, Input, Patch, PathParams, ItemParams>) {
  const { path, operation, thing, schemas, summaries, toItem, db } = spec;
  const route = operatorRoutes(spec.tag);
  const itemPath = spec.itemPath ?? `${path}/{id}`;
  // Past this point the schemas are plain zod types to Hono; what `valid` returns is what they
  // declare (Hono has validated it with them), which is what the casts below say.
  const params = (spec.itemParams ?? idParams) as typeof idParams;
  const item: z.ZodType = schemas.item;
  const paramsOf = (c: { req: { valid: (target: 'param') => z.infer<typeof idParams> } }) =>
    c.req.valid('param') as z.infer<ItemParams>;
  const anyBody = z.object({}).loose();

  const get = db.get;
  if (summaries.get && get) {
    const getRoute = route('get', itemPath, {
      operationId: `get${operation}`,
      summary: summaries.get,
      request: { params },
      responses: { 200: jsonResponse(`The ${thing}`, item) },
    });
    app.openapi(getRoute, async (c) => {
      const row = await asCurrentOperator(c, ({ ctx }) => get(ctx, paramsOf(c)));
      return c.json(toItem(row), 200);
    });
  }

  const createRoute = route('post', path, {
    operationId: `create${operation}`,
    summary: summaries.create,
    middleware: ownersAndAdmins,
    request: {
      // No parameters (an empty object) unless the path has them.
      params: (spec.pathParams ?? z.object({})) as typeof idParams,
      body: jsonBody(schemas.input as unknown as typeof anyBody),
    },
    responses: { 201: jsonResponse(`The new ${thing}`, item) },
  });
  app.openapi(createRoute, async (c) => {
    const body = c.req.valid('json') as z.infer<Input>;
    const pathParams = c.req.valid('param') as Parameters<typeof db.create>[2];
    const { row, jobs } = await asCurrentOperator(c, async ({ ctx }) => {
      const row = await db.create(ctx, body, pathParams);
      return { row, jobs: (await spec.jobs?.(ctx, c.var.env, row)) ?? [] };
    });
    if (jobs.length > 0) await publishJobs(c.var.services, c.var.env, jobs);
    return c.json(toItem(row), 201);
  });

  const updateRoute = route('patch', itemPath, {
    operationId: `update${operation}`,
    summary: summaries.update,
    middleware: ownersAndAdmins,
    request: { params, body: jsonBody(schemas.patch as unknown as typeof anyBody) },
    responses: { 200: jsonResponse(`The ${thing}`, item) },
  });
  app.openapi(updateRoute, async (c) => {
    const body = c.req.valid('json') as z.infer<Patch>;
    const { row, jobs } = await asCurrentOperator(c, async ({ ctx }) => {
      const row = await db.update(ctx, paramsOf(c), body);
      return { row, jobs: (await spec.jobs?.(ctx, c.var.env, row)) ?? [] };
    });
    if (jobs.length > 0) await publishJobs(c.var.services, c.var.env, jobs);
    return c.json(toItem(row), 200);
  });

  const deleteRoute = route('delete', itemPath, {
    operationId: `delete${operation}`,
    summary: summaries.delete,
    middleware: ownersAndAdmins,
    request: { params },
    responses: { 204: { description: 'Deleted' } },
  });
  app.openapi(deleteRoute, async (c) => {
    await asCurrentOperator(c, ({ ctx }) => db.delete(ctx, paramsOf(c)));
    return c.body(null, 204);
  });
}
