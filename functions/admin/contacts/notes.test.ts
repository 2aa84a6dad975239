import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const foreignContact = async (sql: postgres.Sql, b: TenantFixture) =>
  (await createConversation(sql, b)).contactId;

describeOperatorSecurity({
  method: 'GET',
  path: '/admin/contacts/:foreignId/notes',
  foreignId: foreignContact,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/contacts/:foreignId/notes',
  body: { body: 'A note' },
  foreignId: foreignContact,
});

describeOperatorSecurity({
  method: 'DELETE',
  path: `/admin/contacts/${crypto.randomUUID()}/notes/:foreignId`,
  foreignId: async (sql, b) => {
    const contactId = await foreignContact(sql, b);
    const [note] = await sql`insert into contact_notes (tenant_id, contact_id, author_user_id, body)
      values (${b.tenantId}, ${contactId}, ${b.owner.id}, 'Theirs') returning id`;
    return note?.id as string;
  },
});

type Note = {
  id: string;
  contact_id: string;
  author_user_id: string;
  body: string;
  created_at: string;
};
type ErrorBody = { error: { code: string; message: string; requestId: string } };

describe('contacts: private notes', () => {
  const add = (h: Harness, user: { id: string; email: string }, contactId: string, body: unknown) =>
    h.asUser(user, `/admin/contacts/${contactId}/notes`, {
      method: 'POST',
      body: JSON.stringify(body),
    });

  it('adds notes in the operator’s name and lists them newest first', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { contactId } = await createConversation(sql, t);
    const empty = await h.asUser(t.agent, `/admin/contacts/${contactId}/notes`);
    expect(await empty.json()).toEqual({ items: [] });

    const first = await add(h, t.agent, contactId, { body: '  Prefers afternoons  ' });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({
      id: expect.any(String),
      contact_id: contactId,
      author_user_id: t.agent.id,
      body: 'Prefers afternoons',
      created_at: expect.any(String),
    });
    await add(h, t.owner, contactId, { body: 'Paid in advance' });

    const list = (await (await h.asUser(t.agent, `/admin/contacts/${contactId}/notes`)).json()) as {
      items: Note[];
    };
    expect(list.items.map((n) => [n.body, n.author_user_id])).toEqual([
      ['Paid in advance', t.owner.id],
      ['Prefers afternoons', t.agent.id],
    ]);
  });

  it('takes a note of exactly 2000 characters', async ({ harness: h, sql, tenant: t }) => {
    const { contactId } = await createConversation(sql, t);
    const res = await add(h, t.agent, contactId, { body: 'n'.repeat(2000) });
    expect(res.status).toBe(201);
  });

  for (const [what, body] of [
    ['an empty note', { body: '' }],
    ['a note of only spaces', { body: '   ' }],
    ['a note over 2000 characters', { body: 'n'.repeat(2001) }],
    ['a body that is not text', { body: 42 }],
    ['no body', {}],
    ['an unknown field (an author of its own)', { body: 'x', author_user_id: crypto.randomUUID() }],
  ] as const) {
    it(`refuses ${what} (400, error envelope)`, async ({ harness: h, sql, tenant: t }) => {
      const { contactId } = await createConversation(sql, t);
      const res = await add(h, t.agent, contactId, body);
      expect(res.status).toBe(400);
      const error = ((await res.json()) as ErrorBody).error;
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message.length).toBeGreaterThan(0);
      const [count] =
        await sql`select count(*)::int as n from contact_notes where contact_id = ${contactId}`;
      expect(count?.n).toBe(0);
    });
  }

  it('refuses a contact id that is not a UUID (400)', async ({ harness: h, tenant: t }) => {
    expect((await h.asUser(t.agent, '/admin/contacts/not-a-uuid/notes')).status).toBe(400);
  });

  it('keeps notes to their tenant, even written straight to the database', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    const { contactId } = await createConversation(sql, t);
    await add(h, t.agent, contactId, { body: 'Ours' });
    // Another tenant's operator sees nothing of it, through the API or by reading the table.
    const [row] = await sql.begin(async (tx) => {
      await tx`set local role authenticated`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: other.agent.id, role: 'authenticated' })}, true)`;
      return tx`select count(*)::int as n from contact_notes where contact_id = ${contactId}`;
    });
    expect(row?.n).toBe(0);
  });

  it('lets no operator write a note in someone else’s name (RLS)', async ({ sql, tenant: t }) => {
    const { contactId } = await createConversation(sql, t);
    const insert = sql.begin(async (tx) => {
      await tx`set local role authenticated`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: t.agent.id, role: 'authenticated' })}, true)`;
      await tx`insert into contact_notes (tenant_id, contact_id, author_user_id, body)
        values (${t.tenantId}, ${contactId}, ${t.owner.id}, 'forged')`;
    });
    await expect(insert).rejects.toThrow(/row-level security/);
  });

  describe('DELETE /admin/contacts/{id}/notes/{note_id}', () => {
    const remove = (h: Harness, user: { id: string; email: string }, path: string) =>
      h.asUser(user, path, { method: 'DELETE' });
    const remaining = async (sql: postgres.Sql, contactId: string) =>
      (
        await sql<{ body: string }[]>`select body from contact_notes where contact_id = ${contactId}
          order by body`
      ).map((r) => r.body);

    it('lets the author delete their own note (204), and only that one', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const { contactId } = await createConversation(sql, t);
      const mine = (await (await add(h, t.agent, contactId, { body: 'Mine' })).json()) as Note;
      await add(h, t.agent, contactId, { body: 'Also mine' });
      const res = await remove(h, t.agent, `/admin/contacts/${contactId}/notes/${mine.id}`);
      expect(res.status).toBe(204);
      expect(await remaining(sql, contactId)).toEqual(['Also mine']);
      // Gone: a second delete finds nothing.
      const again = await remove(h, t.agent, `/admin/contacts/${contactId}/notes/${mine.id}`);
      expect(again.status).toBe(404);
    });

    it('refuses another operator’s note (403), even the owner’s, and keeps it', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const { contactId } = await createConversation(sql, t);
      const theirs = (await (await add(h, t.agent, contactId, { body: 'Agent’s' })).json()) as Note;
      const res = await remove(h, t.owner, `/admin/contacts/${contactId}/notes/${theirs.id}`);
      expect(res.status).toBe(403);
      expect(((await res.json()) as ErrorBody).error.code).toBe('FORBIDDEN');
      expect(await remaining(sql, contactId)).toEqual(['Agent’s']);
    });

    it('answers 404 for another tenant’s note and for a note of another contact', async ({
      harness: h,
      sql,
      tenant: t,
      otherTenant: other,
    }) => {
      const { contactId } = await createConversation(sql, t);
      const ours = (await (await add(h, t.agent, contactId, { body: 'Ours' })).json()) as Note;
      const foreign = await remove(h, other.agent, `/admin/contacts/${contactId}/notes/${ours.id}`);
      expect(foreign.status).toBe(404);
      const { contactId: elsewhere } = await createConversation(sql, t);
      const wrongContact = await remove(
        h,
        t.agent,
        `/admin/contacts/${elsewhere}/notes/${ours.id}`,
      );
      expect(wrongContact.status).toBe(404);
      expect(await remaining(sql, contactId)).toEqual(['Ours']);
    });

    it('lets no operator delete someone else’s note straight in the database (RLS)', async ({
      sql,
      tenant: t,
    }) => {
      const { contactId } = await createConversation(sql, t);
      await sql`insert into contact_notes (tenant_id, contact_id, author_user_id, body)
        values (${t.tenantId}, ${contactId}, ${t.owner.id}, 'Owner’s')`;
      const deleted = await sql.begin(async (tx) => {
        await tx`set local role authenticated`;
        await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: t.agent.id, role: 'authenticated' })}, true)`;
        return tx`delete from contact_notes where contact_id = ${contactId} returning id`;
      });
      expect(deleted.length).toBe(0);
      expect(await remaining(sql, contactId)).toEqual(['Owner’s']);
    });
  });
});
