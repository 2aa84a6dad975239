import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { type ConversationFixture, createConversation } from '../conversations';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

const CASES = [
  { screen: 'desktop', locale: 'en-US', lang: 'en' },
  { screen: 'desktop', locale: 'ar', lang: 'ar' },
  { screen: 'phone', locale: 'en-US', lang: 'en' },
  { screen: 'phone', locale: 'ar', lang: 'ar' },
] as const;

/**
 * Before the page loads: desktop notifications recorded instead of shown, and the tab's visibility
 * and focus under the test's control (`__show(false)` hides the tab as switching away would).
 */
const INIT_SCRIPT = `(() => {
  window.__notifications = [];
  window.__hidden = false;
  class RecordedNotification {
    static permission = 'default';
    static requestPermission() {
      RecordedNotification.permission = 'granted';
      return Promise.resolve('granted');
    }
    constructor(title, options) { window.__notifications.push({ title, body: options && options.body }); }
  }
  window.Notification = RecordedNotification;
  Object.defineProperty(document, 'hidden', { get: () => window.__hidden });
  Object.defineProperty(document, 'visibilityState', {
    get: () => (window.__hidden ? 'hidden' : 'visible'),
  });
  window.__blurred = false;
  document.hasFocus = () => !window.__hidden && !window.__blurred;
  window.__show = (visible) => {
    window.__hidden = !visible;
    document.dispatchEvent(new Event('visibilitychange'));
  };
})();`;

type Recorded = { title: string; body: string };

