import { desc, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, bench, describe, inject } from 'vitest';
import { asOperator, asTenant, connect, type Database } from '../db/client';
import { messages } from '../db/schema';
import { createTenant, type TenantFixture } from '../test/fixtures';

/**
 * What tenant isolation costs: the same query (a conversation's latest 50 messages) as the table
 * owner (no RLS), through the tenant handle and through the operator handle. Both handles open a
 * transaction and bind settings first, so the ratio shows the whole price of scoping.
 */
async function seed(t: TenantFixture, conversations: number, perConversation: number) {
  const ids: string[] = [];
  for (let c = 0; c < conversations; c++) {
    const contact = crypto.randomUUID();
    const conv = crypto.randomUUID();
    ids.push(conv);
    await sql`insert into contacts (id, tenant_id, channel, external_user_id) values (${contact}, ${t.tenantId}, 'whatsapp', ${`wa-${contact}`})`;
    await sql`insert into conversations (id, tenant_id, contact_id, channel_account_id) values (${conv}, ${t.tenantId}, ${contact}, ${t.accounts.whatsapp.id})`;
    const rows = Array.from({ length: perConversation }, (_, i) => ({
      tenant_id: t.tenantId,
      conversation_id: conv,
      channel_account_id: t.accounts.whatsapp.id,
      direction: 'inbound',
      sender: 'user',
      type: 'text',
      content: `message ${i}`,
      provider_message_id: `wamid.${conv}.${i}`,
      provider_timestamp: new Date(Date.now() - (perConversation - i) * 1000),
      status: 'received',
    }));
    await sql`insert into messages ${sql(rows)}`;
  }
  return ids;
}

// Vitest runs no hooks before benchmarks, so the data is arranged at module load.
const sql = postgres(inject('databaseUrl'), { max: 2, onnotice: () => {} });
const { db, close } = connect(inject('databaseUrl'));
const tenant: TenantFixture = await createTenant(sql, 'Bench A');
const [conversationId] = (await seed(tenant, 20, 100)) as [string];
await seed(await createTenant(sql, 'Bench B'), 20, 100);
await sql`analyze messages`;

describe('conversation history: 50 latest of 2,000 messages (another tenant holds 2,000 more)', () => {
  afterAll(async () => {
    await close();
    await sql.end();
  });

  const latest = (d: Pick<Database, 'select'>) =>
    d
      .select()
      .from(messages)
      .where(eq(messages.conversationId, conversationId))
      .orderBy(desc(messages.providerTimestamp))
      .limit(50);

  bench('table owner, no RLS (baseline)', async () => {
    await latest(db);
  });
  bench('tenant handle (asTenant: switchboard_worker + app.tenant_id)', async () => {
    await asTenant(db, tenant.tenantId, (ctx) => latest(ctx.tx));
  });
  bench('operator handle (asOperator: authenticated + JWT claims)', async () => {
    await asOperator(db, { sub: tenant.agent.id, role: 'authenticated' }, (tx) => latest(tx));
  });
});
