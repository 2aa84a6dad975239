import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { demoTenants } from './local-config';
import { seedDemo } from './seed';

describe('demo seed', () => {
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  afterAll(() => sql.end());

  it('loads two tenants with three channels, two operators and templates each, idempotently', async () => {
    await seedDemo(sql);
    await seedDemo(sql);
    const ids = demoTenants.map((t) => t.id);
    const accounts =
      await sql`select tenant_id, count(*)::int as n from channel_accounts where tenant_id = any(${ids}) group by tenant_id`;
    expect(accounts.map((r) => r.n)).toEqual([3, 3]);
    const members =
      await sql`select count(*)::int as n from tenant_members where tenant_id = any(${ids})`;
    expect(members[0]?.n).toBe(4);
    const approved =
      await sql`select count(*)::int as n from templates where tenant_id = ${ids[0]!} and status = 'APPROVED'`;
    expect(approved[0]?.n).toBeGreaterThan(0);
    const [user] =
      await sql`select encrypted_password from auth.users where email = 'owner@sonrisa.test'`;
    expect(user?.encrypted_password).toMatch(/^\$2[aby]\$/);
  });
});