async function customerWrites(sql: postgres.Sql, t: TenantFixture, chatId: string, text: string) {
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_message_id, provider_timestamp, status)
    values (${t.tenantId}, ${chatId}, ${t.accounts.whatsapp.id}, 'inbound',
      'user', 'text', ${text}, ${`wamid.${crypto.randomUUID()}`}, now(), 'received')`;
  await sql`update conversations set last_message_at = now(), last_inbound_at = now(),
      last_message_preview = ${text}, unread_count = unread_count + 1
    where id = ${chatId}`;
}

/**
 * Freshness and alerts in Chromium against the real Worker: a customer's message shows within a
 * poll; a hidden tab asks nothing and catches up the moment it is shown; desktop notifications
 * (switched on in the alerts menu) for a new chat and a handoff; the list filtered by label and
 * assignee; deleting one's own note. Desktop and phone, English and Arabic, axe on each.
 */
describe.skipIf(!haveChromium)('freshness, alerts and filters on the operator page', () => {
  let sql: postgres.Sql;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
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

  for (const c of CASES) {
    it(`${c.screen}, ${c.lang}: fresh messages, hidden tab, alerts, filters, note delete`, async () => {
      const tenant = await createTenant(sql, `Fresh ${c.screen} ${c.lang}`);
      await givePassword(sql, tenant.owner.id);
      const vip: ConversationFixture = await createConversation(sql, tenant, { name: 'Vera VIP' });
      const other = await createConversation(sql, tenant, { name: 'Omar Other' });
      await sql`update conversations set labels = '["vip"]', assigned_user_id = ${tenant.owner.id}
        where id = ${vip.conversationId}`;
      // An AI draft waiting for approval on Omar's chat: the list's "drafts waiting" badge.
      await sql`insert into agent_drafts (tenant_id, conversation_id, correlation_id, message, preview)
        values (${tenant.tenantId}, ${other.conversationId}, 'turn',
          ${sql.json({ type: 'text', text: 'Hola' })}, 'Hola')`;

      const context = await browser.newContext({ locale: c.locale, viewport: SCREENS[c.screen] });
      await context.grantPermissions(['notifications'], { origin: worker.url });
      await context.addInitScript(INIT_SCRIPT);
      const page: Page = await context.newPage();
      const listReads: number[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/admin/chats/summary')) listReads.push(Date.now());
      });
      await signIn(page, worker.url, tenant.owner.email);
      expect(await page.getAttribute('html', 'dir')).toBe(c.lang === 'ar' ? 'rtl' : 'ltr');
      const rows = page.locator('#chat-list .chat');
      await expect.poll(() => rows.count()).toBe(2);
      const drafts = rows.filter({ hasText: 'Omar' }).locator('.badge.drafts-waiting');
      expect(await drafts.textContent()).toContain('1');
      expect(await rows.filter({ hasText: 'Vera' }).locator('.badge.drafts-waiting').count()).toBe(
        0,
      );

      // Desktop notifications switched on in the alerts menu, remembered in this browser.
      await page.click('#alerts-menu');
      await page.check('#alert-desktop');
      await expect
        .poll(() => page.evaluate(() => localStorage.getItem('switchboard.alerts')))
        .toContain('"desktop":true');
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/freshness-alerts-${c.screen}-${c.lang}.png` });
      await page.click('#alerts-menu');

      // Filters: by label, by assignee ("mine", "unassigned"), back to everything.
      await expect.poll(() => page.locator('#filter-label option').count()).toBe(2);
      await page.selectOption('#filter-label', 'vip');
      await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Vera')]);
      await page.selectOption('#filter-label', '');
      await page.selectOption('#filter-assignee', 'none');
      await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Omar')]);
      await page.selectOption('#filter-assignee', 'me');
      await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Vera')]);
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/freshness-filter-${c.screen}-${c.lang}.png` });
      await page.selectOption('#filter-assignee', '');
      await expect.poll(() => rows.count()).toBe(2);

      // A customer's message shows in the open thread within a poll (3 s, plus the request).
      await rows.filter({ hasText: 'Vera' }).click();
      await expect.poll(() => page.textContent('#thread-name')).toBe('Vera VIP');
      const sent = Date.now();
      await customerWrites(sql, tenant, vip.conversationId, `Are you open today? ${c.lang}`);
      await page
        .locator('#thread', { hasText: `Are you open today? ${c.lang}` })
        .waitFor({ timeout: 4_000 });
      const shownAfter = Date.now() - sent;
      expect(shownAfter).toBeLessThan(4_000);
      console.log(`[freshness] ${c.screen} ${c.lang}: message shown after ${shownAfter} ms`);

      // A hidden tab asks nothing; meanwhile a new chat arrives and the AI hands a chat over.
      await page.evaluate(() =>
        (window as unknown as { __show: (v: boolean) => void }).__show(false),
      );
      const hiddenSince = Date.now();
      const fresh = await createConversation(sql, tenant, {
        name: 'Nadia New',
        lastInboundAt: null,
      });
      await customerWrites(sql, tenant, fresh.conversationId, 'Hello, first time here');
      await sql`update conversations set is_locked = true, locked_by = 'escalation',
          lock_reason = 'Asked for a person', locked_at = now()
        where id = ${other.conversationId}`;
      await page.waitForTimeout(3_500);
      // A poll already under way as the tab was hidden may still ask (late, on a loaded
      // machine); none starts after that, though a 3 s tick has come and gone.
      expect(listReads.filter((at) => at > hiddenSince + 1_000)).toEqual([]);
      const hiddenAt = listReads.length;
      // Shown again: the list is read at once, not at the next tick.
      const shownAt = Date.now();
      await page.evaluate(() =>
        (window as unknown as { __show: (v: boolean) => void }).__show(true),
      );
      await expect.poll(() => listReads.length, { timeout: 1_000 }).toBeGreaterThan(hiddenAt);
      expect((listReads[hiddenAt] ?? Number.POSITIVE_INFINITY) - shownAt).toBeLessThan(1_000);
      const notifications = async () =>
        page.evaluate(() => (window as unknown as { __notifications: Recorded[] }).__notifications);
      await expect
        .poll(async () => (await notifications()).map((n) => n.title))
        .toEqual(
          expect.arrayContaining([
            expect.stringContaining('Nadia New'),
            expect.stringContaining('Omar Other'),
          ]),
        );
      // Nothing about the chat on screen, nor about the operator's own actions.
      expect((await notifications()).some((n) => n.title.includes('Vera'))).toBe(false);
      // The title counts chats with unread messages: Nadia's (Vera's
      // are read as they arrive on screen).
      await expect.poll(() => page.title()).toMatch(/^\(1\) /);

      // In another window (the tab visible, not focused), a keyword hands Nadia's chat over: the
      // title flashes with it until the page is focused again.
      await page.evaluate(() => {
        (window as unknown as { __blurred: boolean }).__blurred = true;
      });
      await sql`update conversations set is_locked = true, locked_by = 'keyword',
          lock_reason = 'The customer asked for a person', locked_at = now()
        where id = ${fresh.conversationId}`;
      const flash = c.lang === 'ar' ? 'تحويل! Nadia New' : 'Handoff! Nadia New';
      await expect.poll(() => page.title(), { timeout: 6_000 }).toBe(flash);
      await expect.poll(() => page.title()).toMatch(/^\(1\) /);
      await page.evaluate(() => {
        (window as unknown as { __blurred: boolean }).__blurred = false;
        window.dispatchEvent(new Event('focus'));
      });
      await page.waitForTimeout(2_500);
      expect(await page.title()).toMatch(/^\(1\) /);

      // One's own note deleted from the contact panel.
      await page.click('#contact-toggle');
      await page.waitForSelector('#contact-panel');
      await page.fill('#note-input', `To delete (${c.lang})`);
      await page.click('#note-form button[type=submit]');
      await expect.poll(() => page.locator('#contact-notes li').count()).toBe(1);
      await page.locator('#contact-notes .ask-delete').scrollIntoViewIfNeeded();
      await page.screenshot({ path: `test-results/freshness-note-${c.screen}-${c.lang}.png` });
      await expectAccessible(page);
      // Delete asks first: Keep keeps the note, Delete removes it.
      const keep = c.lang === 'ar' ? 'إبقاء' : 'Keep';
      await page.locator('#contact-notes .ask-delete').click();
      await page.locator('#contact-notes li button', { hasText: keep }).click();
      expect(await page.locator('#contact-notes li').count()).toBe(1);
      await page.locator('#contact-notes .ask-delete').click();
      await page.locator('#contact-notes button.danger').click();
      await expect.poll(() => page.locator('#contact-notes li').count()).toBe(0);
      const [left] =
        await sql`select count(*)::int as n from contact_notes where contact_id = ${vip.contactId}`;
      expect(left?.n).toBe(0);
      await context.close();
    }, 120_000);
  }
});
