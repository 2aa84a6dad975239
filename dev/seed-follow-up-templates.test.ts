import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { demoTenants } from './local-config';
import { seedDemo } from './seed';

describe('demo seed: follow-up templates', () => {
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  afterAll(() => sql.end());

  it('gives each demo business approved follow-up templates on its WhatsApp number, once', async () => {
    await seedDemo(sql);
    await seedDemo(sql);
    for (const tenant of demoTenants) {
      const rows = await sql`select t.name, t.language, t.category, t.status
        from templates t join channel_accounts a on a.id = t.channel_account_id
        where t.tenant_id = ${tenant.id} and t.name like 'follow\\_up%'
          and a.external_id = ${tenant.whatsapp.phoneNumberId}
        order by t.name, t.language`;
      expect(rows.map((r) => `${r.name}/${r.language}/${r.category}/${r.status}`)).toEqual([
        'follow_up_offer/en_US/MARKETING/APPROVED',
        'follow_up_offer/es/MARKETING/APPROVED',
        'follow_up_pending/en_US/UTILITY/APPROVED',
        'follow_up_pending/es/UTILITY/APPROVED',
      ]);
    }
  });
});
