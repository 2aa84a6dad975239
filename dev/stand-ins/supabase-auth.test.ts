import { AuthApiError, createClient } from '@supabase/supabase-js';
import bcrypt from 'bcryptjs';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  memoryUserStore,
  postgresUserStore,
  type StoredUser,
  type SupabaseAuthStandIn,
  startSupabaseAuth,
} from './supabase-auth';

const jwtSecret = 'super-secret-jwt-token-with-at-least-32-characters-long';
const password = 'correct horse battery staple';
const alice: StoredUser = {
  id: '3f1c7a52-0d1e-4f5b-9a8e-2b6c4d7e8f90',
  email: 'alice@example.com',
  // Cost 4 keeps the suite quick; GoTrue uses 10, and compare() reads the cost from the hash.
  encryptedPassword: bcrypt.hashSync(password, 4),
  appMetadata: { tenant_id: 't-1' },
  userMetadata: { name: 'Alice' },
  createdAt: '2026-01-01T00:00:00.000Z',
};

let clock = Date.now();
let auth: SupabaseAuthStandIn;

beforeAll(async () => {
  auth = await startSupabaseAuth({
    jwtSecret,
    users: memoryUserStore([alice]),
    now: () => clock,
  });
});
afterAll(() => auth.close());
beforeEach(() => {
  clock = Date.now();
});

const client = () => createClient(auth.url, 'anon-key', { auth: { persistSession: false } });
const secret = new TextEncoder().encode(jwtSecret);

