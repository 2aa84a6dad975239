import { sql as dsql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { it, must } from '../test/it';
import { asOperator, asTenant } from './client';
import { listMemberships } from './members';

/**
 * Tenant isolation is enforced by Postgres, not by application code alone. These tests go around
 * the application on purpose: through the handles, and by raw SQL as the roles Supabase exposes.
 */
describe('row-level security', () => {
  const claimsOf = (user: { id: string; email: string }) => ({
    sub: user.id,
    role: 'authenticated' as const,
    email: user.email,
  });

  it.beforeAll(async ({ sql, tenant: a, otherTenant: b }) => {
    for (const t of [a, b]) {
      const contact = crypto.randomUUID();
      const conv = crypto.randomUUID();
      await sql`insert into contacts (id, tenant_id, channel, external_user_id) values (${contact}, ${t.tenantId}, 'whatsapp', ${`wa-${contact}`})`;
      await sql`insert into conversations (id, tenant_id, contact_id, channel_account_id) values (${conv}, ${t.tenantId}, ${contact}, ${t.accounts.whatsapp.id})`;
      await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender, type, content, provider_message_id, provider_timestamp, status)
        values (${t.tenantId}, ${conv}, ${t.accounts.whatsapp.id}, 'inbound', 'user', 'text', 'hola', ${`wamid.${conv}`}, now(), 'received')`;
    }
  });

  it('is enabled on every table in exposed schemas and in private', async ({ sql }) => {
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

  it("lets an operator read only their tenant's rows through the operator handle", async ({
    db,
    tenant: a,
  }) => {
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

  it('refuses an operator writing into another tenant through the operator handle', async ({
    db,
    tenant: a,
    otherTenant: b,
  }) => {
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

  it("hides another tenant's rows from raw SQL as authenticated with A's claims", async ({
    sql,
    tenant: a,
    otherTenant: b,
  }) => {
    const rows = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claimsOf(a.agent))}, true)`;
      await tx`set local role authenticated`;
      return tx`select tenant_id from conversations where tenant_id = ${b.tenantId}`;
    });
    expect(rows).toEqual([]);
  });

  it('gives anon nothing from any table, and lets anon write nothing', async ({ sql }) => {
    // Every table in the exposed schema, from the catalog, so new tables are covered too. Supabase
    // grants anon SELECT on them (so do our migrations): only row-level security stands between.
    const tables = (
      await sql<{ name: string }[]>`select c.relname as name from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = 'public' and c.relname not like '__drizzle%'`
    ).map((r) => r.name);
    expect(tables.length).toBeGreaterThanOrEqual(12);
    const counts = await sql.begin(async (tx) => {
      await tx`set local role anon`;
      const out: Record<string, number> = {};
      for (const table of tables) {
        const [row] = await tx.unsafe(`select count(*)::int as n from public."${table}"`);
        out[table] = row?.n as number;
      }
      return out;
    });
    // Other tests' rows exist in most of these tables; anon must see none of them.
    expect(Object.entries(counts).filter(([, n]) => n !== 0)).toEqual([]);
    await expect(
      sql.begin(async (tx) => {
        await tx`set local role anon`;
        await tx`insert into tenants (name, slug) values ('x', ${`anon-${Date.now()}`})`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('lets only owners and admins change configuration, and nobody rewrite system records, by direct SQL', async ({
    sql,
    tenant: a,
  }) => {
    const asRole = (user: { id: string; email: string }, statement: string) =>
      sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claimsOf(user))}, true)`;
        await tx`set local role authenticated`;
        return (await tx.unsafe(statement)).count;
      });
    const mine = `tenant_id = '${a.tenantId}'`;
    // Rows to try to rewrite (arranged as the table owner), so a 0 below means refused, not absent.
    const [conv] =
      await sql`select id, contact_id from conversations where tenant_id = ${a.tenantId} limit 1`;
    const { id: conversationId, contact_id: contactId } = must(conv, "A's conversation");
    await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model)
      values (${a.tenantId}, ${conversationId}, ${`rls-${crypto.randomUUID()}`}, 'mock')`;
    await sql`insert into job_outbox (tenant_id, kind, payload) values (${a.tenantId}, 'test', '{}')`;
    await sql`insert into opt_ins (tenant_id, contact_id, channel, scope, action, source)
      values (${a.tenantId}, ${contactId}, 'whatsapp', 'marketing', 'opt_in', 'test')`;
    await sql`insert into knowledge_articles (tenant_id, title, body) values (${a.tenantId}, 'Hours', 'Open 9-18')`;
    await sql`insert into canned_replies (tenant_id, title, text) values (${a.tenantId}, 'Hours', 'Open 9-18')`;
    // An agent reads configuration but cannot change it (e.g. make themselves the escalation contact).
    expect(await asRole(a.agent, `select 1 from tenant_settings where ${mine}`)).toBe(1);
    for (const table of [
      'tenant_settings',
      'channel_accounts',
      'knowledge_articles',
      'canned_replies',
      'agent_settings',
    ]) {
      expect(await asRole(a.agent, `update ${table} set tenant_id = tenant_id where ${mine}`)).toBe(
        0,
      );
    }
    expect(
      await asRole(a.owner, `update tenant_settings set persona = persona where ${mine}`),
    ).toBe(1);
    expect(await asRole(a.agent, `select 1 from canned_replies where ${mine}`)).toBe(1);
    expect(await asRole(a.owner, `update canned_replies set text = text where ${mine}`)).toBe(1);
    // Traces, delivery events, jobs, attempts, lock history and consent are never rewritten by operators.
    for (const table of [
      'agent_runs',
      'message_status_events',
      'agent_media_notes',
      'job_outbox',
      'send_attempts',
      'conversation_lock_events',
      'opt_ins',
    ]) {
      expect(await asRole(a.owner, `update ${table} set tenant_id = tenant_id where ${mine}`)).toBe(
        0,
      );
      expect(await asRole(a.owner, `delete from ${table} where ${mine}`)).toBe(0);
    }
    await expect(
      asRole(
        a.owner,
        `insert into agent_runs (tenant_id, conversation_id, correlation_id, model) select tenant_id, id, 'forged', 'x' from conversations where ${mine} limit 1`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('keeps every secret (the private schema) unreadable to anon and authenticated', async ({
    sql,
    tenant: a,
  }) => {
    const secrets = (
      await sql<{ name: string }[]>`select c.relname as name from pg_class c
        join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' and n.nspname = 'private'`
    ).map((r) => r.name);
    expect(secrets).toEqual(expect.arrayContaining(['channel_credentials', 'agent_model_keys']));
    for (const table of secrets) {
      for (const role of ['anon', 'authenticated']) {
        await expect(
          sql.begin(async (tx) => {
            await tx`select set_config('request.jwt.claims', ${JSON.stringify(claimsOf(a.owner))}, true)`;
            await tx.unsafe(`set local role ${role}`);
            await tx.unsafe(`select * from private."${table}"`);
          }),
        ).rejects.toMatchObject({ code: '42501' });
      }
    }
  });

  it('binds the tenant handle to exactly one tenant, credentials included', async ({
    db,
    tenant: a,
    otherTenant: b,
  }) => {
    const seen = await asTenant(db, a.tenantId, async (ctx) => ({
      messages: [
        ...(await ctx.tx.execute<{ tenant_id: string }>(
          dsql`select distinct tenant_id from messages`,
        )),
      ].map((r) => r.tenant_id),
      credentials: [
        ...(await ctx.tx.execute<{ tenant_id: string }>(
          dsql`select distinct tenant_id from private.channel_credentials`,
        )),
      ].map((r) => r.tenant_id),
    }));
    expect(seen).toEqual({ messages: [a.tenantId], credentials: [a.tenantId] });
    await expect(
      asTenant(db, a.tenantId, (ctx) =>
        ctx.tx.execute(
          dsql`insert into contacts (tenant_id, channel, external_user_id) values (${b.tenantId}, 'whatsapp', 'x')`,
        ),
      ),
    ).rejects.toMatchObject({ cause: { code: '42501' } });
  });

  it('resolves a channel account by external id without a tenant, and exposes nothing else', async ({
    sql,
    otherTenant: b,
  }) => {
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
