import { describe, expect } from 'vitest';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

describeOperatorSecurity({ method: 'GET', path: '/admin/me' });

describe('GET /admin/me', () => {
  it('returns the operator, their role and tenant (HS256 token)', async ({
    harness: h,
    tenant: a,
  }) => {
    const res = await h.asUser(a.agent, '/admin/me');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user_id: a.agent.id,
      email: a.agent.email,
      tenant_id: a.tenantId,
      role: 'agent',
      memberships: [{ tenant_id: a.tenantId, tenant_name: a.name, role: 'agent' }],
    });
  });

  it('accepts asymmetric (RS256) tokens verified through the project JWKS', async ({
    harness: h,
    tenant: a,
  }) => {
    const token = await h.issuer.rs256Token({ sub: a.owner.id, email: a.owner.email });
    const res = await h.request('/admin/me', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { role: string }).role).toBe('owner');
  });

  it('lets a member of two tenants pick one with X-Tenant-Id', async ({
    harness: h,
    sql,
    tenant: a,
    otherTenant: b,
  }) => {
    await sql`insert into tenant_members (tenant_id, user_id, role) values (${b.tenantId}, ${a.owner.id}, 'admin')`;
    const token = await h.tokenFor(a.owner);
    const res = await h.request('/admin/me', {
      headers: { authorization: `Bearer ${token}`, 'x-tenant-id': b.tenantId },
    });
    const body = (await res.json()) as { tenant_id: string; role: string; memberships: unknown[] };
    expect(body.tenant_id).toBe(b.tenantId);
    expect(body.role).toBe('admin');
    expect(body.memberships).toHaveLength(2);
  });
});
