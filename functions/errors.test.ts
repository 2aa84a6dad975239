import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
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
});
