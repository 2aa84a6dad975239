import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { graphErrorReason } from '../../../core/messaging/graph-errors';
import {
  instagramMessageBody,
  messengerMessageBody,
  randomMid,
  randomWamid,
  whatsappMessageBody,
  whatsappStatusBody,
} from '../../../dev/meta-payloads';
import { createTenant, type TenantFixture } from '../../../test/fixtures';
import { createHarness, type Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import {
  customerPhone,
  insertOutbound,
  postWebhook,
  scopedUserId,
  secondsAgo,
  waNumber,
} from '../../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../../test/operator-security';

async function foreignConversation(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [contact] = await sql`insert into contacts (tenant_id, channel, external_user_id)
    values (${b.tenantId}, 'whatsapp', ${customerPhone()}) returning id`;
  const [conversation] =
    await sql`insert into conversations (tenant_id, contact_id, channel_account_id)
    values (${b.tenantId}, ${must(contact, 'the contact').id}, ${b.accounts.whatsapp.id}) returning id`;
  return must(conversation, 'the conversation').id as string;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/chats/summary' });
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/chats/:foreignId/messages',
  foreignId: foreignConversation,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/chats/:foreignId/read',
  foreignId: foreignConversation,
});
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/chats/:foreignId/ai-cost',
  foreignId: foreignConversation,
});

type Summary = {
  id: string;
  contact_id: string;
  customer_phone: string | null;
  display_name: string;
  last_message: string | null;
  last_sender: string | null;
  last_customer_message_at: string | null;
  timestamp: string | null;
  channel_source: string;
  unread_count: number;
  is_locked: boolean;
  platform_origin: string;
  lock_reason: string | null;
  window: { open: boolean; closes_at: string | null; human_agent_until: string | null };
  staff_name: string | null;
};
type Page<T> = { items: T[]; next_cursor: string | null };
type ChatMessage = {
  id: string;
  conversation_id: string;
  sender: string;
  direction: string;
  content: string | null;
  timestamp: string;
  status: string;
  type: string;
  error: { code: string | null; reason: string | null } | null;
  attachments: Array<{ kind: string; download: { status: string }; url: string | null }>;
  reactions: { customer: string | null; business: string | null };
  choices: Array<{ title: string; description: string | null }> | null;
};
type MessagePage = {
  items: ChatMessage[];
  next_cursor: string;
  has_more: boolean;
  older_cursor: string | null;
};

const graph = (h: Harness) => must(h.graph, 'the Graph stand-in');

