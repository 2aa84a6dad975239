import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, createTenant, type TenantFixture } from './fixtures';
import { createHarness, type Harness } from './harness';
import { hs256Token, unsignedToken } from './tokens';

export type SecuredRoute = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path for tenant A's operator; `:foreignId` is replaced by an id owned by tenant B when given. */
  path: string;
  body?: unknown;
  /** Creates a row of tenant B and returns its id: the route must answer 404 for it, as for a missing id. */
  foreignId?: (sql: postgres.Sql, b: TenantFixture) => Promise<string>;
};

/**
 * The security suite every operator route reuses: no token, bad signature, expired, no `exp`,
 * wrong audience, wrong issuer, wrong role, a `sub` that is not a user id, `alg: none`, a
 * non-member, and another tenant's ids answered 404.
 */
export function describeOperatorSecurity(route: SecuredRoute) {
  describe(`${route.method} ${route.path} security`, () => {
    let h: Harness;
    let sql: postgres.Sql;
    let a: TenantFixture;
    let b: TenantFixture;
    let pathForA: string;

    beforeAll(async () => {
      h = await createHarness();
      sql = adminSql();
      a = await createTenant(sql, 'Security A');
      b = await createTenant(sql, 'Security B');
      pathForA = route.path.replace(':foreignId', crypto.randomUUID());
    });
    afterAll(async () => {
      await sql.end();
      await h.close();
    });

    const call = (path: string, token?: string) =>
      h.request(path, {
        method: route.method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(route.body ? { 'content-type': 'application/json' } : {}),
        },
        body: route.body ? JSON.stringify(route.body) : undefined,
      });

    async function expectError(res: Response, status: number, code: string) {
      expect(res.status).toBe(status);
      const body = (await res.json()) as {
        error: { code: string; message: string; requestId: string };
      };
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(body.error.requestId.length).toBeGreaterThan(0);
    }

    const issuer = () => `${h.issuer.url}/auth/v1`;

    it('refuses a request without a token (401)', async () => {
      await expectError(await call(pathForA), 401, 'UNAUTHORIZED');
    });
    it('refuses a token signed with another secret (401)', async () => {
      const token = await hs256Token({ sub: a.owner.id, issuer: issuer(), secret: 'x'.repeat(40) });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses an expired token (401)', async () => {
      const token = await hs256Token({ sub: a.owner.id, issuer: issuer(), expiresInSeconds: -60 });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses a token for another audience (401)', async () => {
      const token = await hs256Token({ sub: a.owner.id, issuer: issuer(), audience: 'anon' });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses a token from another issuer (401)', async () => {
      const token = await hs256Token({ sub: a.owner.id, issuer: 'https://evil.example/auth/v1' });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses an unsigned alg:none token (401)', async () => {
      await expectError(
        await call(pathForA, unsignedToken({ sub: a.owner.id, issuer: issuer() })),
        401,
        'UNAUTHORIZED',
      );
    });
    it('refuses an anon-role token (401)', async () => {
      const token = await hs256Token({ sub: a.owner.id, issuer: issuer(), role: 'anon' });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses a token without exp, which would never expire (401)', async () => {
      const token = await hs256Token({ sub: a.owner.id, issuer: issuer(), expiresInSeconds: null });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses a signed token whose sub is not a user id (401, not 500)', async () => {
      const token = await hs256Token({ sub: 'service-account', issuer: issuer() });
      await expectError(await call(pathForA, token), 401, 'UNAUTHORIZED');
    });
    it('refuses a signed-in user who belongs to no business (403)', async () => {
      const strangerId = crypto.randomUUID();
      const stranger = { id: strangerId, email: `stranger-${strangerId}@example.test` };
      await sql`insert into auth.users (id, email) values (${stranger.id}, ${stranger.email})`;
      await expectError(await call(pathForA, await h.tokenFor(stranger)), 403, 'FORBIDDEN');
    });
    it('refuses to act on another tenant named in X-Tenant-Id (403)', async () => {
      const res = await h.request(pathForA, {
        method: route.method,
        headers: {
          authorization: `Bearer ${await h.tokenFor(a.owner)}`,
          'x-tenant-id': b.tenantId,
          ...(route.body ? { 'content-type': 'application/json' } : {}),
        },
        body: route.body ? JSON.stringify(route.body) : undefined,
      });
      await expectError(res, 403, 'FORBIDDEN');
    });
    if (route.foreignId) {
      const foreignId = route.foreignId;
      it("answers 404 for another tenant's id, exactly like a missing id", async () => {
        const token = await h.tokenFor(a.owner);
        const foreign = await call(
          route.path.replace(':foreignId', await foreignId(sql, b)),
          token,
        );
        const missing = await call(route.path.replace(':foreignId', crypto.randomUUID()), token);
        expect(foreign.status).toBe(404);
        expect(missing.status).toBe(404);
        const [fb, mb] = [
          (await foreign.json()) as { error: { code: string } },
          (await missing.json()) as { error: { code: string } },
        ];
        expect(fb.error.code).toBe('NOT_FOUND');
        expect(mb.error.code).toBe('NOT_FOUND');
      });
    }
  });
}
