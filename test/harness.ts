import { SignJWT } from 'jose';
import { inject } from 'vitest';
import {
  defaultTemplateFixtures,
  type MetaAccount,
  type MetaGraphStandIn,
  startMetaGraph,
  type TemplateFixture,
} from '../dev/stand-ins/meta-graph';
import { type QStashStandIn, startQStash } from '../dev/stand-ins/qstash';
import { startUpstashRedis, type UpstashRedisStandIn } from '../dev/stand-ins/upstash-redis';
import { newApp } from '../functions/app';
import type { Clock } from '../functions/context';
import type { JobHandler } from '../functions/jobs/define';
import { TEST_ENCRYPTION_KEY, TEST_GRAPH_TOKEN, type TenantFixture } from './fixtures';
import { hs256Token, startJwksIssuer, TEST_JWT_SECRET } from './tokens';

export const TEST_APP_SECRET = 'test-meta-app-secret';
export const TEST_VERIFY_TOKEN = 'test-verify-token';
export const TEST_PUBLIC_BASE_URL = 'http://switchboard.test';
export const TEST_WIDGET_TOKEN_SECRET = 'test-widget-token-secret-of-32-characters';
const QSTASH_KEYS = { current: 'sig_test_current', next: 'sig_test_next' };

/** An Upstash-Signature for `body` delivered to `/jobs/<kind>`, as QStash signs it. */
export async function qstashSignature(body: string, kind: string, key = QSTASH_KEYS.current) {
  const now = Math.floor(Date.now() / 1000);
  const hash = Buffer.from(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
  ).toString('base64url');
  return new SignJWT({ body: hash })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Upstash')
    .setSubject(`${TEST_PUBLIC_BASE_URL}/jobs/${kind}`)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(key));
}

/** Bindings as the Worker would receive them, pointing at this run's database. */
export function testBindings(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ENVIRONMENT: 'test',
    APP_VERSION: 'test',
    LOG_LEVEL: 'error',
    PUBLIC_BASE_URL: TEST_PUBLIC_BASE_URL,
    DATABASE_URL: inject('databaseUrl'),
    META_APP_ID: 'test-app-id',
    META_APP_SECRET: TEST_APP_SECRET,
    META_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    GRAPH_API_BASE_URL: 'http://127.0.0.1:9',
    WHATSAPP_ALLOW_LIVE_SEND: 'true',
    UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9',
    UPSTASH_REDIS_REST_TOKEN: 'test-redis-token',
    QSTASH_URL: 'http://127.0.0.1:9',
    QSTASH_TOKEN: 'test-qstash-token',
    QSTASH_CURRENT_SIGNING_KEY: QSTASH_KEYS.current,
    QSTASH_NEXT_SIGNING_KEY: QSTASH_KEYS.next,
    SUPABASE_URL: 'http://127.0.0.1:9',
    SUPABASE_ANON_KEY: 'test-anon-key',
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    CREDENTIALS_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    WIDGET_TOKEN_SECRET: TEST_WIDGET_TOKEN_SECRET,
    ...overrides,
  };
}

export type HarnessOptions = {
  clock?: Clock;
  /** Extra job kinds (tests of the job machinery itself). */
  jobs?: JobHandler[];
  bindings?: Record<string, string>;
  /** Non-string bindings, e.g. `{ MEDIA: <an R2 bucket from Miniflare> }` (see test/r2.ts). */
  objectBindings?: Record<string, unknown>;
  /** Start the Upstash Redis, QStash and Meta Graph stand-ins (default true). */
  standIns?: boolean;
  /** Graph stand-in: emit sent/delivered/read webhooks after each send (default true). */
  statusProgression?: boolean;
};

/**
 * The app exactly as production builds it (`newApp`), called in-process with test bindings, wired
 * to the local stand-ins: QStash delivers jobs into this app, the Graph stand-in posts its signed
 * status webhooks into it. Work handed to `waitUntil` is tracked, and `settle()` runs everything
 * (jobs, webhooks, background work) until the system is quiet.
 */