describe('supabase-js against the stand-in', () => {
  it('signs in with a password and gets a Supabase-shaped HS256 token', async () => {
    const { data, error } = await client().auth.signInWithPassword({
      email: 'Alice@Example.com',
      password,
    });
    expect(error).toBeNull();
    const session = data.session!;
    expect(session).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(session.expires_at).toBe(Math.floor(clock / 1000) + 3600);
    expect(data.user).toMatchObject({
      id: alice.id,
      aud: 'authenticated',
      role: 'authenticated',
      email: alice.email,
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'], tenant_id: 't-1' },
      user_metadata: { name: 'Alice' },
      identities: [],
      is_anonymous: false,
    });

    expect(decodeProtectedHeader(session.access_token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(session.access_token, secret, {
      algorithms: ['HS256'],
      audience: 'authenticated',
      issuer: `${auth.url}/auth/v1`,
    });
    expect(payload).toMatchObject({
      sub: alice.id,
      email: alice.email,
      phone: '',
      role: 'authenticated',
      aal: 'aal1',
      is_anonymous: false,
      app_metadata: { provider: 'email', providers: ['email'], tenant_id: 't-1' },
      user_metadata: { name: 'Alice' },
      amr: [{ method: 'password', timestamp: Math.floor(clock / 1000) }],
    });
    expect(payload.session_id).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('rejects a wrong password with invalid_credentials', async () => {
    const { data, error } = await client().auth.signInWithPassword({
      email: alice.email,
      password: 'nope',
    });
    expect(data.session).toBeNull();
    expect(error).toBeInstanceOf(AuthApiError);
    expect(error).toMatchObject({
      status: 400,
      code: 'invalid_credentials',
      message: 'Invalid login credentials',
    });
  });

  it('gives the same answer for an unknown email', async () => {
    const { error } = await client().auth.signInWithPassword({ email: 'x@y.z', password });
    expect(error).toMatchObject({ status: 400, code: 'invalid_credentials' });
  });

  it('returns the user for a valid access token', async () => {
    const sb = client();
    await sb.auth.signInWithPassword({ email: alice.email, password });
    const { data, error } = await sb.auth.getUser();
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: alice.id, email: alice.email });
  });

  it('rotates refresh tokens and rejects the old one', async () => {
    const sb = client();
    const { data: signedIn } = await sb.auth.signInWithPassword({ email: alice.email, password });
    const first = signedIn.session!;
    clock += 60_000;

    const { data: refreshed, error } = await sb.auth.refreshSession();
    expect(error).toBeNull();
    const second = refreshed.session!;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    const { payload } = await jwtVerify(second.access_token, secret, { audience: 'authenticated' });
    const { payload: firstPayload } = await jwtVerify(first.access_token, secret, {
      audience: 'authenticated',
    });
    // Same session; the amr keeps the original sign-in time.
    expect(payload.session_id).toBe(firstPayload.session_id);
    expect(payload.amr).toEqual(firstPayload.amr);
    expect(payload.iat).toBe(firstPayload.iat! + 60);

    const { error: reuse } = await client().auth.refreshSession({
      refresh_token: first.refresh_token,
    });
    expect(reuse).toMatchObject({ status: 400, code: 'refresh_token_already_used' });
    // Reuse means the token leaked, so the whole session is gone, as in GoTrue.
    const { error: afterReuse } = await client().auth.refreshSession({
      refresh_token: second.refresh_token,
    });
    expect(afterReuse).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
  });

  it('signs out: the refresh token stops working and the access token loses its session', async () => {
    const sb = client();
    const { data } = await sb.auth.signInWithPassword({ email: alice.email, password });
    const session = data.session!;
    const { error } = await sb.auth.signOut();
    expect(error).toBeNull();

    const { error: refreshError } = await client().auth.refreshSession({
      refresh_token: session.refresh_token,
    });
    expect(refreshError).toBeInstanceOf(AuthApiError);
    expect(refreshError).toMatchObject({ status: 400, code: 'refresh_token_not_found' });

    // auth-js turns GoTrue's session_not_found into AuthSessionMissingError.
    const { data: userData, error: userError } = await client().auth.getUser(session.access_token);
    expect(userData.user).toBeNull();
    expect(userError?.name).toBe('AuthSessionMissingError');
  });

  it('local sign-out keeps the other sessions of the user', async () => {
    const phone = client();
    const laptop = client();
    await phone.auth.signInWithPassword({ email: alice.email, password });
    const { data } = await laptop.auth.signInWithPassword({ email: alice.email, password });
    await phone.auth.signOut({ scope: 'local' });
    const { error } = await client().auth.refreshSession({
      refresh_token: data.session!.refresh_token,
    });
    expect(error).toBeNull();
  });

  it('rejects an expired access token on GET /user', async () => {
    const sb = client();
    await sb.auth.signInWithPassword({ email: alice.email, password });
    clock += 3601_000;
    const { data, error } = await sb.auth.getUser();
    expect(data.user).toBeNull();
    expect(error).toBeInstanceOf(AuthApiError);
    expect(error).toMatchObject({ status: 403, code: 'bad_jwt' });
    expect(error?.message).toContain('token is expired');
  });

  it('rejects a token signed with another secret', async () => {
    const { data } = await client().auth.signInWithPassword({ email: alice.email, password });
    const [header, payload] = data.session!.access_token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    const { error } = await client().auth.getUser(forged);
    expect(error).toMatchObject({ status: 403, code: 'bad_jwt' });
  });
});

describe('raw HTTP behaviour', () => {
  it('requires an apikey like the Supabase gateway', async () => {
    const response = await fetch(`${auth.url}/auth/v1/settings`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: 'No API key found in request' });
    const ok = await fetch(`${auth.url}/auth/v1/settings`, { headers: { apikey: 'x' } });
    expect(await ok.json()).toMatchObject({ external: { email: true }, disable_signup: true });
  });

  it('serves health, an empty JWKS without apikey, and 204 on logout', async () => {
    const health = await fetch(`${auth.url}/auth/v1/health`, { headers: { apikey: 'x' } });
    expect(await health.json()).toMatchObject({ name: 'GoTrue' });
    const jwks = await fetch(`${auth.url}/auth/v1/.well-known/jwks.json`);
    expect(await jwks.json()).toEqual({ keys: [] });

    const { data } = await client().auth.signInWithPassword({ email: alice.email, password });
    const logout = await fetch(`${auth.url}/auth/v1/logout`, {
      method: 'POST',
      headers: { apikey: 'x', authorization: `Bearer ${data.session!.access_token}` },
    });
    expect(logout.status).toBe(204);
  });

  it('uses the legacy error shape when the client sends no API version', async () => {
    const response = await fetch(`${auth.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { apikey: 'x', 'content-type': 'application/json' },
      body: JSON.stringify({ email: alice.email, password: 'wrong' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-supabase-api-version')).toBeNull();
    expect(await response.json()).toEqual({
      code: 400,
      error_code: 'invalid_credentials',
      msg: 'Invalid login credentials',
    });
  });

  it('uses the 2024-01-01 error shape and echoes the header when asked', async () => {
    const response = await fetch(`${auth.url}/auth/v1/user`, {
      headers: { apikey: 'x', 'x-supabase-api-version': '2024-01-01' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(await response.json()).toEqual({
      code: 'no_authorization',
      message: 'This endpoint requires a valid Bearer token',
    });
  });

  it('allows CORS from other localhost ports only, exposing the API version header', async () => {
    const preflight = await fetch(`${auth.url}/auth/v1/token?grant_type=password`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers':
          'apikey,authorization,x-client-info,x-supabase-api-version,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const allowed = preflight.headers.get('access-control-allow-headers') ?? '';
    for (const header of [
      'apikey',
      'authorization',
      'x-client-info',
      'x-supabase-api-version',
      'content-type',
    ]) {
      expect(allowed).toContain(header);
    }

    const failed = await fetch(`${auth.url}/auth/v1/user`, {
      headers: { origin: 'http://127.0.0.1:8787', apikey: 'x' },
    });
    expect(failed.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8787');
    expect(failed.headers.get('access-control-expose-headers')).toContain('x-supabase-api-version');

    const foreign = await fetch(`${auth.url}/auth/v1/settings`, {
      headers: { origin: 'https://evil.example', apikey: 'x' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses sign-ups and unknown grants', async () => {
    const { error } = await client().auth.signUp({ email: 'new@example.com', password });
    expect(error).toMatchObject({ status: 422, code: 'signup_disabled' });
    const response = await fetch(`${auth.url}/auth/v1/token?grant_type=pkce`, {
      method: 'POST',
      headers: { apikey: 'x', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});

describe('postgresUserStore', () => {
  // The run's migrated database (embedded PGlite or DATABASE_URL), so the query is checked
  // against the auth.users the project actually creates, not a copy of it.
  let sql: postgres.Sql;
  const suffix = crypto.randomUUID().slice(0, 8);
  const dbAlice = { ...alice, id: crypto.randomUUID(), email: `Alice.${suffix}@Example.com` };
  const oauthOnly = { id: crypto.randomUUID(), email: `oauth.${suffix}@example.com` };

  beforeAll(async () => {
    sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
    await sql`
      insert into auth.users (id, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at)
      values
        (${dbAlice.id}, ${dbAlice.email}, ${dbAlice.encryptedPassword},
         ${sql.json({ provider: 'email', providers: ['email'], tenant_id: 't-1' })},
         ${sql.json({ name: 'Alice' })}, ${dbAlice.createdAt}),
        (${oauthOnly.id}, ${oauthOnly.email}, null, '{}', '{}', now())`;
  });

  afterAll(async () => {
    await sql`delete from auth.users where id in (${dbAlice.id}, ${oauthOnly.id})`;
    await sql.end();
  });

  it('finds users by email case-insensitively and by id', async () => {
    const store = postgresUserStore(sql);
    const byEmail = await store.findByEmail(dbAlice.email.toLowerCase());
    expect(byEmail).toEqual({
      id: dbAlice.id,
      email: dbAlice.email,
      encryptedPassword: dbAlice.encryptedPassword,
      appMetadata: { provider: 'email', providers: ['email'], tenant_id: 't-1' },
      userMetadata: { name: 'Alice' },
      createdAt: dbAlice.createdAt,
    });
    expect(await store.findById(dbAlice.id)).toEqual(byEmail);
    expect(await store.findById('not-a-uuid')).toBeNull();
    expect(await store.findByEmail(`nobody.${suffix}@example.com`)).toBeNull();
    // No password, no password sign-in.
    expect(await store.findByEmail(oauthOnly.email)).toBeNull();
  });

  it('backs a working sign-in', async () => {
    const standIn = await startSupabaseAuth({ jwtSecret, users: postgresUserStore(sql) });
    try {
      const sb = createClient(standIn.url, 'anon-key', { auth: { persistSession: false } });
      const { data, error } = await sb.auth.signInWithPassword({ email: dbAlice.email, password });
      expect(error).toBeNull();
      expect(data.user?.id).toBe(dbAlice.id);
    } finally {
      await standIn.close();
    }
  });
});
