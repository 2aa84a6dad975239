/**
 * A minimal GoTrue (Supabase Auth) for the local stack and the test suite: email + password sign
 * in, refresh-token rotation, `GET /user`, logout. It speaks GoTrue's wire format closely enough
 * that the official supabase-js client works against it unchanged, and it signs HS256 access
 * tokens with the project's legacy JWT secret exactly as a hosted project with that secret does,
 * so the Worker verifies local and hosted tokens with the same code.
 *
 * Users come from a `UserStore` (the local Postgres `auth.users`, or memory in tests); sessions
 * and refresh tokens live in memory and die with the process, like a fresh GoTrue database would.
 */
import bcrypt from 'bcryptjs';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Sql } from 'postgres';
import { listenOnLoopback } from './http-server';

export interface StoredUser {
  id: string;
  email: string;
  /** bcrypt hash, as GoTrue stores it in auth.users.encrypted_password. */
  encryptedPassword: string;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  /** ISO 8601. */
  createdAt: string;
}

export interface UserStore {
  findByEmail(email: string): Promise<StoredUser | null>;
  findById(id: string): Promise<StoredUser | null>;
}

export interface SupabaseAuthOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** The project's legacy JWT secret (HS256). */
  jwtSecret: string;
  /** Supabase's default is 3600. */
  accessTokenTtlSeconds?: number;
  users: UserStore;
  /** Milliseconds since the epoch; injectable so tests can expire tokens without waiting. */
  now?: () => number;
}