export async function createHarness(options: HarnessOptions = {}) {
  const issuer = await startJwksIssuer();
  // `let`: restart() swaps in a fresh instance, as a Worker restart does.
  let app = newApp({ clock: options.clock, jobs: options.jobs });
  const inflight = new Set<Promise<unknown>>();
  const accounts: MetaAccount[] = [];
  const templates: Record<string, TemplateFixture[]> = {};
  let bindings: Record<string, string> = {};
  /** What the Worker receives: the variables plus any object bindings (one object, parsed once). */
  let workerBindings: Record<string, unknown> = {};

  /** One Worker invocation: a request plus everything it handed to `waitUntil`. */
  async function dispatch(input: Request | string, init?: RequestInit): Promise<Response> {
    const pending: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => {
        const tracked = p.catch(() => {});
        pending.push(tracked);
        inflight.add(tracked);
        void tracked.finally(() => inflight.delete(tracked));
      },
      passThroughOnException: () => {},
      props: {},
    };
    const res = await app.request(input, init, workerBindings, ctx);
    await Promise.allSettled(pending);
    return res;
  }

  const standIns = options.standIns ?? true;
  let redis: UpstashRedisStandIn | undefined;
  let qstash: QStashStandIn | undefined;
  let graph: MetaGraphStandIn | undefined;
  if (standIns) {
    redis = await startUpstashRedis({ token: 'test-redis-token' });
    qstash = await startQStash({
      token: 'test-qstash-token',
      currentSigningKey: QSTASH_KEYS.current,
      nextSigningKey: QSTASH_KEYS.next,
      deliver: (req) => dispatch(req),
      autoDeliver: false,
      retryBackoffMs: () => 1000,
    });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      webhookUrl: `${TEST_PUBLIC_BASE_URL}/webhooks/meta`,
      deliverWebhook: (req) => dispatch(req),
      accounts,
      templates,
      statusProgression: options.statusProgression ?? true,
    });
  }
  bindings = testBindings({
    SUPABASE_URL: issuer.url,
    ...(redis ? { UPSTASH_REDIS_REST_URL: redis.url } : {}),
    ...(qstash ? { QSTASH_URL: qstash.url } : {}),
    ...(graph ? { GRAPH_API_BASE_URL: graph.url } : {}),
    ...options.bindings,
  });
  workerBindings = { ...bindings, ...options.objectBindings };

  /** A valid operator access token for a user (HS256, as the local Supabase Auth stand-in issues). */
  function tokenFor(user: { id: string; email: string }) {
    return hs256Token({ sub: user.id, email: user.email, issuer: `${issuer.url}/auth/v1` });
  }

  async function asUser(user: { id: string; email: string }, path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${await tokenFor(user)}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return dispatch(path, { ...init, headers });
  }

  /** Makes a test tenant's accounts known to the Graph stand-in (sends, templates, webhooks). */
  function registerTenant(t: TenantFixture) {
    accounts.push(
      {
        channel: 'whatsapp',
        phoneNumberId: t.accounts.whatsapp.externalId,
        wabaId: t.accounts.whatsapp.wabaId,
        displayPhoneNumber: t.accounts.whatsapp.phone,
      },
      { channel: 'messenger', pageId: t.accounts.messenger.externalId },
      { channel: 'instagram', igId: t.accounts.instagram.externalId },
    );
    templates[t.accounts.whatsapp.wabaId] = defaultTemplateFixtures;
  }

  /** The templates the Graph stand-in has for a tenant's WABA: what a sync lists, what a send is checked against. */
  function useTemplates(t: TenantFixture, fixtures: TemplateFixture[]) {
    templates[t.accounts.whatsapp.wabaId] = fixtures;
  }

  /**
   * Runs the system until it is quiet: background work, due QStash jobs (jumping over delays and
   * backoffs) and the Graph stand-in's status webhooks, repeatedly, since each can cause the others.
   */
  async function settle(maxRounds = 50) {
    for (let round = 0; round < maxRounds; round++) {
      await Promise.allSettled([...inflight]);
      const before = (qstash?.messages().length ?? 0) + (graph?.webhooks.length ?? 0);
      await qstash?.runUntilIdle();
      await graph?.flushWebhooks();
      await Promise.allSettled([...inflight]);
      const after = (qstash?.messages().length ?? 0) + (graph?.webhooks.length ?? 0);
      if (after === before && inflight.size === 0) return;
    }
    throw new Error('settle: the system did not become quiet');
  }

  /**
   * Points the app at other places from the next request on (e.g. a fault-injecting proxy in
   * front of a stand-in); QStash's deliveries and the Graph stand-in's webhooks follow too.
   */
  function rebind(overrides: Record<string, string>) {
    bindings = { ...bindings, ...overrides };
    workerBindings = { ...workerBindings, ...overrides };
  }

  /**
   * A Worker restart as far as it can be had in-process: the next requests reach a new app
   * instance (its per-isolate state gone). Work already in flight finishes on the old one; a
   * kill mid-way is what the sweeper's tests cover (functions/lib/sweepers.test.ts).
   */
  function restart() {
    app = newApp({ clock: options.clock, jobs: options.jobs });
  }

  async function close() {
    await Promise.allSettled([...inflight]);
    await Promise.all([issuer.close(), redis?.close(), qstash?.close(), graph?.close()]);
  }

  return {
    get app() {
      return app;
    },
    get bindings() {
      return bindings;
    },
    issuer,
    redis,
    qstash,
    graph,
    request: dispatch,
    rebind,
    restart,
    tokenFor,
    asUser,
    registerTenant,
    useTemplates,
    settle,
    close,
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
