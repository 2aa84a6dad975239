import { inject } from 'vitest';
import { newApp } from '../functions/app';
import type { Clock } from '../functions/context';
import { TEST_ENCRYPTION_KEY } from './fixtures';
import { hs256Token, startJwksIssuer, TEST_JWT_SECRET } from './tokens';

export const TEST_APP_SECRET = 'test-meta-app-secret';
export const TEST_VERIFY_TOKEN = 'test-verify-token';

/** Bindings as the Worker would receive them, pointing at this run's database. */
export function testBindings(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ENVIRONMENT: 'test',
    APP_VERSION: 'test',
    LOG_LEVEL: 'error',
    PUBLIC_BASE_URL: 'http://127.0.0.1:8787',
    DATABASE_URL: inject('databaseUrl'),
    META_APP_ID: 'test-app-id',
    META_APP_SECRET: TEST_APP_SECRET,
    META_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    GRAPH_API_BASE_URL: 'http://127.0.0.1:9',
    UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9',
    UPSTASH_REDIS_REST_TOKEN: 'test-redis-token',
    QSTASH_URL: 'http://127.0.0.1:9',
    QSTASH_TOKEN: 'test-qstash-token',
    QSTASH_CURRENT_SIGNING_KEY: 'sig_test_current',
    QSTASH_NEXT_SIGNING_KEY: 'sig_test_next',
    SUPABASE_URL: 'http://127.0.0.1:9',
    SUPABASE_ANON_KEY: 'test-anon-key',
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    CREDENTIALS_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    ...overrides,
  };
}

/**
 * The app exactly as production builds it (`newApp`), called in-process with test bindings. Work
 * handed to `waitUntil` is awaited before `request` returns, so assertions see its effects.
 */
export async function createHarness(
  options: { clock?: Clock; bindings?: Record<string, string> } = {},
) {
  const issuer = await startJwksIssuer();
  const bindings = testBindings({ SUPABASE_URL: issuer.url, ...options.bindings });
  const app = newApp({ clock: options.clock });

  async function request(path: string, init?: RequestInit) {
    const pending: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void pending.push(p),
      passThroughOnException: () => {},
      props: {},
    };
    const res = await app.request(path, init, bindings, ctx);
    await Promise.allSettled(pending);
    return res;
  }

  /** A valid operator access token for a user (HS256, as the local Supabase Auth stand-in issues). */
  function tokenFor(user: { id: string; email: string }) {
    return hs256Token({ sub: user.id, email: user.email, issuer: `${issuer.url}/auth/v1` });
  }

  async function asUser(user: { id: string; email: string }, path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${await tokenFor(user)}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return request(path, { ...init, headers });
  }

  return { app, bindings, issuer, request, tokenFor, asUser, close: () => issuer.close() };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
