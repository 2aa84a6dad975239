import { describe, expect } from 'vitest';
import { it } from '../../test/it';

/** What the static assets binding answers in workerd; here a stand-in serving one page. */
const assets = {
  fetch: async (request: Request) =>
    new Response(`<!doctype html><title>page for ${new URL(request.url).pathname}</title>`, {
      headers: { 'content-type': 'text/html; charset=utf-8' },
    }),
};

function expectPageHeaders(res: Response, supabaseUrl: string) {
  const csp = res.headers.get('content-security-policy') ?? '';
  const directives = new Map(
    csp.split(';').map((d) => {
      const [name = '', ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );
  expect(directives.get('default-src')).toEqual(["'self'"]);
  expect(directives.get('script-src')).toEqual(["'self'"]);
  expect(directives.get('connect-src')).toEqual(["'self'", new URL(supabaseUrl).origin]);
  expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
  expect(directives.get('object-src')).toEqual(["'none'"]);
  expect(directives.get('base-uri')).toEqual(["'none'"]);
  // Attachments are shown from blob: URLs the page makes of what it fetched with its token.
  expect(directives.get('img-src')).toContain('blob:');
  expect(directives.get('media-src')).toContain('blob:');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
}

it.override('harnessOptions', { objectBindings: { ASSETS: assets } });

describe('security headers', () => {
  it('the operator page and its deep links carry CSP, frame, sniffing and referrer headers', async ({
    harness: h,
  }) => {
    for (const path of ['/', '/index.html', '/chats/123']) {
      const res = await h.request(path);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(`page for ${path}`);
      expectPageHeaders(res, h.bindings.SUPABASE_URL ?? '');
    }
  });

  it('API answers carry them too, errors included', async ({ harness: h }) => {
    for (const path of ['/config.json', '/healthz', '/admin/me', '/admin/no-such-route']) {
      expectPageHeaders(await h.request(path), h.bindings.SUPABASE_URL ?? '');
    }
  });

  it('an unknown API path stays a JSON error, never the page', async ({ harness: h }) => {
    for (const path of ['/admin/no-such-route', '/webhooks/nope', '/jobs', '/healthz/x']) {
      const res = await h.request(path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('content-type')).toContain('application/json');
    }
  });

  it('every /admin answer says Cache-Control: no-store, errors included', async ({
    harness: h,
    tenant: t,
  }) => {
    const ok = await h.asUser(t.owner, '/admin/me');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const refused = await h.request('/admin/me');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const bad = await h.asUser(t.owner, '/admin/logs/ai/%00');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('cache-control')).toBe('no-store');
  });
});
