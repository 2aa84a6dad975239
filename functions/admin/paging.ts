import { z } from '@hono/zod-openapi';
import type { Pipelined, TenantContext } from '../../db/client';
import type { HonoEnv } from '../context';
import { ApiError } from '../errors';
import { asCurrentOperator, readAsCurrentOperator } from '../middleware/operator-auth';
import { hasControlCharacter, textParam } from './route';

/**
 * Keyset paging for every operator listing: one cursor format, one query shape, one page shape.
 *
 * A cursor is opaque to clients: base64url of `{ "p": position, "id": tie-breaker }`, where the
 * position is the sort key of the last item handed out (a timestamp as Postgres prints it) and the
 * id breaks ties. It is validated on the way back in; anything else is a 400 naming the field.
 */

const cursorJson = z.object({
  p: z.string().max(64).nullable(),
  id: z.uuid().nullable(),
});
export type Cursor = z.infer<typeof cursorJson>;

/** The usual cursor: both parts set. Listings whose sort key may be null narrow it their way. */
export const keysetCursor = cursorJson.extend({ p: z.string().max(64), id: z.uuid() });

export function encodeCursor(cursor: Cursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify(cursor));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function decodeCursor<T extends Cursor>(value: string, field: string, schema: z.ZodType<T>) {
  try {
    const binary = atob(value.replaceAll('-', '+').replaceAll('_', '/'));
    const text = new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const cursor = schema.parse(withLegacyPosition(JSON.parse(text)));
    // The position goes into SQL as text: a forged one holding NUL would fail there as a 500.
    if (typeof cursor.p === 'string' && hasControlCharacter(cursor.p)) throw new Error('control');
    return cursor;
  } catch {
    throw new ApiError('BAD_REQUEST', `${field}: not a cursor this API handed out`);
  }
}

/**
 * Cursors handed out before the one format named the position `t` (chats, webhook events); an
 * operator page open across a deploy still holds one for its delta sync.
 */
function withLegacyPosition(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || 'p' in json || !('t' in json)) return json;
  const { t, ...rest } = json;
  return { ...rest, p: t };
}

const EXAMPLE_CURSOR = encodeCursor({
  p: '2025-03-14 09:26:53.589+00',
  id: '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
});

/** `limit` and `cursor`: spread into a listing's query schema. */
export function pageQuery(limits: { default: number; max: number }) {
  return {
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(limits.max)
      .default(limits.default)
      .openapi({
        description: `How many items at most (1–${limits.max})`,
        example: limits.default,
      }),
    cursor: cursorParam(
      'cursor',
      'The `next_cursor` of the previous page; omit for the first page',
    ),
  };
}

/** A query parameter carrying a cursor this API handed out. */
export function cursorParam(name: string, description: string) {
  return textParam()
    .max(512)
    .optional()
    .openapi({ param: { name, in: 'query' }, description, example: EXAMPLE_CURSOR });
}

/** A list answer: `{ items }`. */
export function itemsOf<T extends z.ZodType>(item: T, items: string) {
  return z.object({ items: z.array(item).openapi({ description: items }) });
}

/** A page of `items`, with the cursor of the next one. */
export function pageOf<T extends z.ZodType>(item: T, items: string) {
  return itemsOf(item, items).extend({
    next_cursor: z.string().nullable().openapi({
      description: 'Pass as `cursor` for the next page; null on the last page',
      example: EXAMPLE_CURSOR,
    }),
  });
}

/**
 * One page of a keyset listing: decodes the client's `cursor`, fetches `limit + 1` rows (the extra
 * row only says there is a next page) and answers `{ items, next_cursor }`, the cursor being the
 * position of the last row handed out.
 */
export async function keysetPage<C extends Cursor, Row, Item>(options: {
  query: { cursor?: string; limit: number };
  cursor: z.ZodType<C>;
  fetch: (page: { after: C | undefined; limit: number }) => Promise<Row[]>;
  item: (row: Row) => Item;
  positionOf: (row: Row) => Cursor;
}) {
  const { query } = options;
  const after = query.cursor ? decodeCursor(query.cursor, 'cursor', options.cursor) : undefined;
  const rows = await options.fetch({ after, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(options.item),
    next_cursor: rows.length > query.limit && last ? encodeCursor(options.positionOf(last)) : null,
  };
}

type PageRequest<P> = { after?: { position: P; id: string }; limit: number };

/**
 * `keysetPage` of a listing the operator reads under RLS, whose rows carry their own `position`
 * (sort key as Postgres prints it): `list` gets the position and id of the last row handed out.
 * A listing whose db function is pipelined (`read`) costs one round trip (readAsCurrentOperator).
 */
export function operatorPage<P extends string | null, Row extends { id: string }, Item>(
  c: { var: HonoEnv['Variables'] },
  query: { cursor?: string; limit: number },
  options: {
    cursor: z.ZodType<{ p: P; id: string }>;
    item: (row: Row) => Item;
  } & (
    | { list: (ctx: TenantContext, page: PageRequest<P>) => Promise<Array<Row & { position: P }>> }
    | {
        read: (ctx: TenantContext, page: PageRequest<P>) => Pipelined<Array<Row & { position: P }>>;
      }
  ),
) {
  return keysetPage({
    query,
    cursor: options.cursor,
    fetch: ({ after, limit }) => {
      const page = { after: after && { position: after.p, id: after.id }, limit };
      return 'read' in options
        ? readAsCurrentOperator(c, (ctx) => options.read(ctx, page))
        : asCurrentOperator(c, ({ ctx }) => options.list(ctx, page));
    },
    item: options.item,
    positionOf: (row) => ({ p: row.position, id: row.id }),
  });
}
