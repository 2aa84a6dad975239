import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'test-jwt-secret-with-at-least-32-characters!!';

export type TokenOptions = {
  sub: string;
  email?: string;
  issuer: string;
  audience?: string;
  role?: string;
  /** `null`: no `exp` claim at all (a forged "never expires" token). */
  expiresInSeconds?: number | null;
  secret?: string;
  extra?: JWTPayload;
};

/** An HS256 access token shaped like Supabase Auth's (legacy JWT secret). */
export function hs256Token(o: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    role: o.role ?? 'authenticated',
    email: o.email,
    aal: 'aal1',
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    ...o.extra,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuer(o.issuer)
    .setAudience(o.audience ?? 'authenticated')
    .setIssuedAt(now);
  if (o.expiresInSeconds !== null) jwt.setExpirationTime(now + (o.expiresInSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(o.secret ?? TEST_JWT_SECRET));
}

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsignedToken(o: TokenOptions): string {
  const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({
    sub: o.sub,
    role: 'authenticated',
    iss: o.issuer,
    aud: 'authenticated',
    iat: now,
    exp: now + 3600,
  })}.`;
}

/**
 * A stand-in for a Supabase project that signs with asymmetric keys: serves
 * `/auth/v1/.well-known/jwks.json` and mints RS256 tokens with the matching private key.
 */
export async function startJwksIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const app = new Hono().get('/auth/v1/.well-known/jwks.json', (c) => c.json({ keys: [jwk] }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    issuer: `${url}/auth/v1`,
    rs256Token(o: Omit<TokenOptions, 'issuer'> & { issuer?: string }) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role: o.role ?? 'authenticated', email: o.email, ...o.extra })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'JWT' })
        .setSubject(o.sub)
        .setIssuer(o.issuer ?? `${url}/auth/v1`)
        .setAudience(o.audience ?? 'authenticated')
        .setIssuedAt(now)
        .setExpirationTime(now + (o.expiresInSeconds ?? 3600))
        .sign(privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
