import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import type { TenantFixture } from '../../../test/fixtures';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

async function foreignReply(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [row] = await sql`insert into canned_replies (tenant_id, title, text)
    values (${b.tenantId}, ${`B only ${crypto.randomUUID()}`}, 'Secret of tenant B') returning id`;
  return row?.id as string;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/canned-replies' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/canned-replies',
  body: { title: 'Hours', text: 'We open at 9.' },
});
describeOperatorSecurity({
  method: 'PATCH',
  path: '/admin/canned-replies/:foreignId',
  body: { title: 'Changed' },
  foreignId: foreignReply,
});
describeOperatorSecurity({
  method: 'DELETE',
  path: '/admin/canned-replies/:foreignId',
  foreignId: foreignReply,
});

type Reply = { id: string; title: string; text: string };
type ErrorBody = { error: { code: string; message: string; requestId: string } };

describe('/admin/canned-replies', () => {
  const json = (body: unknown) => ({ body: JSON.stringify(body) });

  it('creates, lists, updates and deletes canned replies', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Canned CRUD');
    const created = await h.asUser(a.owner, '/admin/canned-replies', {
      method: 'POST',
      ...json({ title: '  Hours ', text: 'We are open 9:00 to 20:00.' }),
    });
    expect(created.status).toBe(201);
    const reply = (await created.json()) as Reply;
    expect(reply).toMatchObject({ title: 'Hours', text: 'We are open 9:00 to 20:00.' });
    const [stored] = await sql`select tenant_id, title from canned_replies where id = ${reply.id}`;
    expect(stored).toEqual({ tenant_id: a.tenantId, title: 'Hours' });

    await h.asUser(a.owner, '/admin/canned-replies', {
      method: 'POST',
      ...json({ title: 'Address', text: 'Calle Mayor 1.' }),
    });
    const list = await h.asUser(a.agent, '/admin/canned-replies');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: Reply[] }).items.map((r) => r.title)).toEqual([
      'Address',
      'Hours',
    ]);

    const patched = await h.asUser(a.owner, `/admin/canned-replies/${reply.id}`, {
      method: 'PATCH',
      ...json({ text: 'We are open 9:00 to 21:00.' }),
    });
    expect(patched.status).toBe(200);
    expect((await patched.json()) as Reply).toMatchObject({
      title: 'Hours',
      text: 'We are open 9:00 to 21:00.',
    });

    const deleted = await h.asUser(a.owner, `/admin/canned-replies/${reply.id}`, {
      method: 'DELETE',
    });
    expect(deleted.status).toBe(204);
    expect(await sql`select id from canned_replies where id = ${reply.id}`).toHaveLength(0);
    const again = await h.asUser(a.owner, `/admin/canned-replies/${reply.id}`, {
      method: 'DELETE',
    });
    expect(again.status).toBe(404);
  });

  it('lets agents read but not write', async ({ harness: h, sql, newTenant }) => {
    const a = await newTenant('Canned agent');
    const [row] = await sql`insert into canned_replies (tenant_id, title, text)
      values (${a.tenantId}, 'Kept', 'Unchanged') returning id`;
    const id = row?.id as string;
    const writes = [
      h.asUser(a.agent, '/admin/canned-replies', {
        method: 'POST',
        ...json({ title: 'x', text: 'y' }),
      }),
      h.asUser(a.agent, `/admin/canned-replies/${id}`, {
        method: 'PATCH',
        ...json({ text: 'Changed' }),
      }),
      h.asUser(a.agent, `/admin/canned-replies/${id}`, { method: 'DELETE' }),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(403);
      expect(((await res.json()) as ErrorBody).error.code).toBe('FORBIDDEN');
    }
    const [kept] = await sql`select text from canned_replies where id = ${id}`;
    expect(kept).toEqual({ text: 'Unchanged' });
  });

  it.for([
    ['no title', { text: 'y' }],
    ['no text', { title: 'x' }],
    ['an empty title', { title: '   ', text: 'y' }],
    ['an empty text', { title: 'x', text: '' }],
    ['a title over 60 characters', { title: 'x'.repeat(61), text: 'y' }],
    ['a text over 4096 characters', { title: 'x', text: 'y'.repeat(4097) }],
    ['a title that is not a string', { title: 7, text: 'y' }],
    ['a text that is not a string', { title: 'x', text: ['y'] }],
  ])('refuses a reply with %s (400)', async ([, body], { harness: h, sql, newTenant }) => {
    const a = await newTenant('Canned bad input');
    const res = await h.asUser(a.owner, '/admin/canned-replies', { method: 'POST', ...json(body) });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as ErrorBody).error;
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.requestId.length).toBeGreaterThan(0);
    expect(await sql`select id from canned_replies where tenant_id = ${a.tenantId}`).toHaveLength(
      0,
    );
  });

  it('keeps 60 and 4096 characters, the limits themselves', async ({ harness: h, tenant: a }) => {
    const res = await h.asUser(a.owner, '/admin/canned-replies', {
      method: 'POST',
      ...json({ title: 't'.repeat(60), text: 'x'.repeat(4096) }),
    });
    expect(res.status).toBe(201);
  });

  it('refuses an empty patch, a bad field and a malformed id (400)', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Canned bad patch');
    const [row] = await sql`insert into canned_replies (tenant_id, title, text)
      values (${a.tenantId}, 'Hours', 'Nine to five') returning id`;
    const cases = [
      h.asUser(a.owner, `/admin/canned-replies/${row?.id}`, { method: 'PATCH', ...json({}) }),
      h.asUser(a.owner, `/admin/canned-replies/${row?.id}`, {
        method: 'PATCH',
        ...json({ title: 'x'.repeat(61) }),
      }),
      h.asUser(a.owner, '/admin/canned-replies/not-a-uuid', {
        method: 'PATCH',
        ...json({ title: 'x' }),
      }),
      h.asUser(a.owner, '/admin/canned-replies/not-a-uuid', { method: 'DELETE' }),
      h.asUser(a.owner, '/admin/canned-replies', { method: 'POST', body: '{not json' }),
    ];
    for (const res of await Promise.all(cases)) expect(res.status).toBe(400);
  });

  it('refuses a second reply of the same title in a tenant (409), not in another', async ({
    harness: h,
    sql,
    newTenant,
    otherTenant: b,
  }) => {
    const a = await newTenant('Canned titles');
    await sql`insert into canned_replies (tenant_id, title, text) values (${b.tenantId}, 'Hours', 'B')`;
    const first = await h.asUser(a.owner, '/admin/canned-replies', {
      method: 'POST',
      ...json({ title: 'Hours', text: 'A' }),
    });
    expect(first.status).toBe(201);
    const second = await h.asUser(a.owner, '/admin/canned-replies', {
      method: 'POST',
      ...json({ title: 'Hours', text: 'Again' }),
    });
    expect(second.status).toBe(409);
    expect(((await second.json()) as ErrorBody).error.code).toBe('CONFLICT');

    const other = await h.asUser(a.owner, '/admin/canned-replies', {
      method: 'POST',
      ...json({ title: 'Address', text: 'Calle Mayor 1' }),
    });
    const renamed = await h.asUser(
      a.owner,
      `/admin/canned-replies/${((await other.json()) as Reply).id}`,
      {
        method: 'PATCH',
        ...json({ title: 'Hours' }),
      },
    );
    expect(renamed.status).toBe(409);
  });

  it("never lists another tenant's replies", async ({
    harness: h,
    sql,
    newTenant,
    otherTenant: b,
  }) => {
    const a = await newTenant('Canned isolation');
    await foreignReply(sql, b);
    const list = await h.asUser(a.owner, '/admin/canned-replies');
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
  });
});