describe('operator chats API', () => {
  async function get<T>(h: Harness, path: string, user: { id: string; email: string }): Promise<T> {
    const res = await h.asUser(user, path);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }

  /** Stamps a conversation's messages as changed a minute ago (the trigger is bypassed for this). */
  async function settleChanges(sql: postgres.Sql, conversationId: string) {
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update messages set updated_at = now() - interval '1 minute' where conversation_id = ${conversationId}`;
    });
  }

  describe('GET /admin/chats/summary', () => {
    let summary: TenantFixture;
    const phones = [customerPhone(), customerPhone()];
    const oldestAt = secondsAgo(400);

    it.beforeAll(async ({ harness: h, newTenant, otherTenant: b }) => {
      summary = await newTenant('Summary');
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(summary),
          from: phones[0],
          name: 'Ana',
          timestamp: oldestAt,
          message: { type: 'text', text: 'oldest' },
        }),
      );
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(summary),
          from: phones[1],
          timestamp: secondsAgo(300),
          message: { type: 'text', text: 'second' },
        }),
      );
      await postWebhook(
        h,
        messengerMessageBody({
          pageId: summary.accounts.messenger.externalId,
          psid: scopedUserId(),
          text: 'from messenger',
          timestamp: Date.now() - 200_000,
        }),
      );
      const igsid = scopedUserId();
      await postWebhook(
        h,
        instagramMessageBody({
          igId: summary.accounts.instagram.externalId,
          igsid,
          text: 'from instagram',
          timestamp: Date.now() - 100_000,
        }),
      );
      // A person answers from Instagram's app: that thread is now human-only.
      await postWebhook(
        h,
        instagramMessageBody({
          igId: summary.accounts.instagram.externalId,
          igsid,
          text: 'human here',
          isEcho: true,
          timestamp: Date.now() - 50_000,
        }),
      );
      // Another business's chat must never show up.
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(b),
          from: customerPhone(),
          message: { type: 'text', text: 'tenant b' },
        }),
      );
    });

    it('lists the tenant’s chats, newest first, with window and lock state', async ({
      harness: h,
      sql,
    }) => {
      const page = await get<Page<Summary>>(h, '/admin/chats/summary', summary.owner);
      expect(page.items.map((i) => i.last_message)).toEqual([
        'human here',
        'from messenger',
        'second',
        'oldest',
      ]);
      expect(page.next_cursor).toBeNull();
      const [ig, messenger, second, oldest] = page.items;
      expect(oldest).toMatchObject({
        customer_phone: phones[0],
        display_name: 'Ana',
        channel_source: 'whatsapp',
        unread_count: 1,
        is_locked: false,
        lock_reason: null,
        platform_origin: 'Summary WhatsApp',
      });
      const oldestChat = must(oldest, 'the oldest chat');
      expect(oldestChat.timestamp).toBe(new Date(oldestAt * 1000).toISOString());
      expect(oldestChat.last_customer_message_at).toBe(oldestChat.timestamp);
      expect(ig?.last_customer_message_at).not.toBe(ig?.timestamp);
      expect(oldestChat.window.open).toBe(true);
      expect(
        new Date(must(oldestChat.window.closes_at, 'closes_at')).getTime() -
          new Date(must(oldestChat.timestamp, 'timestamp')).getTime(),
      ).toBe(24 * 3600 * 1000);
      expect(second?.display_name).toBe(phones[1]);
      const [ana] = await sql`select id from contacts
        where tenant_id = ${summary.tenantId} and external_user_id = ${must(phones[0], 'a phone')}`;
      expect(oldestChat.contact_id).toBe(must(ana, 'Ana').id);
      expect(messenger).toMatchObject({
        channel_source: 'messenger',
        customer_phone: null,
        platform_origin: 'Summary Page',
      });
      expect(must(messenger, 'the Messenger chat').window.human_agent_until).not.toBeNull();
      expect(ig).toMatchObject({
        channel_source: 'instagram',
        is_locked: true,
        lock_reason: 'A team member replied from the Instagram app.',
      });
    });

    it('filters by human override and by channel', async ({ harness: h }) => {
      const human = await get<Page<Summary>>(
        h,
        '/admin/chats/summary?human_filter=human_only',
        summary.owner,
      );
      expect(human.items.map((i) => i.last_message)).toEqual(['human here']);
      const bot = await get<Page<Summary>>(
        h,
        '/admin/chats/summary?human_filter=bot_only',
        summary.owner,
      );
      expect(bot.items.map((i) => i.last_message)).toEqual(['from messenger', 'second', 'oldest']);
      const whatsapp = await get<Page<Summary>>(
        h,
        '/admin/chats/summary?channel=whatsapp',
        summary.owner,
      );
      expect(whatsapp.items.map((i) => i.last_message)).toEqual(['second', 'oldest']);
    });

    it('pages with a cursor, every chat exactly once', async ({ harness: h }) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const page: Page<Summary> = await get<Page<Summary>>(
          h,
          `/admin/chats/summary?limit=1${query}`,
          summary.owner,
        );
        expect(page.items.length).toBeLessThanOrEqual(1);
        seen.push(...page.items.map((i) => i.last_message ?? ''));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(['human here', 'from messenger', 'second', 'oldest']);
    });

    it('says who wrote last: the customer, or the business', async ({ harness: h }) => {
      const page = await get<Page<Summary>>(h, '/admin/chats/summary', summary.owner);
      expect(page.items.map((i) => [i.last_message, i.last_sender])).toEqual([
        ['human here', 'operator'],
        ['from messenger', 'user'],
        ['second', 'user'],
        ['oldest', 'user'],
      ]);
    });

    it('searches by name, phone and message text, with the filters and the cursor', async ({
      harness: h,
    }) => {
      const search = async (query: string) =>
        (await get<Page<Summary>>(h, `/admin/chats/summary?${query}`, summary.owner)).items.map(
          (i) => i.last_message,
        );
      // Name, case-insensitive, trimmed.
      expect(await search(`q=${encodeURIComponent('  aNA ')}`)).toEqual(['oldest']);
      // Phone: part of it, and as people write it (spaces, a plus).
      const phone = must(phones[1], 'a phone');
      expect(await search(`q=${phone.slice(-6)}`)).toEqual(['second']);
      const spaced = `+${phone.slice(0, 2)} ${phone.slice(2, 5)} ${phone.slice(5)}`;
      expect(await search(`q=${encodeURIComponent(spaced)}`)).toEqual(['second']);
      // The last message's text.
      expect(await search('q=FROM')).toEqual(['from messenger']);
      expect(await search('q=from&channel=instagram')).toEqual([]);
      expect(await search('q=e&human_filter=bot_only')).toEqual([
        'from messenger',
        'second',
        'oldest',
      ]);
      // LIKE's wildcards are plain characters.
      expect(await search('q=%25')).toEqual([]);
      expect(await search('q=_')).toEqual([]);
      // Another business's chat never matches.
      expect(await search('q=tenant%20b')).toEqual([]);
      // Paged: the same q with the cursor, each match once.
      const seen: Array<string | null> = [];
      let cursor: string | null = null;
      do {
        const page: Page<Summary> = await get<Page<Summary>>(
          h,
          `/admin/chats/summary?q=e&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          summary.owner,
        );
        seen.push(...page.items.map((i) => i.last_message));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(['human here', 'from messenger', 'second', 'oldest']);
    });

    it('filters by label and by assignee (me, none, a member), with q and the cursor', async ({
      harness: h,
      sql,
    }) => {
      const ids = new Map(
        (
          await sql<{ id: string; preview: string }[]>`select id, last_message_preview as preview
            from conversations where tenant_id = ${summary.tenantId}`
        ).map((r) => [r.preview, r.id]),
      );
      const id = (preview: string) => must(ids.get(preview), preview);
      await sql`update conversations set labels = '["vip","late"]', assigned_user_id = ${summary.agent.id}
        where id = ${id('oldest')}`;
      await sql`update conversations set labels = '["vip"]', assigned_user_id = ${summary.owner.id}
        where id = ${id('second')}`;
      await sql`update conversations set labels = '["vipx"]' where id = ${id('from messenger')}`;
      const list = async (query: string, user = summary.owner) =>
        (await get<Page<Summary>>(h, `/admin/chats/summary?${query}`, user)).items.map(
          (i) => i.last_message,
        );
      expect(await list('label=vip')).toEqual(['second', 'oldest']);
      expect(await list('label=late')).toEqual(['oldest']);
      expect(await list('label=vi')).toEqual([]);
      expect(await list('assignee=me')).toEqual(['second']);
      expect(await list('assignee=me', summary.agent)).toEqual(['oldest']);
      expect(await list(`assignee=${summary.agent.id}`)).toEqual(['oldest']);
      expect(await list('assignee=none')).toEqual(['human here', 'from messenger']);
      expect(await list('assignee=none&label=vipx&q=messenger')).toEqual(['from messenger']);
      expect(await list('label=vip&assignee=none')).toEqual([]);
      expect(await list('label=vip&channel=messenger')).toEqual([]);
      // Paged with the same filters: each match once.
      const seen: Array<string | null> = [];
      let cursor: string | null = null;
      do {
        const page: Page<Summary> = await get<Page<Summary>>(
          h,
          `/admin/chats/summary?label=vip&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          summary.owner,
        );
        seen.push(...page.items.map((i) => i.last_message));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(['second', 'oldest']);
      await sql`update conversations set labels = '[]', assigned_user_id = null
        where tenant_id = ${summary.tenantId}`;
    });

    it('counts the drafts waiting for approval on each chat', async ({ harness: h, sql }) => {
      const [chat] = await sql<{ id: string }[]>`select id from conversations
        where tenant_id = ${summary.tenantId} and last_message_preview = 'second'`;
      const conversationId = must(chat, 'the chat').id;
      for (const status of ['pending', 'pending', 'approved']) {
        await sql`insert into agent_drafts (tenant_id, conversation_id, correlation_id, message, preview, status)
          values (${summary.tenantId}, ${conversationId}, 'turn', ${sql.json({ type: 'text', text: 'Hola' })}, 'Hola', ${status}::draft_status)`;
      }
      const page = await get<Page<Summary & { pending_drafts: number }>>(
        h,
        '/admin/chats/summary',
        summary.owner,
      );
      expect(page.items.map((i) => [i.last_message, i.pending_drafts])).toEqual([
        ['human here', 0],
        ['from messenger', 0],
        ['second', 2],
        ['oldest', 0],
      ]);
      await sql`delete from agent_drafts where conversation_id = ${conversationId}`;
    });

    it('refuses a cursor it did not hand out, and bad filters, with 400', async ({
      harness: h,
    }) => {
      for (const query of [
        'cursor=not-a-cursor',
        'human_filter=everyone',
        'limit=0',
        'channel=sms',
        'q=',
        'q=%20%20',
        `q=${'x'.repeat(101)}`,
        'label=',
        `label=${'x'.repeat(33)}`,
        'assignee=someone',
        'assignee=ME',
      ]) {
        const res = await h.asUser(summary.owner, `/admin/chats/summary?${query}`);
        expect(res.status).toBe(400);
      }
    });
  });

  describe('GET /admin/chats/{id}/messages and POST /admin/chats/{id}/read', () => {
    it('returns messages in provider order, then only what changed since the cursor', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      const phone = customerPhone();
      const [m1, m2] = [randomWamid(), randomWamid()];
      // Arrival order is the reverse of provider order.
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: phone,
          id: m2,
          timestamp: secondsAgo(100),
          message: { type: 'text', text: 'second' },
        }),
      );
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: phone,
          id: m1,
          timestamp: secondsAgo(200),
          message: { type: 'text', text: 'first' },
        }),
      );
      const [row] =
        await sql`select conversation_id from messages where provider_message_id = ${m1}`;
      const conversationId = must(row, 'the stored message').conversation_id as string;
      const sent = randomWamid();
      const outbound = await insertOutbound(sql, a, {
        channel: 'whatsapp',
        customer: phone,
        providerMessageId: sent,
        providerTimestamp: new Date(Date.now() - 50_000),
      });
      expect(outbound.conversationId).toBe(conversationId);
      await settleChanges(sql, conversationId);

      const initial = await get<MessagePage>(h, `/admin/chats/${conversationId}/messages`, a.agent);
      expect(initial.items.map((m) => m.content)).toEqual(['first', 'second', 'our reply']);
      expect(initial.items[0]).toMatchObject({
        conversation_id: conversationId,
        sender: 'user',
        direction: 'inbound',
        status: 'received',
        type: 'text',
        error: null,
      });
      expect(initial.has_more).toBe(false);

      // Nothing changed: an empty answer.
      const quiet = await get<MessagePage>(
        h,
        `/admin/chats/${conversationId}/messages?after=${initial.next_cursor}`,
        a.agent,
      );
      expect(quiet.items).toEqual([]);

      // Meta reports our reply failed, and the customer reacts to their first message.
      await postWebhook(
        h,
        whatsappStatusBody({
          ...waNumber(a),
          messageId: sent,
          status: 'failed',
          recipientId: phone,
          errors: [{ code: 131047, title: 'Re-engagement message' }],
        }),
      );
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: phone,
          message: { type: 'reaction', messageId: m1, emoji: '🙏' },
        }),
      );
      const delta = await get<MessagePage>(
        h,
        `/admin/chats/${conversationId}/messages?after=${quiet.next_cursor}`,
        a.agent,
      );
      expect(delta.items.map((m) => [m.type, m.content])).toEqual([
        ['text', 'first'],
        ['text', 'our reply'],
        ['reaction', '🙏'],
      ]);
      expect(delta.items[0]?.reactions).toEqual({ customer: '🙏', business: null });
      expect(delta.items[1]).toMatchObject({
        status: 'failed',
        error: {
          code: '131047',
          reason: graphErrorReason(131047),
        },
      });

      // Paging through changes: has_more, then the rest.
      const first = await get<MessagePage>(
        h,
        `/admin/chats/${conversationId}/messages?after=${quiet.next_cursor}&limit=2`,
        a.agent,
      );
      expect(first.has_more).toBe(true);
      expect(first.items).toHaveLength(2);
      const rest = await get<MessagePage>(
        h,
        `/admin/chats/${conversationId}/messages?after=${first.next_cursor}&limit=2`,
        a.agent,
      );
      expect(rest.has_more).toBe(false);
      expect([...first.items, ...rest.items].map((m) => m.id).sort()).toEqual(
        delta.items.map((m) => m.id).sort(),
      );
    });

    it('orders same-second messages by arrival, on the first load and on an ?after= page alike', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      const phone = customerPhone();
      // WhatsApp timestamps are whole seconds: six messages sent within one second arrive in order.
      const sameSecond = secondsAgo(30);
      const texts = ['#1', '#2', '#3', '#4', '#5', '#6'];
      for (const text of texts) {
        const res = await postWebhook(
          h,
          whatsappMessageBody({
            ...waNumber(a),
            from: phone,
            timestamp: sameSecond,
            message: { type: 'text', text },
          }),
        );
        expect(res.status).toBe(200);
      }
      const rows = await sql`select conversation_id, received_at::text as received_at from messages
        where content = any(${texts}) and conversation_id in (
          select c.id from conversations c join contacts k on k.id = c.contact_id
          where k.external_user_id = ${phone})
        order by received_at`;
      expect(rows).toHaveLength(texts.length);
      // Each webhook is its own transaction, so arrival times differ.
      expect(new Set(rows.map((r) => r.received_at as string)).size).toBe(texts.length);
      const conversationId = must(rows[0], 'a stored message').conversation_id as string;

      const initial = await get<MessagePage>(h, `/admin/chats/${conversationId}/messages`, a.agent);
      expect(initial.items.map((m) => m.content)).toEqual(texts);
      // The messages changed inside the cursor's safety margin, so the delta page has all six.
      const delta = await get<MessagePage>(
        h,
        `/admin/chats/${conversationId}/messages?after=${initial.next_cursor}`,
        a.agent,
      );
      expect(delta.items.map((m) => m.content)).toEqual(texts);
    });

    it('pages back through a thread with older_cursor: every message once, in order, to the first', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      const phone = customerPhone();
      // Two share a second (ties go to arrival), the rest a second apart.
      const texts = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'];
      for (const [i, text] of texts.entries()) {
        const res = await postWebhook(
          h,
          whatsappMessageBody({
            ...waNumber(a),
            from: phone,
            timestamp: secondsAgo(60 - Math.max(i, 1)),
            message: { type: 'text', text },
          }),
        );
        expect(res.status).toBe(200);
      }
      const [row] =
        await sql`select c.id from conversations c join contacts k on k.id = c.contact_id
        where k.external_user_id = ${phone}`;
      const conversationId = must(row, 'the conversation').id as string;
      const path = `/admin/chats/${conversationId}/messages`;

      const pages: string[][] = [];
      let page = await get<MessagePage>(h, `${path}?limit=3`, a.agent);
      pages.push(page.items.map((m) => m.content ?? ''));
      while (page.older_cursor) {
        page = await get<MessagePage>(h, `${path}?limit=3&before=${page.older_cursor}`, a.agent);
        pages.push(page.items.map((m) => m.content ?? ''));
      }
      expect(pages).toEqual([['b5', 'b6', 'b7'], ['b2', 'b3', 'b4'], ['b1']]);

      // A page that ends exactly at the first message says so.
      const exact = await get<MessagePage>(h, `${path}?limit=7`, a.agent);
      expect(exact.items.map((m) => m.content)).toEqual(texts);
      expect(exact.older_cursor).toBeNull();

      // Not both directions at once, and only cursors this API handed out.
      const both = await h.asUser(
        a.agent,
        `${path}?after=${exact.next_cursor}&before=${exact.next_cursor}`,
      );
      expect(both.status).toBe(400);
      const foreign = await h.asUser(a.agent, `${path}?before=${exact.next_cursor}`);
      expect(foreign.status).toBe(400);
      expect(await foreign.json()).toMatchObject({
        error: { code: 'BAD_REQUEST', message: 'before: not a cursor this API handed out' },
      });
    });

    it('shows attachments with their download state and where to open them once stored', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      const id = randomWamid();
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: customerPhone(),
          id,
          message: { type: 'image', mediaId: '5550001', mimeType: 'image/jpeg', caption: 'photo' },
        }),
      );
      const [row] =
        await sql`select id, conversation_id from messages where provider_message_id = ${id}`;
      const { id: messageId, conversation_id: conversationId } = must(row, 'the image message');
      const page = await get<MessagePage>(h, `/admin/chats/${conversationId}/messages`, a.agent);
      expect(page.items[0]?.attachments).toEqual([
        expect.objectContaining({
          kind: 'image',
          download: { status: 'pending', reason: null, size: null },
          url: null,
        }),
      ]);
      await sql`update messages set attachments = jsonb_set(attachments, '{0,storageKey}', '"tenants/x"') where id = ${messageId}`;
      const stored = await get<MessagePage>(h, `/admin/chats/${conversationId}/messages`, a.agent);
      expect(stored.items[0]?.attachments[0]).toMatchObject({
        download: { status: 'stored' },
        url: `/admin/media/${messageId}/0`,
      });
    });

    it('tells a staff chat (an escalation contact’s WhatsApp number) from a customer’s', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      const staff = customerPhone();
      const customer = customerPhone();
      await sql`update tenant_settings set escalation_contacts = ${sql.json([
        { name: 'Marta (manager)', whatsapp: `+${staff.slice(0, 2)} ${staff.slice(2)}` },
        { name: 'By email only', email: 'boss@example.com' },
      ])} where tenant_id = ${a.tenantId}`;
      for (const from of [staff, customer]) {
        await postWebhook(
          h,
          whatsappMessageBody({ ...waNumber(a), from, message: { type: 'text', text: 'hi' } }),
        );
      }
      const list = await get<Page<Summary>>(h, '/admin/chats/summary', a.agent);
      const byPhone = new Map(list.items.map((c) => [c.customer_phone, c.staff_name]));
      expect(byPhone.get(staff)).toBe('Marta (manager)');
      expect(byPhone.get(customer)).toBeNull();
    });

    it('shows the buttons and list rows we sent, and the option a customer tapped', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      const tapId = randomWamid();
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: customerPhone(),
          id: tapId,
          message: { type: 'interactive', buttonReply: { id: 'day:mon', title: 'Monday' } },
        }),
      );
      const [tap] =
        await sql`select conversation_id, channel_account_id from messages where provider_message_id = ${tapId}`;
      const { conversation_id: conversationId, channel_account_id: accountId } = must(tap, 'tap');
      // Each row gets its own minute: two inserts can share a clock tick, and the thread orders by time.
      const sent = async (minutesAgo: number, type: string, message: Record<string, unknown>) =>
        sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender, type, content, payload, provider_timestamp, status)
          values (${a.tenantId}, ${conversationId}, ${accountId}, 'outbound', 'agent', ${type}, 'Which day?',
                  ${sql.json({ message } as never)}, now() - make_interval(mins => ${minutesAgo}), 'sent')`;
      await sent(2, 'buttons', {
        type: 'buttons',
        body: 'Which day?',
        buttons: [
          { id: 'day:mon', title: 'Monday' },
          { id: 'day:tue', title: 'Tuesday' },
        ],
      });
      await sent(1, 'list', {
        type: 'list',
        body: 'Which day?',
        button: 'Days',
        sections: [
          { title: 'This week', rows: [{ id: 'a', title: 'Monday', description: '9–13' }] },
          { title: 'Next week', rows: [{ id: 'b', title: 'Tuesday' }] },
        ],
      });
      const page = await get<MessagePage>(h, `/admin/chats/${conversationId}/messages`, a.agent);
      expect(page.items.map((m) => [m.type, m.content, m.choices])).toEqual([
        [
          'buttons',
          'Which day?',
          [
            { title: 'Monday', description: null },
            { title: 'Tuesday', description: null },
          ],
        ],
        [
          'list',
          'Which day?',
          [
            { title: 'Monday', description: '9–13' },
            { title: 'Tuesday', description: null },
          ],
        ],
        ['interactive', 'Monday', null],
      ]);
    });

    it('marks a chat read', async ({ harness: h, sql, tenant: a }) => {
      const phone = customerPhone();
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: phone,
          message: { type: 'text', text: 'one' },
        }),
      );
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(a),
          from: phone,
          message: { type: 'text', text: 'two' },
        }),
      );
      const [row] =
        await sql`select v.id, v.unread_count from conversations v join contacts c on c.id = v.contact_id where c.phone = ${phone}`;
      expect(row?.unread_count).toBe(2);
      const { id } = must(row, 'the conversation');
      const res = await h.asUser(a.agent, `/admin/chats/${id}/read`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id, unread_count: 0 });
      const [after] = await sql`select unread_count from conversations where id = ${id}`;
      expect(after?.unread_count).toBe(0);
    });

    it('marks the latest WhatsApp message read on Meta (no typing), and nothing on Messenger', async ({
      harness: h,
      sql,
      newTenant,
    }) => {
      const tenant = await newTenant('Read on Meta');
      const phone = customerPhone();
      const [older, latest] = [randomWamid(), randomWamid()];
      for (const [id, at] of [
        [older, secondsAgo(60)],
        [latest, secondsAgo(30)],
      ] as const) {
        await postWebhook(
          h,
          whatsappMessageBody({
            ...waNumber(tenant),
            from: phone,
            id,
            timestamp: at,
            message: { type: 'text', text: 'hola' },
          }),
        );
      }
      const mid = randomMid();
      const psid = scopedUserId();
      await postWebhook(
        h,
        messengerMessageBody({
          pageId: tenant.accounts.messenger.externalId,
          psid,
          mid,
          text: 'x',
        }),
      );
      const conversationOf = async (providerId: string) => {
        const [row] =
          await sql`select conversation_id from messages where provider_message_id = ${providerId}`;
        return must(row, `message ${providerId}`).conversation_id as string;
      };
      const before = graph(h).requests.length;

      const wa = await h.asUser(tenant.agent, `/admin/chats/${await conversationOf(latest)}/read`, {
        method: 'POST',
      });
      expect(wa.status).toBe(200);
      expect(
        graph(h)
          .requests.slice(before)
          .map((r) => [r.method, r.path, r.body]),
      ).toEqual([
        [
          'POST',
          `/v23.0/${tenant.accounts.whatsapp.externalId}/messages`,
          { messaging_product: 'whatsapp', status: 'read', message_id: latest },
        ],
      ]);

      const ms = await h.asUser(tenant.agent, `/admin/chats/${await conversationOf(mid)}/read`, {
        method: 'POST',
      });
      expect(ms.status).toBe(200);
      expect(graph(h).requests.length).toBe(before + 1);
    });

    it('answers 404 for a conversation that does not exist, and 400 for a foreign cursor', async ({
      harness: h,
      sql,
      tenant: a,
    }) => {
      expect((await h.asUser(a.agent, `/admin/chats/${crypto.randomUUID()}/messages`)).status).toBe(
        404,
      );
      const mid = randomMid();
      await postWebhook(
        h,
        messengerMessageBody({
          pageId: a.accounts.messenger.externalId,
          psid: scopedUserId(),
          mid,
          text: 'x',
        }),
      );
      const [row] =
        await sql`select conversation_id from messages where provider_message_id = ${mid}`;
      expect(
        (
          await h.asUser(
            a.agent,
            `/admin/chats/${must(row, 'the Messenger message').conversation_id}/messages?after=abc`,
          )
        ).status,
      ).toBe(400);
    });
  });
});

