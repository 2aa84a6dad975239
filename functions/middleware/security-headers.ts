import { createMiddleware } from 'hono/factory';
import { secureHeaders } from 'hono/secure-headers';
import type { HonoEnv } from '../context';
import { envFor } from './init';

/**
 * Paths the Worker answers itself; everything else is the operator page (static assets, the
 * page's own routes falling back to index.html). The Worker runs first for every path
 * (wrangler.toml `run_worker_first = true`) so that the page gets the security headers too.
 */
const API_PREFIXES = [
  '/admin',
  '/platform',
  '/webhooks',
  '/widget',
  '/jobs',
  '/healthz',
  '/openapi.json',
  '/config.json',
];

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * The page signs in with supabase-js against the project named by /config.json: the one origin
 * besides ours it may connect to. Bad configuration answers 500 later in `init`; here it only
 * narrows the policy to our own origin.
 */
function supabaseOrigin(bindings: Record<string, unknown> | undefined): string {
  try {
    return new URL(envFor(bindings ?? {}).SUPABASE_URL).origin;
  } catch {
    return "'self'";
  }
}

/**
 * Security headers on every answer, the page's and the API's alike (hono's secureHeaders): a
 * Content-Security-Policy allowing only our own scripts and styles, connections to us and the
 * Supabase project, attachments from the blob: URLs the page makes of media it fetched with its
 * token, and no framing, plugins or <base>; X-Frame-Options for browsers without
 * frame-ancestors; nosniff; and a referrer policy that never sends a path to another origin.
 */
export const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'blob:', 'data:'],
    mediaSrc: ["'self'", 'blob:'],
    connectSrc: ["'self'", (c) => supabaseOrigin(c.env)],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'strict-origin-when-cross-origin',
});

/**
 * The operator page from the static assets binding (`ASSETS`; wrangler.toml `[assets]`), for
 * every path that is not the API, before `init` (the page needs no database). Without the
 * binding (in-process tests without it) the path falls through to the API's 404.
 */
export const operatorPage = createMiddleware<HonoEnv>(async function operatorPage(c, next) {
  const assets = (c.env as { ASSETS?: { fetch: (request: Request) => Promise<Response> } })?.ASSETS;
  if (!assets || isApiPath(c.req.path) || !['GET', 'HEAD'].includes(c.req.method)) {
    return next();
  }
  const res = await assets.fetch(c.req.raw);
  // A fetched response's headers are immutable; the security headers are set on a copy.
  return new Response(res.body, res);
});

/** Operator answers hold tenants' conversations: no browser or proxy may keep a copy. */
export const noStore = createMiddleware<HonoEnv>(async function noStore(c, next) {
  await next();
  c.res.headers.set('Cache-Control', 'no-store');
});
