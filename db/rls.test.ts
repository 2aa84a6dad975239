import { sql as dsql } from 'drizzle-orm';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminSql, createTenant, type TenantFixture } from '../test/fixtures';
import { asOperator, asTenant, connect, type Database } from './client';
import { listMemberships } from './members';

/**
 * Tenant isolation is enforced by Postgres, not by application code alone. These tests go around
 * the application on purpose: through the handles, and by raw SQL as the roles Supabase exposes.
 */
describe('row-level security', () => {
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let a: TenantFixture;
  let b: TenantFixture;
  const claimsOf = (user: { id: string; email: string }) => ({
    sub: user.id,
    role: 'authenticated' as const,
    email: user.email,
  });

  beforeAll(async () => {
    sql = adminSql();
    ({ db, close: closeDb } = connect(inject('databaseUrl')));
    a = await createTenant(sql, 'RLS A');
    b = await createTenant(sql, 'RLS B');
    for (const t of [a, b]) {
      const contact = crypto.randomUUID();
      const conv = crypto.randomUUID();
      await sql`insert into contacts (id, tenant_id, channel, external_user_id) values (${contact}, ${t.tenantId}, 'whatsapp', ${`wa-${contact}`})`;
      await sql`insert into conversations (id, tenant_id, contact_id, channel_account_id) values (${conv}, ${t.tenantId}, ${contact}, ${t.accounts.whatsapp.id})`;
      await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender, type, content, provider_message_id, provider_timestamp, status)
        values (${t.tenantId}, ${conv}, ${t.accounts.whatsapp.id}, 'inbound', 'user', 'text', 'hola', ${`wamid.${conv}`}, now(), 'received')`;
    }
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
  });

  it('is enabled on every table in exposed schemas and in private', async () => {
    const rows = await sql<{ schema: string; table: string; rls: boolean }[]>`
      select n.nspname as schema, c.relname as table, c.relrowsecurity as rls
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname in ('public', 'private')
        and c.relname not like '__drizzle%'`;
    expect(rows.length).toBeGreaterThanOrEqual(12);
    expect(rows.filter((r) => !r.rls).map((r) => `${r.schema}.${r.table}`)).toEqual([]);
    const withoutPolicy = await sql`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname in ('public', 'private') and c.relname not like '__drizzle%'
        and not exists (select 1 from pg_policy p where p.polrelid = c.oid)`;
    expect(withoutPolicy).toEqual([]);
  });

  it("lets an operator read only their tenant's rows through the operator handle", async () => {
    const seen = await asOperator(db, claimsOf(a.owner), async (tx) => {
      const r = await tx.execute<{ tenant_id: string }>(
        dsql`select distinct tenant_id from messages`,
      );
      return [...r].map((row) => row.tenant_id);
    });
    expect(seen).toEqual([a.tenantId]);
    const memberships = await asOperator(db, claimsOf(a.agent), (tx) => listMemberships(tx));
    expect(memberships.map((m) => m.tenantId)).toEqual([a.tenantId]);
  });

  it('refuses an operator writing into another tenant through the operator handle', async () => {
    const attempt = asOperator(db, claimsOf(a.owner), (tx) =>
      tx.execute(
        dsql`insert into contacts (tenant_id, channel, external_user_id) values (${b.tenantId}, 'whatsapp', 'intruder')`,
      ),
    );
    await expect(attempt).rejects.toMatchObject({ cause: { code: '42501' } });
    const updated = await asOperator(
      db,
      claimsOf(a.owner),
      async (tx) =>
        [
          ...(await tx.execute(
            dsql`update conversations set is_locked = true where tenant_id = ${b.tenantId} returning id`,
          )),
        ].length,
    );
    expect(updated).toBe(0);
    const deleted = await asOperator(
      db,
      claimsOf(a.owner),
      async (tx) =>
        [
          ...(await tx.execute(
            dsql`delete from messages where tenant_id = ${b.tenantId} returning id`,
          )),
        ].length,
    );
    expect(deleted).toBe(0);
  });

  it("hides another tenant's rows from raw SQL as authenticated with A's claims", async () => {
    const rows = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claimsOf(a.agent))}, true)`;
      await tx`set local role authenticated`;
      return tx`select tenant_id from conversations where tenant_id = ${b.tenantId}`;
    });
    expect(rows).toEqual([]);
  });

  it('gives anon nothing, and lets anon write nothing', async () => {
    const counts = await sql.begin(async (tx) => {
      await tx`set local role anon`;
      const out: Record<string, number> = {};
      for (const table of [
        'tenants',
        'tenant_members',
        'channel_accounts',
        'contacts',
        'conversations',
        'messages',
        'webhook_events',
        'agent_runs',
        'templates',
        'opt_ins',
        'tenant_settings',
      ]) {
        const [row] = await tx.unsafe(`select count(*)::int as n from public.${table}`);
        out[table] = row?.n as number;
      }
      return out;
    });
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    await expect(
      sql.begin(async (tx) => {
        await tx`set local role anon`;
        await tx`insert into tenants (name, slug) values ('x', ${`anon-${Date.now()}`})`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('keeps channel credentials unreadable to anon and authenticated', async () => {
    for (const role of ['anon', 'authenticated']) {
      await expect(
        sql.begin(async (tx) => {
          await tx`select set_config('request.jwt.claims', ${JSON.stringify(claimsOf(a.owner))}, true)`;
          await tx.unsafe(`set local role ${role}`);
          await tx`select access_token from private.channel_credentials`;
        }),
      ).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('binds the tenant handle to exactly one tenant, credentials included', async () => {
    const seen = await asTenant(db, a.tenantId, async (tx) => ({
      messages: [
        ...(await tx.execute<{ tenant_id: string }>(dsql`select distinct tenant_id from messages`)),
      ].map((r) => r.tenant_id),
      credentials: [
        ...(await tx.execute<{ tenant_id: string }>(
          dsql`select distinct tenant_id from private.channel_credentials`,
        )),
      ].map((r) => r.tenant_id),
    }));
    expect(seen).toEqual({ messages: [a.tenantId], credentials: [a.tenantId] });
    await expect(
      asTenant(db, a.tenantId, (tx) =>
        tx.execute(
          dsql`insert into contacts (tenant_id, channel, external_user_id) values (${b.tenantId}, 'whatsapp', 'x')`,
        ),
      ),
    ).rejects.toMatchObject({ cause: { code: '42501' } });
  });

  it('resolves a channel account by external id without a tenant, and exposes nothing else', async () => {
    const rows = await sql.begin(async (tx) => {
      await tx`set local role switchboard_worker`;
      const resolved =
        await tx`select * from app.resolve_channel_account('whatsapp', ${b.accounts.whatsapp.externalId})`;
      const visible = await tx`select count(*)::int as n from channel_accounts`;
      return { resolved, visible: visible[0]?.n };
    });
    expect(rows.resolved).toEqual([
      {
        channel_account_id: b.accounts.whatsapp.id,
        tenant_id: b.tenantId,
        waba_id: b.accounts.whatsapp.wabaId,
      },
    ]);
    expect(rows.visible).toBe(0);
    await expect(
      sql.begin(async (tx) => {
        await tx`set local role authenticated`;
        await tx`select * from app.resolve_channel_account('whatsapp', ${b.accounts.whatsapp.externalId})`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
  });
});
