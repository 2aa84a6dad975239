import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { must } from '../must';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/** More than the list's first page (30): "Load more" has something to load. */
const FILLER_CHATS = 34;
/** More than the thread's first page (50): "Load older messages" has something to load. */
const LONG_THREAD = 62;

type Channel = 'whatsapp' | 'messenger' | 'instagram';

/**
 * The chat list and paging on the operator page in Chromium against the real Worker: each row's
 * time, channel, who wrote last and the "online" dot; search by name, phone and message text,
 * cleared; "Load more" kept across polls; "Load older messages" in a long thread keeping the
 * operator's place. Desktop and phone, English and Arabic, no serious accessibility violation.
 */
describe.skipIf(!haveChromium)('chat list and paging on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;
  const zaidPhone = '34611222333';

  /** A chat whose customer last wrote `minutesAgo`, and its last message's sender and text. */
  async function seedChat(options: {
    name: string;
    channel: Channel;
    phone?: string;
    minutesAgo: number;
    text: string;
    sender?: 'user' | 'agent';
  }) {
    const contactId = crypto.randomUUID();
    const conversationId = crypto.randomUUID();
    const at = new Date(Date.now() - options.minutesAgo * 60_000);
    const sender = options.sender ?? 'user';
    await sql`insert into contacts (id, tenant_id, channel, external_user_id, phone, name)
      values (${contactId}, ${tenant.tenantId}, ${options.channel},
        ${options.phone ?? crypto.randomUUID()}, ${options.phone ?? null}, ${options.name})`;
    await sql`insert into conversations (id, tenant_id, contact_id, channel_account_id,
        last_inbound_at, last_message_at, last_message_preview)
      values (${conversationId}, ${tenant.tenantId}, ${contactId},
        ${tenant.accounts[options.channel].id},
        ${sender === 'user' ? at : new Date(at.getTime() - 60_000)}, ${at}, ${options.text})`;
    await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction,
        sender, type, content, provider_message_id, provider_timestamp, status)
      values (${tenant.tenantId}, ${conversationId}, ${tenant.accounts[options.channel].id},
        ${sender === 'user' ? 'inbound' : 'outbound'}, ${sender}, 'text', ${options.text},
        ${`mid.${crypto.randomUUID()}`}, ${at}, ${sender === 'user' ? 'received' : 'read'})`;
    return conversationId;
  }

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Paging Clinic');
    await givePassword(sql, tenant.owner.id);
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${tenant.tenantId}`;
    const channels: Channel[] = ['whatsapp', 'messenger', 'instagram'];
    for (let i = 0; i < FILLER_CHATS; i++) {
      await seedChat({
        name: `Customer ${String(i + 1).padStart(2, '0')}`,
        channel: channels[i % 3] as Channel,
        minutesAgo: 30 + i * 60 * 7,
        text: `Question number ${i + 1}`,
      });
    }
    await seedChat({
      name: 'Nadia',
      channel: 'messenger',
      minutesAgo: 20,
      text: 'A table for two, please',
      sender: 'agent',
    });
    // The long thread: the newest chat, its customer wrote a minute ago (online).
    const zaid = await seedChat({
      name: 'Zaid',
      channel: 'whatsapp',
      phone: zaidPhone,
      minutesAgo: 1,
      text: `Long message ${LONG_THREAD}`,
    });
    await sql`delete from messages where conversation_id = ${zaid}`;
    await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction,
        sender, type, content, provider_message_id, provider_timestamp, status)
      select ${tenant.tenantId}, ${zaid}, ${tenant.accounts.whatsapp.id}, 'inbound', 'user', 'text',
        'Long message ' || k, 'wamid.long.' || k, now() - (${LONG_THREAD + 1} - k) * interval '1 minute',
        'received'
      from generate_series(1, ${LONG_THREAD}::int) k`;

    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    worker = await startWorkerd({ SUPABASE_URL: auth.url });
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await auth?.close();
    await sql?.end();
  });

  const rows = (page: Page) => page.locator('#chat-list > li');
  const row = (page: Page, name: string) =>
    page.locator('#chat-list > li').filter({ has: page.locator('.name', { hasText: name }) });

  async function search(page: Page, text: string) {
    await page.fill('#chat-search', text);
  }

  for (const screen of ['desktop', 'phone'] as const) {
    for (const [locale, lang] of [
      ['en-US', 'en'],
      ['ar', 'ar'],
    ] as const) {
      it(`${screen}, ${locale}: rows, search, load more, older messages`, async () => {
        const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
        const page = await context.newPage();
        await signIn(page, worker.url, tenant.owner.email);
        expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');
        await expect.poll(() => rows(page).count()).toBe(30);

        // The newest row: Zaid, online, on WhatsApp, the time of day in the page's locale.
        const zaid = row(page, 'Zaid');
        expect(await rows(page).first().locator('.name').textContent()).toContain('Zaid');
        expect(await zaid.locator('.online').count()).toBe(1);
        expect(await zaid.locator('.channel-icon .visually-hidden').textContent()).toBe('WhatsApp');
        const when = must(await zaid.locator('time').getAttribute('datetime'), 'datetime');
        // The time of day, or the weekday when midnight passed since Zaid wrote (a run just
        // after midnight failed on it).
        const expected = await page.evaluate((iso) => {
          const at = new Date(iso);
          const today = at.toDateString() === new Date().toDateString();
          return new Intl.DateTimeFormat(
            undefined,
            today ? { hour: 'numeric', minute: '2-digit' } : { weekday: 'short' },
          ).format(at);
        }, when);
        expect(await zaid.locator('time').textContent()).toBe(expected);
        // The AI wrote last to Nadia on Messenger; she is not online (20 minutes).
        const nadia = row(page, 'Nadia');
        expect(await nadia.locator('.sender').textContent()).toBe(
          lang === 'ar' ? 'الذكاء الاصطناعي:' : 'AI:',
        );
        expect(await nadia.locator('.online').count()).toBe(0);
        expect(await nadia.locator('.channel-icon .visually-hidden').textContent()).toBe(
          'Messenger',
        );
        // Weeks ago: a short date, not a time.
        const old = row(page, 'Customer 28');
        const oldIso = must(await old.locator('time').getAttribute('datetime'), 'datetime');
        const oldText = await page.evaluate(
          (iso) =>
            new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(
              new Date(iso),
            ),
          oldIso,
        );
        expect(await old.locator('time').textContent()).toBe(oldText);
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/list-${screen}-${lang}.png` });

        // Load more: the rest of the list, still there after the next polls.
        await page.click('#chat-list-more');
        await expect.poll(() => rows(page).count()).toBe(FILLER_CHATS + 2);
        expect(await page.locator('#chat-list-more').count()).toBe(0);
        await page.waitForTimeout(3_500);
        expect(await rows(page).count()).toBe(FILLER_CHATS + 2);

        // Search: by name (any case), by phone as people write it, by message text.
        await search(page, 'nAdIa');
        await expect.poll(() => rows(page).allTextContents()).toHaveLength(1);
        expect(await rows(page).first().textContent()).toContain('Nadia');
        await search(page, '+34 611 222');
        await expect.poll(() => rows(page).first().textContent()).toContain('Zaid');
        expect(await rows(page).count()).toBe(1);
        await search(page, 'table for');
        await expect.poll(() => rows(page).first().textContent()).toContain('Nadia');
        await search(page, 'question number 3');
        // 3, 30–34.
        await expect.poll(() => rows(page).count()).toBe(1 + (FILLER_CHATS - 29));
        await search(page, 'no such thing');
        await expect
          .poll(() => page.textContent('#chat-list-empty'))
          .toBe(
            lang === 'ar'
              ? 'لا توجد محادثات تطابق «no such thing».'
              : 'No chats match “no such thing”.',
          );
        expect(await page.getAttribute('#chat-search', 'placeholder')).toBe(
          lang === 'ar' ? 'ابحث بالاسم أو الهاتف أو الرسالة' : 'Search name, phone or message',
        );
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/list-no-match-${screen}-${lang}.png` });
        // Cleared: the whole list again, from its first page.
        await page.click('#chat-search-clear');
        await expect.poll(() => rows(page).count()).toBe(30);
        expect(await page.inputValue('#chat-search')).toBe('');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('chat-search');

        // The long thread: its newest 50, then the older ones above, the place kept.
        await zaid.locator('button').click();
        await expect.poll(() => page.textContent('#thread-name')).toBe('Zaid');
        const messages = page.locator('#messages > li.msg');
        await expect.poll(() => messages.count()).toBe(50);
        const firstShown = `Long message ${LONG_THREAD - 49}`;
        const reading = page.locator('#messages > li', { hasText: firstShown }).first();
        await page.locator('#load-older').scrollIntoViewIfNeeded();
        const list = page.locator('#messages');
        const before = must(await reading.boundingBox(), 'the message being read');
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/thread-older-${screen}-${lang}.png` });
        await page.click('#load-older');
        await expect.poll(() => messages.count()).toBe(LONG_THREAD);
        expect(await page.locator('#load-older').count()).toBe(0);
        const after = must(await reading.boundingBox(), 'the message being read');
        expect(Math.abs(after.y - before.y)).toBeLessThan(4);
        const box = must(await list.boundingBox(), 'the message list');
        expect(after.y).toBeGreaterThanOrEqual(box.y);
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/thread-older-loaded-${screen}-${lang}.png` });
        await context.close();
      }, 90_000);
    }
  }
});