export interface SupabaseAuthStandIn {
  /** Project URL (no `/auth/v1`): pass to `createClient(url, anonKey)`. */
  url: string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// User stores
// ---------------------------------------------------------------------------------------------

/** GoTrue matches emails case-insensitively (it lowercases on sign-up and on sign-in). */
function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function memoryUserStore(users: StoredUser[]): UserStore {
  return {
    async findByEmail(email) {
      const wanted = normaliseEmail(email);
      return users.find((user) => normaliseEmail(user.email) === wanted) ?? null;
    },
    async findById(id) {
      return users.find((user) => user.id === id) ?? null;
    },
  };
}

interface AuthUserRow {
  id: string;
  email: string;
  encrypted_password: string;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date | string;
}

function fromRow(row: AuthUserRow | undefined): StoredUser | null {
  if (!row) return null;
  return {
    id: row.id,
    email: row.email,
    encryptedPassword: row.encrypted_password,
    appMetadata: row.raw_app_meta_data ?? {},
    userMetadata: row.raw_user_meta_data ?? {},
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/**
 * Reads Supabase's own `auth.users` columns, so the local database is seeded exactly as a hosted
 * project would be and nothing in the app knows it is talking to a stand-in. Users without a
 * password (e.g. OAuth-only) cannot sign in with one, as in GoTrue.
 */
export function postgresUserStore(sql: Sql): UserStore {
  return {
    async findByEmail(email) {
      const rows = await sql<AuthUserRow[]>`
        select id::text, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at
        from auth.users
        where lower(email) = ${normaliseEmail(email)}
          and coalesce(encrypted_password, '') <> ''
        limit 1`;
      return fromRow(rows[0]);
    },
    async findById(id) {
      // A malformed id must read as "no such user", not as a uuid cast error.
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
      const rows = await sql<AuthUserRow[]>`
        select id::text, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at
        from auth.users
        where id = ${id}::uuid
        limit 1`;
      return fromRow(rows[0]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Errors, GoTrue style
// ---------------------------------------------------------------------------------------------

/**
 * supabase-js sends `X-Supabase-Api-Version: 2024-01-01`; GoTrue then answers errors as
 * `{ code: "<error_code>", message }` and echoes the header, and auth-js only trusts the string
 * `code` when that response header is present. Without the request header GoTrue uses its legacy
 * shape `{ code: <status>, error_code, msg }`, which auth-js also understands.
 */
const API_VERSION_HEADER = 'x-supabase-api-version';
const API_VERSION_2024 = '2024-01-01';

class AuthError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

function speaksApiVersion2024(c: Context): boolean {
  const requested = c.req.header(API_VERSION_HEADER);
  return (
    requested !== undefined &&
    /^\d{4}-\d{2}-\d{2}$/.test(requested) &&
    requested >= API_VERSION_2024
  );
}

function errorResponse(c: Context, error: AuthError): Response {
  if (speaksApiVersion2024(c)) {
    c.header(API_VERSION_HEADER, API_VERSION_2024);
    return c.json({ code: error.errorCode, message: error.message }, error.status);
  }
  return c.json(
    { code: error.status, error_code: error.errorCode, msg: error.message },
    error.status,
  );
}

const invalidCredentials = () =>
  new AuthError(400, 'invalid_credentials', 'Invalid login credentials');

// ---------------------------------------------------------------------------------------------
// Sessions and tokens
// ---------------------------------------------------------------------------------------------

interface Session {
  id: string;
  userId: string;
  /** Milliseconds; `amr[].timestamp` keeps reporting the original sign-in across refreshes. */
  signedInAt: number;
}

interface RefreshToken {
  sessionId: string;
  /** Rotated away: presenting it again is treated as theft, as GoTrue does. */
  revoked: boolean;
}

function randomToken(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64url');
}

function appMetadataOf(user: StoredUser): Record<string, unknown> {
  return { provider: 'email', providers: ['email'], ...user.appMetadata };
}

function userJson(user: StoredUser, lastSignInAt?: string) {
  return {
    id: user.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: user.email,
    // The store has no confirmation column: every stored user counts as confirmed at creation.
    email_confirmed_at: user.createdAt,
    phone: '',
    confirmed_at: user.createdAt,
    ...(lastSignInAt === undefined ? {} : { last_sign_in_at: lastSignInAt }),
    app_metadata: appMetadataOf(user),
    user_metadata: user.userMetadata ?? {},
    identities: [],
    created_at: user.createdAt,
    updated_at: user.createdAt,
    is_anonymous: false,
  };
}

async function readJson(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (error) {
    throw new AuthError(
      400,
      'bad_json',
      `Could not parse request body as JSON: ${error instanceof Error ? error.message : 'invalid'}`,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AuthError(400, 'bad_json', 'Could not parse request body as JSON: not an object');
  }
  return body as Record<string, unknown>;
}

/** Browser pages of the local stack run on other localhost ports; nothing else may call in. */
function isLocalOrigin(origin: string): boolean {
  try {
    const { hostname, protocol } = new URL(origin);
    return (
      (protocol === 'http:' || protocol === 'https:') &&
      (hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]')
    );
  } catch {
    return false;
  }
}

function createAuthApp(options: SupabaseAuthOptions, issuer: () => string): Hono {
  const now = options.now ?? Date.now;
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  const secret = new TextEncoder().encode(options.jwtSecret);
  const sessions = new Map<string, Session>();
  const refreshTokens = new Map<string, RefreshToken>();

  const endSession = (sessionId: string) => {
    sessions.delete(sessionId);
    for (const [token, record] of refreshTokens) {
      if (record.sessionId === sessionId) refreshTokens.delete(token);
    }
  };

  const issueSession = async (user: StoredUser, session: Session) => {
    const refreshToken = randomToken(12);
    refreshTokens.set(refreshToken, { sessionId: session.id, revoked: false });
    const iat = Math.floor(now() / 1000);
    const exp = iat + ttl;
    const accessToken = await new SignJWT({
      email: user.email,
      phone: '',
      app_metadata: appMetadataOf(user),
      user_metadata: user.userMetadata ?? {},
      role: 'authenticated',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: Math.floor(session.signedInAt / 1000) }],
      session_id: session.id,
      is_anonymous: false,
    })
      // Legacy-secret projects sign without a `kid`; verifiers must not expect one.
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer())
      .setAudience('authenticated')
      .setSubject(user.id)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(secret);
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: ttl,
      expires_at: exp,
      refresh_token: refreshToken,
      user: userJson(user, new Date(session.signedInAt).toISOString()),
    };
  };

  /** GoTrue's `requireAuthentication`: a valid JWT whose session and user still exist. */
  const authenticate = async (c: Context) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      throw new AuthError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
    }
    let claims: { sub?: string; session_id?: unknown };
    try {
      ({ payload: claims } = await jwtVerify(match[1], secret, {
        algorithms: ['HS256'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      const reason =
        error instanceof joseErrors.JWTExpired
          ? 'token has invalid claims: token is expired'
          : 'signature is invalid';
      throw new AuthError(
        403,
        'bad_jwt',
        `invalid JWT: unable to parse or verify signature, ${reason}`,
      );
    }
    const sessionId = typeof claims.session_id === 'string' ? claims.session_id : undefined;
    const session = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (!session) {
      throw new AuthError(
        403,
        'session_not_found',
        'Session from session_id claim in JWT does not exist',
      );
    }
    const user = claims.sub ? await options.users.findById(claims.sub) : null;
    if (!user) {
      throw new AuthError(403, 'user_not_found', 'User from sub claim in JWT does not exist');
    }
    return { user, session };
  };

  const passwordGrant = async (c: Context) => {
    const body = await readJson(c);
    const email = typeof body.email === 'string' ? body.email : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (email === '') throw new AuthError(400, 'validation_failed', 'missing email or phone');
    const user = await options.users.findByEmail(email);
    // Same answer for "no such user" and "wrong password" so sign-in cannot probe for accounts.
    if (!user || password === '' || !(await bcrypt.compare(password, user.encryptedPassword))) {
      throw invalidCredentials();
    }
    const session: Session = { id: crypto.randomUUID(), userId: user.id, signedInAt: now() };
    sessions.set(session.id, session);
    return c.json(await issueSession(user, session));
  };

  const refreshGrant = async (c: Context) => {
    const body = await readJson(c);
    const presented = typeof body.refresh_token === 'string' ? body.refresh_token : '';
    if (presented === '') throw new AuthError(400, 'validation_failed', 'refresh_token required');
    const record = refreshTokens.get(presented);
    const session = record ? sessions.get(record.sessionId) : undefined;
    if (!record || !session) {
      throw new AuthError(
        400,
        'refresh_token_not_found',
        'Invalid Refresh Token: Refresh Token Not Found',
      );
    }
    if (record.revoked) {
      // Reuse of a rotated token means it leaked: GoTrue ends the whole session family.
      endSession(session.id);
      throw new AuthError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
    }
    const user = await options.users.findById(session.userId);
    if (!user) {
      endSession(session.id);
      throw new AuthError(
        400,
        'refresh_token_not_found',
        'Invalid Refresh Token: Refresh Token Not Found',
      );
    }
    record.revoked = true;
    return c.json(await issueSession(user, session));
  };

  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof AuthError) return errorResponse(c, error);
    console.error('supabase-auth stand-in:', error);
    return errorResponse(c, new AuthError(500, 'unexpected_failure', 'Unexpected failure'));
  });
  app.notFound((c) => errorResponse(c, new AuthError(404, 'not_found', 'Not Found')));

  app.use(
    '/auth/v1/*',
    cors({
      origin: (origin) => (isLocalOrigin(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowHeaders: [
        'apikey',
        'authorization',
        'x-client-info',
        'x-supabase-api-version',
        'content-type',
        'x-retry-count',
        'traceparent',
        'tracestate',
        'baggage',
      ],
      // auth-js reads this response header to decide which error format it got.
      exposeHeaders: ['x-supabase-api-version'],
      credentials: true,
      maxAge: 600,
    }),
  );

  // Public on hosted projects (no apikey needed), so it is registered before the key check.
  // HS256-only projects publish an empty key set.
  app.get('/auth/v1/.well-known/jwks.json', (c) => c.json({ keys: [] }));

  // The API gateway in front of GoTrue rejects requests without an `apikey` (header or query).
  app.use('/auth/v1/*', async (c, next) => {
    if (!c.req.header('apikey') && !c.req.query('apikey')) {
      return c.json(
        {
          message: 'No API key found in request',
          hint: 'No `apikey` request header or url param was found.',
        },
        401,
      );
    }
    await next();
  });

  app.get('/auth/v1/health', (c) =>
    c.json({
      version: 'local-stand-in',
      name: 'GoTrue',
      description: 'GoTrue is a user registration and authentication API',
    }),
  );

  app.get('/auth/v1/settings', (c) =>
    c.json({
      external: {
        anonymous_users: false,
        apple: false,
        azure: false,
        email: true,
        github: false,
        google: false,
        phone: false,
      },
      disable_signup: true,
      mailer_autoconfirm: false,
      phone_autoconfirm: false,
      sms_provider: '',
      saml_enabled: false,
      anonymous_users_enabled: false,
    }),
  );

  app.post('/auth/v1/token', async (c) => {
    const grantType = c.req.query('grant_type');
    if (grantType === 'password') return passwordGrant(c);
    if (grantType === 'refresh_token') return refreshGrant(c);
    // GoTrue answers unknown grants in OAuth2's error shape, whatever the API version.
    return c.json(
      { error: 'unsupported_grant_type', error_description: 'unsupported_grant_type' },
      400,
    );
  });

  // Users are seeded, never self-registered; say so the way a project with sign-ups off does.
  app.post('/auth/v1/signup', () => {
    throw new AuthError(422, 'signup_disabled', 'Signups not allowed for this instance');
  });

  app.get('/auth/v1/user', async (c) => {
    const { user } = await authenticate(c);
    return c.json(userJson(user));
  });

  app.post('/auth/v1/logout', async (c) => {
    const { session } = await authenticate(c);
    const scope = c.req.query('scope') ?? 'global';
    if (scope !== 'global' && scope !== 'local' && scope !== 'others') {
      throw new AuthError(400, 'validation_failed', `Unsupported logout scope "${scope}"`);
    }
    // supabase-js defaults to `global`: every session of the user ends, as in GoTrue.
    for (const other of [...sessions.values()]) {
      if (other.userId !== session.userId) continue;
      const isThis = other.id === session.id;
      if (scope === 'global' || (scope === 'local' && isThis) || (scope === 'others' && !isThis)) {
        endSession(other.id);
      }
    }
    return c.body(null, 204);
  });

  return app;
}

/** Starts the stand-in on 127.0.0.1; resolves once it accepts connections. */
export async function startSupabaseAuth(
  options: SupabaseAuthOptions,
): Promise<SupabaseAuthStandIn> {
  let url = '';
  // The issuer embeds the bound port, known only once listening; tokens are issued after that.
  const app = createAuthApp(options, () => `${url}/auth/v1`);
  const server = await listenOnLoopback(app.fetch, options.port);
  url = server.url;
  return { url, close: server.close };
}
