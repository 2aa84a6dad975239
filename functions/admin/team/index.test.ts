import { describe, expect } from 'vitest';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

describeOperatorSecurity({ method: 'GET', path: '/admin/team' });

describe('team', () => {
  it('lists the business’s operators, named by display name else email, and no one else', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: _other,
  }) => {
    await sql`update tenant_members set display_name = 'Olga Owner'
      where tenant_id = ${t.tenantId} and user_id = ${t.owner.id}`;
    // The team is listed in the order people joined; the fixture adds both in the same clock tick
    // now and then (the embedded database in CI), so the agent joins a second later here.
    await sql`update tenant_members set created_at = created_at + interval '1 second'
      where tenant_id = ${t.tenantId} and user_id = ${t.agent.id}`;
    const res = await h.asUser(t.agent, '/admin/team');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      items: [
        { user_id: t.owner.id, role: 'owner', name: 'Olga Owner' },
        { user_id: t.agent.id, role: 'agent', name: t.agent.email },
      ],
    });
  });

  it('app.tenant_team answers nothing for a business the operator is not in', async ({
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    const rows = await sql.begin(async (tx) => {
      await tx`set local role authenticated`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: t.agent.id, role: 'authenticated' })}, true)`;
      return tx`select * from app.tenant_team(${other.tenantId}::uuid)`;
    });
    expect(rows).toHaveLength(0);
  });
});
