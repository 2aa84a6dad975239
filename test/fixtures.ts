import postgres from 'postgres';
import { inject } from 'vitest';
import { encryptSecret } from '../functions/lib/crypto';

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
/** The Graph access token every test account holds (encrypted at rest like a real one). */
export const TEST_GRAPH_TOKEN = 'test-graph-access-token';

/** A superuser connection for arranging and asserting; never what the app itself uses. */
export function adminSql() {
  return postgres(inject('databaseUrl'), { max: 2, onnotice: () => {} });
}

const digits = () => String(Math.floor(Math.random() * 1e12)).padStart(12, '0');

export type TenantFixture = Awaited<ReturnType<typeof createTenant>>;

/**
 * A fresh tenant with one account per channel, an owner and an agent. Every test makes its own, so
 * tests share one database without seeing each other's rows.
 */
export async function createTenant(sql: postgres.Sql, name = 'Tenant') {
  const tenantId = crypto.randomUUID();
  const slug = `${name.toLowerCase().replace(/\W+/g, '-')}-${tenantId.slice(0, 8)}`;
  await sql`insert into tenants (id, name, slug) values (${tenantId}, ${name}, ${slug})`;
  await sql`insert into tenant_settings (tenant_id) values (${tenantId})`;
  const accounts = {
    whatsapp: {
      id: crypto.randomUUID(),
      externalId: `1${digits()}`,
      wabaId: `2${digits()}`,
      phone: `1555${digits().slice(0, 7)}`,
    },
    messenger: { id: crypto.randomUUID(), externalId: `3${digits()}` },
    instagram: { id: crypto.randomUUID(), externalId: `4${digits()}` },
  };
  await sql`insert into channel_accounts (id, tenant_id, channel, external_id, waba_id, display_name, display_phone_number)
    values (${accounts.whatsapp.id}, ${tenantId}, 'whatsapp', ${accounts.whatsapp.externalId}, ${accounts.whatsapp.wabaId}, ${`${name} WhatsApp`}, ${accounts.whatsapp.phone}),
           (${accounts.messenger.id}, ${tenantId}, 'messenger', ${accounts.messenger.externalId}, null, ${`${name} Page`}, null),
           (${accounts.instagram.id}, ${tenantId}, 'instagram', ${accounts.instagram.externalId}, null, ${`${name} IG`}, null)`;
  for (const account of Object.values(accounts)) {
    const token = await encryptSecret(TEST_GRAPH_TOKEN, TEST_ENCRYPTION_KEY);
    await sql`insert into private.channel_credentials (channel_account_id, tenant_id, access_token)
      values (${account.id}, ${tenantId}, ${token})`;
  }
  const owner = { id: crypto.randomUUID(), email: `owner-${tenantId.slice(0, 8)}@example.test` };
  const agent = { id: crypto.randomUUID(), email: `agent-${tenantId.slice(0, 8)}@example.test` };
  for (const [user, role] of [
    [owner, 'owner'],
    [agent, 'agent'],
  ] as const) {
    await sql`insert into auth.users (id, email) values (${user.id}, ${user.email})`;
    await sql`insert into tenant_members (tenant_id, user_id, role) values (${tenantId}, ${user.id}, ${role})`;
  }
  return { tenantId, name, slug, accounts, owner, agent };
}