describe('GET /admin/chats/{id}/ai-cost', () => {
  it("sums the chat's runs at list price; skipped runs do not count, unpriced ones are said", async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const chat = await foreignConversation(sql, t);
    const empty = await h.asUser(t.agent, `/admin/chats/${chat}/ai-cost`);
    expect(await empty.json()).toEqual({ cost_usd: 0, runs: 0, unpriced_runs: 0 });
    const thought = [{ text: 'hola' }];
    for (const [cost, steps] of [
      [0.0012, thought],
      [0.003, thought],
      [null, thought],
      [null, []],
    ] as const) {
      await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome,
          steps, cost_usd)
        values (${t.tenantId}, ${chat}, ${`turn-${crypto.randomUUID()}`}, 'gpt-4.1-mini',
          ${steps.length ? 'replied' : 'superseded'}, ${sql.json(steps)}, ${cost})`;
    }
    const res = await h.asUser(t.agent, `/admin/chats/${chat}/ai-cost`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { cost_usd: number; runs: number; unpriced_runs: number };
    expect(body.cost_usd).toBeCloseTo(0.0042, 12);
    expect(body).toMatchObject({ runs: 3, unpriced_runs: 1 });
    const missing = await h.asUser(t.agent, `/admin/chats/${crypto.randomUUID()}/ai-cost`);
    expect(missing.status).toBe(404);
  });
});

describe('POST /admin/chats/{id}/read with WHATSAPP_ALLOW_LIVE_SEND=false', () => {
  // Other bindings than the file's harness: this test keeps its own.
  it('marks the chat read here and sends nothing to Meta', async ({ sql }) => {
    const h = await createHarness({ bindings: { WHATSAPP_ALLOW_LIVE_SEND: 'false' } });
    try {
      const tenant = await createTenant(sql, 'Read, not live');
      h.registerTenant(tenant);
      const wamid = randomWamid();
      await postWebhook(
        h,
        whatsappMessageBody({
          ...waNumber(tenant),
          from: customerPhone(),
          id: wamid,
          message: { type: 'text', text: 'hola' },
        }),
      );
      const [row] =
        await sql`select conversation_id from messages where provider_message_id = ${wamid}`;
      const conversationId = must(row, 'the stored message').conversation_id;
      const res = await h.asUser(tenant.agent, `/admin/chats/${conversationId}/read`, {
        method: 'POST',
      });
      expect(res.status).toBe(200);
      const [after] =
        await sql`select unread_count from conversations where id = ${conversationId}`;
      expect(after?.unread_count).toBe(0);
      expect(graph(h).requests).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
