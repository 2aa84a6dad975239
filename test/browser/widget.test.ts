import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSiteBusiness, startDemoSite } from '../../dev/demo-site';
import type { LoopbackServer } from '../../dev/stand-ins/http-server';
import { type QStashStandIn, startQStash } from '../../dev/stand-ins/qstash';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { startUpstashRedis, type UpstashRedisStandIn } from '../../dev/stand-ins/upstash-redis';
import { chromiumAvailable, launchChromium } from '../chromium';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { testBindings } from '../harness';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('widget browser tests');

/** Replies come by polling (1.5 s) after the agent's debounced turn and its send job. */
const REPLY_TIMEOUT = 30_000;

/**
 * The web chat widget in Chromium, on the demo business site (dev/demo-site.ts, another origin
 * than the Worker) against the real Worker (workerd), QStash and Redis stand-ins: a visitor
 * writes, the agent's reply and an operator's arrive, the takeover is announced, a reload keeps
 * the conversation, another visitor sees none of it, a site not allowed is refused, sending too
 * fast says so; English and Arabic (right to left), desktop and phone, no serious axe violation.
 */
describe.skipIf(!haveChromium)('the web chat widget in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let business: DemoSiteBusiness;
  let site: LoopbackServer;
  let foreignSite: LoopbackServer;
  let redis: UpstashRedisStandIn;
  let qstash: QStashStandIn;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Widget Clinic');
    await givePassword(sql, tenant.owner.id);
    // Quick turns: the reply is what is being waited for, not the debounce.
    await sql`update tenant_settings set debounce_seconds = 1 where tenant_id = ${tenant.tenantId}`;
    const keys = testBindings();
    redis = await startUpstashRedis({ token: keys.UPSTASH_REDIS_REST_TOKEN ?? '' });
    qstash = await startQStash({
      token: keys.QSTASH_TOKEN ?? '',
      currentSigningKey: keys.QSTASH_CURRENT_SIGNING_KEY ?? '',
      nextSigningKey: keys.QSTASH_NEXT_SIGNING_KEY ?? '',
      retryBackoffMs: () => 500,
    });
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    worker = await startWorkerd({
      SUPABASE_URL: auth.url,
      QSTASH_URL: qstash.url,
      UPSTASH_REDIS_REST_URL: redis.url,
      WIDGET_MESSAGES_PER_MINUTE: '4',
    });
    const key = `pk_browser_${crypto.randomUUID().replaceAll('-', '')}`;
    business = { slug: 'widget-clinic', name: 'Widget Clinic', widgetKey: key, blurb: 'Teeth.' };
    site = await startDemoSite({ workerUrl: worker.url, businesses: [business] });
    // The same page on another origin, not on the widget's allow-list.
    foreignSite = await startDemoSite({ workerUrl: worker.url, businesses: [business] });
    const accountId = crypto.randomUUID();
    await sql`insert into channel_accounts (id, tenant_id, channel, external_id, display_name)
      values (${accountId}, ${tenant.tenantId}, 'web', ${key}, 'Widget Clinic website')`;
    await sql`insert into widgets (tenant_id, channel_account_id, allowed_origins, title, color, greeting)
      values (${tenant.tenantId}, ${accountId}, ${sql.json([site.url])}, 'Widget Clinic',
        '#0b6e4f', 'Hi! Ask us anything.')`;
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await worker?.stop();
    await Promise.all([
      site?.close(),
      foreignSite?.close(),
      redis?.close(),
      qstash?.close(),
      auth?.close(),
    ]);
    await sql?.end();
  });

  async function visit(
    options: { screen?: keyof typeof SCREENS; lang?: 'en' | 'ar'; origin?: string } = {},
  ): Promise<Page> {
    const context = await browser.newContext({
      locale: options.lang === 'ar' ? 'ar' : 'en-US',
      viewport: SCREENS[options.screen ?? 'desktop'],
    });
    contexts.push(context);
    const page = await context.newPage();
    const query = options.lang === 'ar' ? '?lang=ar' : '';
    await page.goto(`${options.origin ?? site.url}/${business.slug}${query}`);
    return page;
  }

  /** The widget's parts (Playwright's CSS locators pierce its open shadow root). */
  const widget = (page: Page) => ({
    bubble: page.locator('[data-switchboard-widget] .bubble'),
    panel: page.locator('[data-switchboard-widget] .panel'),
    input: page.locator('[data-switchboard-widget] textarea'),
    log: page.locator('[data-switchboard-widget] .log'),
    notice: page.locator('[data-switchboard-widget] .notice'),
    error: page.locator('[data-switchboard-widget] .error'),
  });

  async function openWidget(page: Page) {
    const w = widget(page);
    await w.bubble.click();
    await expect.poll(() => w.panel.isVisible()).toBe(true);
    return w;
  }

  async function say(page: Page, text: string) {
    const w = widget(page);
    await w.input.fill(text);
    await w.input.press('Enter');
  }

  const businessTexts = (page: Page) => widget(page).log.locator('.msg.business').allInnerTexts();

  const storedToken = (page: Page) =>
    page.evaluate(
      (key) => localStorage.getItem(`switchboard-widget:${key}`) ?? '',
      business.widgetKey,
    );

  it('send, the agent answers, an operator answers and takes over, a reload keeps it all', async () => {
    const page = await visit();
    const w = await openWidget(page);
    // Opening puts the cursor in the message box; Escape closes and gives focus back.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.tagName))
      .toBe('TEXTAREA');
    await page.keyboard.press('Escape');
    await expect.poll(() => w.panel.isVisible()).toBe(false);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className))
      .toBe('bubble');
    await openWidget(page);

    await say(page, 'Hello, are you open on Saturday?');
    await expect
      .poll(() => w.log.locator('.msg.visitor').allInnerTexts())
      .toEqual([expect.stringContaining('Hello, are you open on Saturday?')]);
    // The agent's reply (the offline model), beyond the greeting.
    await expect
      .poll(async () => (await businessTexts(page)).length, { timeout: REPLY_TIMEOUT })
      .toBeGreaterThanOrEqual(2);
    expect((await businessTexts(page))[1]).toMatch(/^Assistant/);

    // The visitor leaves their name and e-mail; the operator finds them by it in the inbox and
    // answers from the composer: the reply arrives and the widget says a person has taken over.
    await page.locator('[data-switchboard-widget] summary').click();
    await page.locator('[data-switchboard-widget] #sb-name').fill('Lina Visitor');
    await page.locator('[data-switchboard-widget] #sb-contact').fill('lina@example.com');
    await page.locator('[data-switchboard-widget] #sb-contact').press('Enter');
    await expect.poll(() => w.notice.textContent()).toContain('Thanks!');
    const inbox = await (await browser.newContext({ viewport: SCREENS.desktop })).newPage();
    contexts.push(inbox.context());
    await signIn(inbox, `${worker.url}/`, tenant.owner.email);
    await inbox.locator('#chat-list').getByText('Lina Visitor').click();
    await expect.poll(() => inbox.textContent('#thread-name')).toBe('Lina Visitor');
    // The website's chat has no messaging window: the header says replies go any time.
    expect(await inbox.locator('body').textContent()).toContain('No messaging window');
    const composer = inbox.locator('#composer-text');
    await composer.fill('Ana here, yes we are!');
    await composer.press('Enter');
    await expect
      .poll(() => inbox.locator('#messages .msg.outbound').last().textContent(), {
        timeout: REPLY_TIMEOUT,
      })
      .toContain('Ana here, yes we are!');
    await inbox.screenshot({ path: 'test-results/widget-operator-inbox.png' });
    await expect
      .poll(async () => (await businessTexts(page)).join('\n'), { timeout: REPLY_TIMEOUT })
      .toContain('Ana here, yes we are!');
    expect((await businessTexts(page)).at(-1)).toMatch(/^Team/);
    await expect.poll(() => w.notice.textContent()).toContain('A person from the team has joined');
    await expectAccessible(page);
    await page.screenshot({ path: 'test-results/widget-desktop-en.png' });

    // A reload keeps the visitor and their conversation.
    const before = await storedToken(page);
    await page.reload();
    const again = await openWidget(page);
    await expect
      .poll(async () => (await again.log.textContent())?.includes('Ana here, yes we are!'))
      .toBe(true);
    expect(await storedToken(page)).toBe(before);
    expect(await again.log.textContent()).toContain('Hello, are you open on Saturday?');

    // Another visitor (another browser) sees only their own conversation, and their token reads
    // nothing of the first one.
    const stranger = await visit();
    const theirs = await openWidget(stranger);
    await expect.poll(() => storedToken(stranger)).not.toBe('');
    await new Promise((r) => setTimeout(r, 2000)); // a poll or two
    expect(await theirs.log.textContent()).not.toContain('Saturday');
    const read = await fetch(`${worker.url}/widget/messages`, {
      headers: { authorization: `Bearer ${await storedToken(stranger)}`, origin: site.url },
    });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).not.toContain('Saturday');
  });

  it('a site not on the allow-list is refused, with the reason shown', async () => {
    const page = await visit({ origin: foreignSite.url });
    const w = await openWidget(page);
    await expect.poll(() => w.error.textContent()).toContain('is not allowed to use this chat');
  });

  it('sending too fast: a clear message, and the message marked not sent', async () => {
    const page = await visit();
    const w = await openWidget(page);
    for (let i = 1; i <= 5; i++) {
      await say(page, `Question number ${i}`);
      await expect.poll(() => w.log.locator('.msg.visitor').count()).toBeGreaterThanOrEqual(i);
    }
    await expect.poll(() => w.error.textContent()).toContain('sending messages too quickly');
    await expect.poll(() => w.log.textContent()).toContain('Not sent');
  });

  it('Arabic, right to left, on a phone: the panel fills the screen; no serious axe violation', async () => {
    const page = await visit({ screen: 'phone', lang: 'ar' });
    const w = await openWidget(page);
    expect(
      await page.evaluate(() =>
        document
          .querySelector('[data-switchboard-widget]')
          ?.shadowRoot?.querySelector('.root')
          ?.getAttribute('dir'),
      ),
    ).toBe('rtl');
    const box = await w.panel.boundingBox();
    expect(box?.width).toBe(SCREENS.phone.width);
    await say(page, 'مرحبا، هل لديكم موعد غدًا؟');
    await expect
      .poll(async () => (await businessTexts(page)).length, { timeout: REPLY_TIMEOUT })
      .toBeGreaterThanOrEqual(2);
    await expectAccessible(page);
    await page.screenshot({ path: 'test-results/widget-phone-ar.png' });

    const desktop = await visit({ lang: 'ar' });
    await openWidget(desktop);
    await expectAccessible(desktop);
    await desktop.screenshot({ path: 'test-results/widget-desktop-ar.png' });
    const phone = await visit({ screen: 'phone' });
    await openWidget(phone);
    await phone.screenshot({ path: 'test-results/widget-phone-en.png' });
  });
});
