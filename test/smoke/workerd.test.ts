import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerd } from '../workerd';

/**
 * The Worker bundled by wrangler and running in workerd, reaching the real test database through
 * its Hyperdrive binding. Catches what in-process tests cannot: a dependency that does not bundle
 * or does not run on the Workers runtime.
 */
describe('smoke: the Worker in workerd', () => {
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  beforeAll(async () => {
    worker = await startWorkerd();
  }, 120_000);
  afterAll(() => worker?.stop());

  it('answers /healthz with the database up', async () => {
    const res = await fetch(`${worker.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: 'test', database: 'up' });
  });

  it('answers the operator API with the error envelope when unauthenticated', async () => {
    const res = await fetch(`${worker.url}/admin/me`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });

  it('serves the operator page from static assets', async () => {
    const res = await fetch(`${worker.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Switchboard inbox</title>');
  });
});
