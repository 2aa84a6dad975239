import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors';
import { decodeCursor, encodeCursor, keysetCursor, keysetPage } from './paging';

const id = '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60';
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function rejection(run: () => unknown) {
  try {
    run();
  } catch (err) {
    return err;
  }
  return null;
}

describe('cursors', () => {
  it('round-trips the one format, opaque to clients (base64url JSON)', () => {
    const cursor = encodeCursor({ p: '2025-03-14 09:26:53.589+00', id });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'cursor', keysetCursor)).toEqual({
      p: '2025-03-14 09:26:53.589+00',
      id,
    });
  });

  it('still reads cursors handed out before the one format (position under `t`)', () => {
    expect(decodeCursor(base64url({ t: '2025-03-14', id }), 'after', keysetCursor)).toEqual({
      p: '2025-03-14',
      id,
    });
  });

  it('refuses anything it did not hand out with a 400 naming the field', () => {
    for (const value of ['not-a-cursor', base64url({ p: 1, id }), base64url({ p: 'x', id: 'y' })]) {
      const err = rejection(() => decodeCursor(value, 'after', keysetCursor));
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).message).toBe('after: not a cursor this API handed out');
    }
  });

  it('lets a listing whose sort key may be null accept a null position, and only that one', () => {
    const nullable = keysetCursor.extend({ p: z.string().nullable() });
    const cursor = encodeCursor({ p: null, id });
    expect(decodeCursor(cursor, 'cursor', nullable)).toEqual({ p: null, id });
    expect(rejection(() => decodeCursor(cursor, 'cursor', keysetCursor))).toBeInstanceOf(ApiError);
  });
});

describe('keysetPage', () => {
  const rows = ['a', 'b', 'c'].map((name, i) => ({ name, position: `2025-03-1${i}`, id }));

  it('fetches one row more than the page, and hands out a cursor only when there is more', async () => {
    const asked: number[] = [];
    const page = (limit: number, cursor?: string) =>
      keysetPage({
        query: { limit, cursor },
        cursor: keysetCursor,
        fetch: async (p) => {
          asked.push(p.limit);
          return rows.slice(0, p.limit);
        },
        item: (row) => row.name,
        positionOf: (row) => ({ p: row.position, id: row.id }),
      });
    const first = await page(2);
    expect(first.items).toEqual(['a', 'b']);
    expect(decodeCursor(first.next_cursor ?? '', 'cursor', keysetCursor)).toEqual({
      p: '2025-03-11',
      id,
    });
    expect(await page(3)).toEqual({ items: ['a', 'b', 'c'], next_cursor: null });
    expect(asked).toEqual([3, 4]);
  });

  it('passes the decoded cursor to the query, and refuses a bad one before querying', async () => {
    let after: unknown = 'not called';
    await keysetPage({
      query: { limit: 1, cursor: encodeCursor({ p: '2025-03-10', id }) },
      cursor: keysetCursor,
      fetch: async (p) => {
        after = p.after;
        return [];
      },
      item: (row: never) => row,
      positionOf: () => ({ p: null, id: null }),
    });
    expect(after).toEqual({ p: '2025-03-10', id });
    after = 'not called';
    await expect(
      keysetPage({
        query: { limit: 1, cursor: 'bogus' },
        cursor: keysetCursor,
        fetch: async () => {
          after = 'called';
          return [];
        },
        item: (row: never) => row,
        positionOf: () => ({ p: null, id: null }),
      }),
    ).rejects.toBeInstanceOf(ApiError);
    expect(after).toBe('not called');
  });
});
