import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { createConversation } from '../conversations';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { cspViolations, expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

const CASES = [
  { screen: 'desktop', locale: 'en-US', lang: 'en' },
  { screen: 'desktop', locale: 'ar', lang: 'ar' },
  { screen: 'phone', locale: 'en-US', lang: 'en' },
  { screen: 'phone', locale: 'ar', lang: 'ar' },
] as const;

/** What the page says, in the two languages the cases use (a missing translation fails). */
const WORDS = {
  en: {
    view: 'Dashboard',
    traffic: 'Conversations and messages per day',
    summary: 'Messages in: 42 in total',
    reason: 'The AI decided a person should answer',
    week: 'Last 7 days',
    numbers: 'Show the numbers',
  },
  ar: {
    view: 'لوحة المؤشرات',
    traffic: 'المحادثات والرسائل يوميًا',
    summary: 'الرسائل الواردة: 42 إجمالًا',
    reason: 'قرر الذكاء الاصطناعي أن يرد شخص',
    week: 'آخر 7 يومًا',
    numbers: 'عرض الأرقام',
  },
} as const;

const DAY = 86_400_000;
const DAYS = 21;

/**
 * Three weeks of a business (its time zone UTC), each day before today: a customer's message
 * answered by the AI 30 s (+ the day's number) later, another answered by the owner 3 minutes
 * later, one agent run; a handoff every fifth day, a failed reply every seventh.
 */
async function seedBusiness(sql: postgres.Sql, name: string) {
  const t = await createTenant(sql, name);
  await givePassword(sql, t.owner.id);
  await sql`update tenant_members set display_name = 'Olga Owner'
    where tenant_id = ${t.tenantId} and user_id = ${t.owner.id}`;
  const channels = ['whatsapp', 'messenger', 'instagram'] as const;
  const midnight = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`).getTime();
  for (let i = 0; i < DAYS; i++) {
    const channel = channels[i % 3] ?? 'whatsapp';
    const c = await createConversation(sql, t, { channel, lastInboundAt: null, name: `Day ${i}` });
    const day = midnight - (i + 1) * DAY;
    const at = (minutes: number, seconds = 0) =>
      new Date(day + 10 * 3_600_000 + minutes * 60_000 + seconds * 1000);
    const msg = async (
      direction: 'inbound' | 'outbound',
      sender: string,
      when: Date,
      extra: { status?: string; code?: string; by?: string } = {},
    ) => {
      await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
          type, content, provider_timestamp, received_at, status, error_code, error_reason, payload)
        values (${t.tenantId}, ${c.conversationId}, ${t.accounts[channel].id}, ${direction}, ${sender},
          'text', 'x', ${when}, ${when}, ${extra.status ?? (direction === 'inbound' ? 'received' : 'read')},
          ${extra.code ?? null}, ${extra.code ? 'Re-engagement message' : null},
          ${sql.json(extra.by ? { requested_by_user_id: extra.by } : {})})`;
    };
    await msg('inbound', 'user', at(0));
    await msg('outbound', 'agent', at(0, 30 + i));
    if (i % 7 === 0) await msg('outbound', 'agent', at(1), { status: 'failed', code: '131047' });
    await msg('inbound', 'user', at(5));
    await msg('outbound', 'operator', at(8), { by: t.owner.id });
    await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, usage, cost_usd,
        outcome, started_at, finished_at)
      values (${t.tenantId}, ${c.conversationId}, ${crypto.randomUUID()}, 'gpt-4.1-mini',
        ${sql.json({ inputTokens: 1200 + i * 10, outputTokens: 60 })}, ${0.0012 + i * 0.0001}, 'replied',
        ${at(0, 10)}, ${at(0, 20)})`;
    if (i % 5 === 0) {
      await sql`insert into conversation_lock_events (tenant_id, conversation_id, locked, source, reason, at)
        values (${t.tenantId}, ${c.conversationId}, true, 'escalation', 'The customer wants a refund', ${at(2)})`;
    }
  }
  return t;
}

/**
 * The dashboard in Chromium against the real Worker: reachable from the topbar, its totals, its
 * charts drawn (uPlot, loaded on first use), each with a sentence and a table of its numbers,
 * the handoffs' reasons, per channel and per team member, the period switch. Desktop and phone,
 * English and Arabic, axe on each, no CSP refusal (uPlot comes as a chunk of our own).
 */
describe.skipIf(!haveChromium)('the dashboard on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;
  let t: TenantFixture;

  beforeAll(async () => {
    sql = adminSql();
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    worker = await startWorkerd({ SUPABASE_URL: auth.url });
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
    t = await seedBusiness(sql, 'Dashboard business');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await auth?.close();
    await sql?.end();
  });

  for (const c of CASES) {
    it(`${c.screen}, ${c.lang}: totals, charts with their text, reasons, channels, team, period`, async () => {
      const words = WORDS[c.lang];
      const context = await browser.newContext({ locale: c.locale, viewport: SCREENS[c.screen] });
      const page = await context.newPage();
      const refused = cspViolations(page);
      try {
        await signIn(page, worker.url, t.owner.email);
        expect(await page.textContent('#view-dashboard')).toBe(words.view);
        await page.click('#view-dashboard');
        await page.waitForSelector('#dashboard-totals');
        expect(await page.evaluate(() => location.hash)).toBe('#dashboard');
        expect(await page.textContent('#dashboard-title')).toBe(words.view);

        // Every chart drawn: a canvas of the width it was given.
        const charts = page.locator('#dashboard figure.chart');
        expect(await charts.count()).toBe(8);
        await expect
          .poll(() => page.locator('#dashboard figure.chart .chart-canvas canvas').count())
          .toBe(8);
        const canvas = await page.locator('#chart-traffic canvas').boundingBox();
        expect(canvas?.width).toBeGreaterThan(c.screen === 'phone' ? 250 : 300);
        expect(await page.textContent('#chart-traffic figcaption')).toBe(words.traffic);
        // The sentence beside it, and the numbers as a table (30 days: a row each).
        expect(await page.textContent('#chart-traffic .chart-summary')).toContain(words.summary);
        expect(await page.textContent('#chart-traffic summary')).toBe(words.numbers);
        await page.click('#chart-traffic summary');
        expect(await page.locator('#chart-traffic tbody tr').count()).toBe(30);
        // The canvas is not read out; its text is.
        expect(await page.getAttribute('#chart-traffic .chart-canvas', 'aria-hidden')).toBe('true');

        // The totals: 21 conversations, 42 messages each way (3 failed among the 45 out).
        const totals = await page.locator('#dashboard-totals strong').allTextContents();
        const digits = (s: string) =>
          s.replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660)).replace(/[^\d.]/g, '');
        expect(totals.slice(0, 5).map(digits)).toEqual(['21', '42', '45', '24', '5']);
        expect(await page.textContent('#chart-handoffs .chart-legend')).toContain(words.reason);
        const channels = page.locator('#dashboard-channels tbody tr');
        expect(await channels.count()).toBe(3);
        expect(await page.textContent('#dashboard-staff tbody')).toContain('Olga Owner');

        await page.locator('#dashboard').evaluate((el) => el.scrollTo(0, 0));
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/dashboard-${c.screen}-${c.lang}.png` });
        await page.locator('#chart-first-reply').scrollIntoViewIfNeeded();
        await page.screenshot({ path: `test-results/dashboard-${c.screen}-${c.lang}-replies.png` });
        if (c.screen === 'phone') {
          // Nothing wider than the phone: no sideways scrolling of the page.
          const wide = await page.evaluate(() => document.documentElement.scrollWidth);
          expect(wide).toBeLessThanOrEqual(SCREENS.phone.width);
        }

        // Another period: 7 days, 7 rows.
        await page.selectOption('#dashboard-period', '7');
        await expect.poll(() => page.locator('#chart-traffic tbody tr').count()).toBe(7);
        expect(await page.locator('#dashboard-period option:checked').textContent()).toBe(
          words.week,
        );
        expect(refused).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
