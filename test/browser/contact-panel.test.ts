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
  { screen: 'desktop', locale: 'en-US', lang: 'en', name: 'Nora Desk' },
  { screen: 'desktop', locale: 'ar', lang: 'ar', name: 'سلمى المكتب' },
  { screen: 'phone', locale: 'en-US', lang: 'en', name: 'Pablo Phone' },
  { screen: 'phone', locale: 'ar', lang: 'ar', name: 'هالة الهاتف' },
] as const;

/**
 * The contact panel beside the thread in Chromium against the real Worker: open a chat, open its
 * customer, add a note, add and remove a label, assign the chat to another operator and to nobody,
 * record an opt-in; at desktop (a third column) and phone size (a third stacked view with a back
 * button), in English and Arabic (right to left), with no serious accessibility violation.
 */
describe.skipIf(!haveChromium)('contact panel on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  const chats = new Map<string, ConversationFixture>();
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Panel Clinic');
    await givePassword(sql, tenant.owner.id);
    await sql`update tenant_members set display_name = 'Adam Agent'
      where tenant_id = ${tenant.tenantId} and user_id = ${tenant.agent.id}`;
    for (const c of CASES) {
      const chat = await createConversation(sql, tenant, { name: c.name });
      chats.set(c.name, chat);
      // The AI answered twice in each chat, for US$0.0042 in all.
      for (const cost of [0.0012, 0.003]) {
        await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model,
            outcome, steps, cost_usd)
          values (${tenant.tenantId}, ${chat.conversationId}, ${`turn-${crypto.randomUUID()}`},
            'gpt-4.1-mini', 'replied', ${sql.json([{ text: 'hola' }])}, ${cost})`;
      }
    }
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

  const conversation = async (id: string) => {
    const [row] =
      await sql`select labels, assigned_user_id, bot_enabled from conversations where id = ${id}`;
    return row as { labels: string[]; assigned_user_id: string | null; bot_enabled: boolean };
  };

  for (const c of CASES) {
    it(`${c.screen}, ${c.lang}: note, labels, assignment, an opt-in and the AI agent off`, async () => {
      const chat = chats.get(c.name);
      if (!chat) throw new Error('no chat');
      const context = await browser.newContext({ locale: c.locale, viewport: SCREENS[c.screen] });
      const page: Page = await context.newPage();
      await signIn(page, worker.url, tenant.owner.email);
      expect(await page.getAttribute('html', 'dir')).toBe(c.lang === 'ar' ? 'rtl' : 'ltr');

      await page.locator('#chat-list .chat', { hasText: c.name }).click();
      await expect.poll(() => page.textContent('#thread-name')).toBe(c.name);
      expect(await page.isVisible('#contact-panel')).toBe(false);
      await page.click('#contact-toggle');
      await page.waitForSelector('#contact-panel');
      await expect.poll(() => page.textContent('#contact-name')).toBe(c.name);
      expect(await page.textContent('#contact-identity')).toContain(chat.externalUserId);
      // What the AI cost in this chat.
      await expect
        .poll(() => page.textContent('#contact-ai-cost'))
        .toContain(c.lang === 'en' ? '$0.0042 for 2 AI turns' : 'أدوار للذكاء الاصطناعي');
      if (c.screen === 'phone') {
        // The third stacked view: the list and the thread step aside.
        expect(await page.isVisible('#thread')).toBe(false);
        expect(await page.isVisible('#chat-list')).toBe(false);
      } else {
        expect(await page.isVisible('#thread')).toBe(true);
        expect(await page.getAttribute('#contact-toggle', 'aria-expanded')).toBe('true');
      }

      // A private note, shown first and stored in the operator's name.
      await page.fill('#note-input', `Prefers afternoons (${c.lang})`);
      await page.click('#note-form button[type=submit]');
      await expect.poll(() => page.locator('#contact-notes li').count()).toBe(1);
      expect(await page.textContent('#contact-notes li')).toContain('Prefers afternoons');
      expect(await page.inputValue('#note-input')).toBe('');
      const [note] =
        await sql`select author_user_id from contact_notes where contact_id = ${chat.contactId}`;
      expect(note?.author_user_id).toBe(tenant.owner.id);

      // Two labels, then one removed.
      for (const label of ['vip', '  late   payer ']) {
        await page.fill('#label-input', label);
        await page.click('#label-form button[type=submit]');
      }
      await expect
        .poll(async () => (await conversation(chat.conversationId)).labels)
        .toEqual(['vip', 'late payer']);
      await expect.poll(() => page.locator('#contact-labels li').count()).toBe(2);
      const removeVip = c.lang === 'ar' ? 'إزالة التصنيف vip' : 'Remove the label vip';
      await page.getByRole('button', { name: removeVip }).click();
      await expect
        .poll(async () => (await conversation(chat.conversationId)).labels)
        .toEqual(['late payer']);
      await expect.poll(() => page.locator('#contact-labels li').count()).toBe(1);

      // Assigned to the other operator (named by display name), then to nobody.
      await expect
        .poll(() => page.locator('#contact-assignee option').allTextContents())
        .toContain('Adam Agent');
      await page.selectOption('#contact-assignee', tenant.agent.id);
      await expect
        .poll(async () => (await conversation(chat.conversationId)).assigned_user_id)
        .toBe(tenant.agent.id);
      await page.selectOption('#contact-assignee', '');
      await expect
        .poll(async () => (await conversation(chat.conversationId)).assigned_user_id)
        .toBeNull();
      await expect.poll(() => page.inputValue('#contact-assignee')).toBe('');

      // An opt-in to marketing, given on the phone.
      await page.selectOption('#opt-in-scope', 'marketing');
      await page.selectOption('#opt-in-source', 'phone_call');
      await page.click('#opt-in-form button[type=submit]');
      await expect
        .poll(() => page.getAttribute('#contact-consent dd[data-state]', 'data-state'))
        .toBe('opted_in');
      const [optIn] = await sql`select action, scope, source, recorded_by_user_id from opt_ins
        where contact_id = ${chat.contactId}`;
      expect(optIn).toEqual({
        action: 'opt_in',
        scope: 'marketing',
        source: 'phone_call',
        recorded_by_user_id: tenant.owner.id,
      });
      expect(await page.textContent('#contact-error')).toBe('');

      // The AI agent kept out of this chat: stored, and said in the thread and the list.
      expect(await page.isChecked('#bot-toggle')).toBe(true);
      await page.locator('#bot-toggle').uncheck();
      await expect
        .poll(async () => (await conversation(chat.conversationId)).bot_enabled)
        .toBe(false);
      await expect.poll(() => page.isChecked('#bot-toggle')).toBe(false);
      const botOff =
        c.lang === 'ar'
          ? 'وكيل الذكاء الاصطناعي متوقف في هذه المحادثة'
          : 'AI agent off in this chat';
      await expect.poll(() => page.locator('#thread-lock').textContent()).toBe(botOff);

      // The list shows the label on the chat (on a phone, after going back).
      await expectAccessible(page);
      // The panel scrolls on its own: its top (who, assignee, labels), then its end (notes).
      await page.locator('#contact-panel').evaluate((el) => el.scrollTo(0, 0));
      await page.screenshot({ path: `test-results/contact-panel-${c.screen}-${c.lang}-top.png` });
      await page.locator('#contact-notes').scrollIntoViewIfNeeded();
      await page.screenshot({ path: `test-results/contact-panel-${c.screen}-${c.lang}-notes.png` });
      if (c.screen === 'phone') {
        const boxes = await page
          .locator('#contact-panel button, #contact-panel select, #contact-panel input')
          .evaluateAll((els) =>
            els
              .filter((e) => (e as HTMLElement).offsetParent !== null)
              .map((e) => e.getBoundingClientRect()),
          );
        for (const box of boxes) {
          expect(box.height).toBeGreaterThanOrEqual(44);
          expect(box.width).toBeGreaterThanOrEqual(44);
        }
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          SCREENS.phone.width,
        );
        await page.click('#contact-panel .back');
        await page.waitForSelector('#thread', { state: 'visible' });
        expect(await page.isVisible('#contact-panel')).toBe(false);
        await page.click('#thread .back');
        await page.waitForSelector('#chat-list', { state: 'visible' });
      } else {
        await page.click('#contact-toggle');
        await page.waitForSelector('#contact-panel', { state: 'detached' });
      }
      await expect
        .poll(() =>
          page
            .locator('#chat-list .chat', { hasText: c.name })
            .locator('.badge.label')
            .allTextContents(),
        )
        .toEqual(['late payer']);
      const botOffBadge = page
        .locator('#chat-list .chat', { hasText: c.name })
        .locator('.badge.bot-off');
      expect(await botOffBadge.textContent()).toBe(c.lang === 'ar' ? 'الذكاء متوقف' : 'AI off');
      await context.close();
    }, 120_000);
  }
});
