import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SeededInbox, seedInbox } from '../bench/seed-inbox';
import { adminSql } from '../test/fixtures';
import {
  type ChatListCursor,
  listChatSummaries,
  listConversationMessages,
  type MessageDeltaCursor,
} from './chats';
import { asOperator, connect, type Database, type TenantContext } from './client';
import type { Channel } from './schema';

/**
 * The keyset paging of the inbox list and of a thread's changes, against an independent ordering
 * by the superuser: every row exactly once, in order, across the boundaries the index-friendly
 * query shapes introduce (the tail of conversations without messages; ties in the sort keys).
 */
describe('inbox paging (db/chats.ts)', () => {
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let seeded: SeededInbox;

  beforeAll(async () => {
    sql = adminSql();
    ({ db, close: closeDb } = connect(inject('databaseUrl')));
    // 200 conversations: ~160 of the tenant, 4 of them without messages, pairs sharing a
    // last_message_at; a 30-message thread whose messages change in pairs at the same instant.
    seeded = await seedInbox(sql, {
      conversations: 200,
      messagesPerConversation: 2,
      threadMessages: 30,
    });
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
  });

  const asAgent = <T>(fn: (ctx: TenantContext) => Promise<T>) =>
    asOperator(db, { sub: seeded.tenant.agent.id, role: 'authenticated' }, (tx) =>
      fn({ tx, tenantId: seeded.tenant.tenantId }),
    );

  const filters: { humanFilter: 'all' | 'human_only' | 'bot_only'; channel?: Channel }[] = [
    { humanFilter: 'all' },
    { humanFilter: 'human_only' },
    { humanFilter: 'bot_only' },
    { humanFilter: 'all', channel: 'instagram' },
    { humanFilter: 'bot_only', channel: 'whatsapp' },
  ];

  it.each(filters)(
    'pages the chat list in order, every chat once, into the tail (%o)',
    async (filter) => {
      const expected = await sql<{ id: string }[]>`
      select c.id from conversations c join channel_accounts a on a.id = c.channel_account_id
      where c.tenant_id = ${seeded.tenant.tenantId}
        and (${filter.humanFilter} = 'all' or c.is_locked = (${filter.humanFilter} = 'human_only'))
        and (${filter.channel ?? null}::channel is null or a.channel = ${filter.channel ?? null}::channel)
      order by c.last_message_at desc nulls last, c.id desc`;
      const undated = await sql`select 1 from conversations
      where tenant_id = ${seeded.tenant.tenantId} and last_message_at is null`;
      expect(undated.length).toBeGreaterThan(0);
      for (const limit of [1, 7, 50]) {
        const seen: string[] = [];
        let after: ChatListCursor | undefined;
        for (;;) {
          // The route asks for one more row than it shows, to know whether a next page exists.
          const rows = await asAgent((ctx) =>
            listChatSummaries(ctx, { ...filter, limit: limit + 1, after }),
          );
          const page = rows.slice(0, limit);
          seen.push(...page.map((r) => r.id));
          const last = page.at(-1);
          if (rows.length <= limit || !last) break;
          after = { position: last.position, id: last.id };
        }
        expect(seen).toEqual(expected.map((r) => r.id));
      }
    },
  );

  it('pages a thread’s changes once each across same-instant changes, in conversation order', async () => {
    const { conversationId } = seeded.thread;
    const expected = await sql<{ id: string }[]>`
      select id from messages where conversation_id = ${conversationId}
      order by provider_timestamp, received_at, id`;
    const ties = await sql`select updated_at from messages where conversation_id = ${conversationId}
      group by updated_at having count(*) > 1`;
    expect(ties.length).toBeGreaterThan(0);
    const seen: string[] = [];
    let after: MessageDeltaCursor = { changedAt: '-infinity', id: null };
    for (;;) {
      const result = await asAgent((ctx) =>
        listConversationMessages(ctx, conversationId, { limit: 3, after }),
      );
      if (!result) throw new Error('the thread is not visible to its tenant’s agent');
      const ids = result.rows.map((r) => r.id);
      // Each page in conversation order.
      expect(ids).toEqual(expected.map((r) => r.id).filter((id) => ids.includes(id)));
      seen.push(...ids);
      after = result.nextCursor;
      if (!result.hasMore) break;
    }
    expect([...seen].sort()).toEqual(expected.map((r) => r.id).sort());
    expect(new Set(seen).size).toBe(seen.length);
    // Nothing changed since: the next poll is empty.
    const idle = await asAgent((ctx) =>
      listConversationMessages(ctx, conversationId, { limit: 3, after }),
    );
    expect(idle?.rows).toEqual([]);
  });
});
