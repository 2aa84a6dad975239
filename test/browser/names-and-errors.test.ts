import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetaGraphStandIn, startMetaGraph } from '../../dev/stand-ins/meta-graph';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { createConversation } from '../conversations';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../fixtures';
import { TEST_APP_SECRET } from '../harness';
import { waNumber } from '../meta-webhooks';
import { must } from '../must';
import { hs256Token, TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

const CASES = [
  { screen: 'desktop', locale: 'en-US', lang: 'en', name: 'Olivia Desk' },
  { screen: 'desktop', locale: 'ar', lang: 'ar', name: 'سارة المكتب' },
  { screen: 'phone', locale: 'en-US', lang: 'en', name: 'Oscar Phone' },
  { screen: 'phone', locale: 'ar', lang: 'ar', name: 'هدى الهاتف' },
] as const;

const OPT_IN_BUTTON = { en: 'Record the customer’s opt-in', ar: 'تسجيل موافقة العميل' };

/**
 * Defect 7 of issue 11 in Chromium against the real Worker: a refused send's error goes with the
 * next successful send, and a refusal for consent ("record it first") offers a button that opens
 * the contact panel at its opt-in form; recording the opt-in clears the error and the template
 * then goes out. Desktop and phone, English and Arabic, no serious accessibility violation.
 */
describe.skipIf(!haveChromium)('refused sends on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let graph: MetaGraphStandIn;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Refusal Clinic');
    await givePassword(sql, tenant.owner.id);
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${tenant.tenantId}`;
    // Customers who last wrote three days ago: only a template reaches them, and a marketing one
    // only with their opt-in, which none has given.
    for (const c of CASES) {
      await createConversation(sql, tenant, {
        name: c.name,
        lastInboundAt: new Date(Date.now() - 3 * 86_400_000),
      });
    }
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      accounts: [{ channel: 'whatsapp', ...waNumber(tenant) }],
      statusProgression: false,
    });
    worker = await startWorkerd({ SUPABASE_URL: auth.url, GRAPH_API_BASE_URL: graph.url });
    const synced = await fetch(`${worker.url}/admin/templates/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await hs256Token({ sub: tenant.owner.id, email: tenant.owner.email, issuer: `${auth.url}/auth/v1` })}`,
        'x-tenant-id': tenant.tenantId,
      },
    });
    expect(synced.status).toBe(200);
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await Promise.all([auth?.close(), graph?.close()]);
    await sql?.end();
  });

  async function choose(page: Page, template: string) {
    await expect.poll(() => page.locator('#template-select option').count()).toBeGreaterThan(0);
    const names = await page.locator('#template-select option').allTextContents();
    const label = must(
      names.find((n) => n.startsWith(template)),
      `${template} offered`,
    );
    await page.selectOption('#template-select', { label });
  }

  const outbound = (page: Page) => page.locator('#messages .msg.outbound').count();

  for (const c of CASES) {
    it(`${c.screen}, ${c.lang}: the error goes with the next success; the opt-in is one tap away`, async () => {
      const context = await browser.newContext({ locale: c.locale, viewport: SCREENS[c.screen] });
      const page = await context.newPage();
      await signIn(page, worker.url, tenant.owner.email);
      await page.locator('#chat-list .chat', { hasText: c.name }).click();
      await page.waitForSelector('#template-form');

      // A marketing template without the customer's opt-in: refused, with the way out offered.
      await choose(page, 'spring_sale');
      await page.click('#template-form button[type=submit]');
      await expect.poll(() => page.textContent('#thread-error')).toContain('opt-in');
      const optIn = page.getByRole('button', { name: OPT_IN_BUTTON[c.lang] });
      expect(await optIn.isVisible()).toBe(true);
      await expectAccessible(page);
      await page.screenshot({
        path: `test-results/names-and-errors-refused-${c.screen}-${c.lang}.png`,
      });

      // A utility template goes out: the refusal's error and its button go with that success.
      await choose(page, 'appointment_reminder');
      await page.fill('#template-body-first_name', c.name);
      await page.fill('#template-body-date', 'Monday 3 March at 10:00');
      await page.click('#template-form button[type=submit]');
      await expect.poll(() => outbound(page), { timeout: 15_000 }).toBe(1);
      expect(await page.textContent('#thread-error')).toBe('');
      expect(await page.locator('#thread-error-opt-in').count()).toBe(0);

      // Refused again; the button opens the contact panel at the opt-in form, focused.
      await choose(page, 'spring_sale');
      await page.click('#template-form button[type=submit]');
      await expect.poll(() => page.locator('#thread-error-opt-in').count()).toBe(1);
      await page.click('#thread-error-opt-in');
      await page.waitForSelector('#opt-in-form');
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('opt-in-scope');
      if (c.screen === 'phone') expect(await page.isVisible('#thread')).toBe(false);
      await expectAccessible(page);
      await page.screenshot({
        path: `test-results/names-and-errors-opt-in-${c.screen}-${c.lang}.png`,
      });
      await page.selectOption('#opt-in-scope', 'marketing');
      await page.selectOption('#opt-in-source', 'phone_call');
      await page.click('#opt-in-form button[type=submit]');
      await expect
        .poll(() => page.getAttribute('#contact-consent dd[data-state]', 'data-state'))
        .toBe('opted_in');
      // Recording the opt-in answers the refusal: its error goes.
      await expect.poll(() => page.textContent('#thread-error')).toBe('');

      if (c.screen === 'phone') {
        await page.click('#contact-panel .back');
        await page.waitForSelector('#thread', { state: 'visible' });
      }
      await choose(page, 'spring_sale');
      await page.click('#template-form button[type=submit]');
      await expect.poll(() => outbound(page), { timeout: 15_000 }).toBe(2);
      expect(await page.textContent('#thread-error')).toBe('');
      await context.close();
    }, 120_000);
  }
});
