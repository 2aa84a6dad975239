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

  it('serves the operator page from static assets, with its security headers', async () => {
    // `/` and a deep link (the page routes in the browser) are the same page, both guarded.
    for (const path of ['/', '/inbox/some-chat']) {
      const res = await fetch(`${worker.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>Switchboard inbox</title>');
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    const script = await fetch(`${worker.url}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers /admin with Cache-Control: no-store', async () => {
    const res = await fetch(`${worker.url}/admin/me`);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
