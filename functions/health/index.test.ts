import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/harness';

describe('GET /healthz', () => {
  let up: Harness;
  let down: Harness;
  beforeAll(async () => {
    up = await createHarness();
    // Port 9 (discard) refuses connections: a database that is down.
    down = await createHarness({
      bindings: { DATABASE_URL: 'postgres://postgres:x@127.0.0.1:9/none' },
    });
  });
  afterAll(async () => {
    await up.close();
    await down.close();
  });

  it('reports version and a reachable database', async () => {
    const res = await up.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: 'test', database: 'up' });
  });

  it('answers 503 when the database is down', async () => {
    const res = await down.request('/healthz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'degraded', version: 'test', database: 'down' });
  });

  it('answers 500 BAD_ENVIRONMENT naming the variable when configuration is broken', async () => {
    const broken = await createHarness({ bindings: { META_VERIFY_TOKEN: '' } });
    const res = await broken.request('/healthz');
    await broken.close();
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_ENVIRONMENT');
    expect(body.error.message).toContain('META_VERIFY_TOKEN');
  });

  it('answers unknown routes with the error envelope', async () => {
    const res = await up.request('/nope');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('NOT_FOUND');
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
  });

  it('serves the OpenAPI document of the operator API', async () => {
    const res = await up.request('/openapi.json');
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/admin/me']));
  });
});
