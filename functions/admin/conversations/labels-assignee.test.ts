import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';
import { normalizeLabels } from './labels-assignee';

const foreignConversation = async (sql: postgres.Sql, b: TenantFixture) =>
  (await createConversation(sql, b)).conversationId;

describeOperatorSecurity({
  method: 'PUT',
  path: '/admin/conversations/:foreignId/labels',
  body: { labels: ['vip'] },
  foreignId: foreignConversation,
});
describeOperatorSecurity({
  method: 'PUT',
  path: '/admin/conversations/:foreignId/assignee',
  body: { user_id: null },
  foreignId: foreignConversation,
});

type Tags = { id: string; labels: string[]; assigned_user_id: string | null };
type ErrorBody = { error: { code: string; message: string; requestId: string } };

const put = (h: Harness, t: TenantFixture, path: string, body: unknown) =>
  h.asUser(t.agent, path, { method: 'PUT', body: JSON.stringify(body) });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const { error } = (await res.json()) as ErrorBody;
  expect(error.code).toBe(code);
  expect(error.requestId.length).toBeGreaterThan(0);
  return error.message;
}

describe('normalizeLabels', () => {
  it('makes inner whitespace one space and keeps each label once, first spelling first', () => {
    expect(normalizeLabels(['VIP', 'late  payer', 'vip', 'Late payer', 'billing'])).toEqual([
      'VIP',
      'late payer',
      'billing',
    ]);
  });
});

describe('conversations: labels', () => {
  it('replaces the labels, trimmed and without repeats; the chat list shows them', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const path = `/admin/conversations/${conv.conversationId}/labels`;
    const res = await put(h, t, path, { labels: [' vip ', 'billing', 'VIP'] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: conv.conversationId,
      labels: ['vip', 'billing'],
      assigned_user_id: null,
    });
    const list = (await (await h.asUser(t.agent, '/admin/chats/summary')).json()) as {
      items: Array<{ id: string; labels: string[] }>;
    };
    expect(list.items.find((c) => c.id === conv.conversationId)?.labels).toEqual([
      'vip',
      'billing',
    ]);
    const cleared = (await (await put(h, t, path, { labels: [] })).json()) as Tags;
    expect(cleared.labels).toEqual([]);
  });

  it('takes 10 labels of 32 characters', async ({ harness: h, sql, tenant: t }) => {
    const conv = await createConversation(sql, t);
    const labels = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(32, 'x'));
    const res = await put(h, t, `/admin/conversations/${conv.conversationId}/labels`, { labels });
    expect(((await res.json()) as Tags).labels).toEqual(labels);
  });

  for (const [what, body] of [
    ['11 labels', { labels: Array.from({ length: 11 }, (_, i) => `l${i}`) }],
    ['a label over 32 characters', { labels: ['x'.repeat(33)] }],
    ['an empty label', { labels: ['ok', '  '] }],
    ['a label that is not text', { labels: [7] }],
    ['labels that are not a list', { labels: 'vip' }],
    ['no labels', {}],
  ] as const) {
    it(`refuses ${what} (400) and keeps the labels`, async ({ harness: h, sql, tenant: t }) => {
      const conv = await createConversation(sql, t);
      const path = `/admin/conversations/${conv.conversationId}/labels`;
      await put(h, t, path, { labels: ['kept'] });
      await expectError(await put(h, t, path, body), 400, 'BAD_REQUEST');
      const [row] = await sql`select labels from conversations where id = ${conv.conversationId}`;
      expect(row?.labels).toEqual(['kept']);
    });
  }
});

describe('conversations: assignee', () => {
  it('assigns to a member, to another, and to nobody; the chat list shows it', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const path = `/admin/conversations/${conv.conversationId}/assignee`;
    const toOwner = await put(h, t, path, { user_id: t.owner.id });
    expect(await toOwner.json()).toEqual({
      id: conv.conversationId,
      labels: [],
      assigned_user_id: t.owner.id,
    });
    const list = (await (await h.asUser(t.agent, '/admin/chats/summary')).json()) as {
      items: Array<{ id: string; assigned_user_id: string | null }>;
    };
    expect(list.items.find((c) => c.id === conv.conversationId)?.assigned_user_id).toBe(t.owner.id);
    expect(
      ((await (await put(h, t, path, { user_id: t.agent.id })).json()) as Tags).assigned_user_id,
    ).toBe(t.agent.id);
    expect(
      ((await (await put(h, t, path, { user_id: null })).json()) as Tags).assigned_user_id,
    ).toBeNull();
  });

  it('refuses an operator of another business, or nobody known (400), and keeps the assignee', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    const conv = await createConversation(sql, t);
    const path = `/admin/conversations/${conv.conversationId}/assignee`;
    await put(h, t, path, { user_id: t.owner.id });
    for (const stranger of [other.agent.id, crypto.randomUUID()]) {
      const message = await expectError(
        await put(h, t, path, { user_id: stranger }),
        400,
        'BAD_REQUEST',
      );
      expect(message).toContain('not a member of this business');
    }
    const [row] =
      await sql`select assigned_user_id from conversations where id = ${conv.conversationId}`;
    expect(row?.assigned_user_id).toBe(t.owner.id);
  });

  for (const [what, body] of [
    ['a user id that is not a UUID', { user_id: 'ana' }],
    ['no user_id', {}],
    ['an unknown field', { user_id: null, note: 'x' }],
  ] as const) {
    it(`refuses ${what} (400)`, async ({ harness: h, sql, tenant: t }) => {
      const conv = await createConversation(sql, t);
      await expectError(
        await put(h, t, `/admin/conversations/${conv.conversationId}/assignee`, body),
        400,
        'BAD_REQUEST',
      );
    });
  }
});
