import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../core/errors';
import { failedQuery, PERSONAL } from '../test/failed-query';
import type { HonoEnv } from './context';
import { handleError } from './errors';
import { createLogger } from './lib/logger';

describe('handleError', () => {
  it('answers an unexpected failed query with a generic 500, and logs it without its parameters', async () => {
    const failure = await failedQuery('rls');
    const lines: string[] = [];
    const app = new Hono<HonoEnv>();
    app.onError(handleError);
    app.use('*', async (c, next) => {
      c.set('requestId', 'req-500');
      c.set(
        'logger',
        createLogger({ requestId: 'req-500' }, 'info', (l) => lines.push(l)),
      );
      await next();
    });
    app.post('/articles', () => {
      throw failure;
    });

    const res = await app.request('/articles', { method: 'POST' });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({
      error: {
        code: 'INTERNAL_SERVER_ERROR',
        message: 'Something went wrong on our side; it has been logged.',
        requestId: 'req-500',
      },
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      level: 'error',
      msg: 'unhandled error',
      error: 'DrizzleQueryError',
      code: '42501',
    });
    for (const out of [body, ...lines]) {
      for (const word of [PERSONAL.name, '+34600', 'Llámame', 'params:']) {
        expect(out).not.toContain(word);
      }
    }
  });

  it('names the thing in the way on a conflict that has one, and nothing more on other errors', async () => {
    const app = new Hono<HonoEnv>();
    app.onError(handleError);
    app.use('*', async (c, next) => {
      c.set('requestId', 'req-409');
      await next();
    });
    const holder = '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60';
    app.post('/taken', () => {
      throw new ConflictError('That time is no longer free.', holder);
    });
    app.post('/decided', () => {
      throw new ConflictError('Already decided.');
    });
    app.get('/missing', () => {
      throw new NotFoundError('appointment', holder);
    });

    const taken = await app.request('/taken', { method: 'POST' });
    expect(taken.status).toBe(409);
    expect(await taken.json()).toEqual({
      error: {
        code: 'CONFLICT',
        message: 'That time is no longer free.',
        requestId: 'req-409',
        conflicting_id: holder,
      },
    });
    const decided = await app.request('/decided', { method: 'POST' });
    expect(await decided.json()).toEqual({
      error: { code: 'CONFLICT', message: 'Already decided.', requestId: 'req-409' },
    });
    const missing = await app.request('/missing');
    expect(Object.keys(((await missing.json()) as { error: object }).error)).toEqual([
      'code',
      'message',
      'requestId',
    ]);
  });
});
