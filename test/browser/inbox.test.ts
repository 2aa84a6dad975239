import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MetaGraphStandIn, startMetaGraph } from '../../dev/stand-ins/meta-graph';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { type ConversationFixture, createConversation } from '../conversations';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../fixtures';
import { TEST_APP_SECRET, testBindings } from '../harness';
import { waNumber } from '../meta-webhooks';
import { must } from '../must';
import { hs256Token, TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import {
  cspViolations,
  expectAccessible,
  givePassword,
  OPERATOR_PASSWORD,
  SCREENS,
  signIn,
  submitSignIn,
} from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/** A customer message written straight into the database, as the webhook would store it. */
async function customerWrites(
  sql: postgres.Sql,
  tenant: TenantFixture,
  chat: ConversationFixture,
  text: string,
) {
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_message_id, provider_timestamp, status)
    values (${tenant.tenantId}, ${chat.conversationId}, ${tenant.accounts.whatsapp.id}, 'inbound',
      'user', 'text', ${text}, ${`wamid.${crypto.randomUUID()}`}, now(), 'received')`;
  await sql`update conversations set last_message_at = now(), last_message_preview = ${text},
      unread_count = unread_count + 1
    where id = ${chat.conversationId}`;
}

/**
 * The inbox in Chromium against the real Worker (workerd) and the Supabase Auth stand-in: an
 * ended session prompts to sign in over the open chat; on a phone the list and the thread are
 * stacked views with the composer on screen; the chrome follows the browser's language (English,
 * Arabic right-to-left), with no serious accessibility violation on any view.
 */
describe.skipIf(!haveChromium)('inbox on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let maria: ConversationFixture;
  let graph: MetaGraphStandIn;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Inbox Clinic');
    await givePassword(sql, tenant.owner.id);
    // No agent replies: the tests look at what the operator sends.
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${tenant.tenantId}`;
    const layla = await createConversation(sql, tenant, { name: 'ليلى حداد' });
    await customerWrites(sql, tenant, layla, 'مرحبا، هل لديكم موعد غدًا؟');
    maria = await createConversation(sql, tenant, { name: 'María' });
    // A customer who last wrote three days ago: only a template reaches them.
    await createConversation(sql, tenant, {
      name: 'Lucía',
      lastInboundAt: new Date(Date.now() - 3 * 86_400_000),
    });
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      accounts: [{ channel: 'whatsapp', ...waNumber(tenant) }],
      statusProgression: false,
    });
    worker = await startWorkerd({ SUPABASE_URL: auth.url, GRAPH_API_BASE_URL: graph.url });
    // The business's approved templates, as an owner syncs them from Meta.
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

  /** What the Content-Security-Policy refused on this test's pages: nothing, or the page broke. */
  let refused: string[][] = [];
  afterEach(() => {
    const all = refused.flat();
    refused = [];
    expect(all).toEqual([]);
  });

  async function newPage(screen: keyof typeof SCREENS, locale: string): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
    const page = await context.newPage();
    refused.push(cspViolations(page));
    return page;
  }

  /** The access token supabase-js keeps for the page. */
  const storedAccessToken = (page: Page) =>
    page.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith('sb-'));
      return (JSON.parse(localStorage.getItem(key ?? '') ?? '{}') as { access_token?: string })
        .access_token;
    });

  /**
   * From now on, until the page asks Auth for a refreshed token, the API sees `token`'s requests
   * with an access token that expired a minute ago (as after a laptop slept past the hour): the
   * Worker answers them with its real 401. (A refresh within the same second can return the very
   * same token, so "refreshed" is when the page asked, not a different token.)
   */
  async function expireToken(page: Page, token: string) {
    const expiredToken = await hs256Token({
      sub: tenant.owner.id,
      email: tenant.owner.email,
      issuer: `${auth.url}/auth/v1`,
      expiresInSeconds: -60,
    });
    const seen = { expired: 0, refreshAsked: false };
    page.on('request', (request) => {
      if (request.url().includes('grant_type=refresh_token')) seen.refreshAsked = true;
    });
    await page.route('**/admin/**', (route) => {
      const headers = route.request().headers();
      if (seen.refreshAsked || headers.authorization !== `Bearer ${token}`) return route.continue();
      seen.expired++;
      return route.continue({ headers: { ...headers, authorization: `Bearer ${expiredToken}` } });
    });
    return seen;
  }

  async function openMaria(page: Page) {
    await page.locator('#chat-list').getByText('María').click();
    await expect.poll(() => page.textContent('#thread-name')).toBe('María');
    await expect.poll(() => page.locator('#messages').textContent()).toContain('Hola');
  }

  it('an ended session: a sign-in prompt over the open chat, which stays open after', async () => {
    const page = await newPage('desktop', 'en-US');
    await signIn(page, worker.url, tenant.owner.email);
    await openMaria(page);
    const token = must(await storedAccessToken(page), 'access token');
    // The session ends at Auth (its refresh token is revoked) and the access token has expired.
    const logout = await fetch(`${auth.url}/auth/v1/logout?scope=global`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, apikey: testBindings().SUPABASE_ANON_KEY ?? '' },
    });
    expect(logout.status).toBe(204);
    const seen = await expireToken(page, token);

    const prompt = page.locator('#signin[role=dialog]');
    await prompt.waitFor({ state: 'visible', timeout: 15_000 });
    expect(seen.expired).toBeGreaterThan(0);
    expect(await prompt.textContent()).toContain('Your session has ended');
    // The page underneath is the one the operator left.
    expect(await page.textContent('#thread-name')).toBe('María');
    await expectAccessible(page);
    await page.screenshot({ path: 'test-results/inbox-session-ended-desktop-en.png' });

    await prompt.locator('input[name=email]').fill(tenant.owner.email);
    await prompt.locator('input[name=password]').fill(OPERATOR_PASSWORD);
    await prompt.locator('button[type=submit]').click();
    await prompt.waitFor({ state: 'detached' });
    expect(await page.textContent('#thread-name')).toBe('María');
    // The page works again: a new customer message reaches the open chat.
    await customerWrites(sql, tenant, maria, 'Are you there?');
    await expect
      .poll(() => page.locator('#messages').textContent(), { timeout: 15_000 })
      .toContain('Are you there?');
    expect(await page.textContent('#thread-error')).toBe('');
    await page.context().close();
  }, 90_000);

  it('an expired access token with a live session: refreshed without a prompt', async () => {
    const page = await newPage('desktop', 'en-US');
    await signIn(page, worker.url, tenant.owner.email);
    await openMaria(page);
    const seen = await expireToken(page, must(await storedAccessToken(page), 'access token'));
    await customerWrites(sql, tenant, maria, 'Still open?');
    await expect
      .poll(() => page.locator('#messages').textContent(), { timeout: 15_000 })
      .toContain('Still open?');
    // The old token was refused at least once, and refreshing made that invisible.
    expect(seen.expired).toBeGreaterThan(0);
    expect(seen.refreshAsked).toBe(true);
    expect(await page.locator('#signin').count()).toBe(0);
    // The open chat's new messages are read as they arrive; the other chat keeps its badge.
    await customerWrites(sql, tenant, maria, 'Are you reading?');
    await expect
      .poll(() => page.locator('#messages').textContent(), { timeout: 15_000 })
      .toContain('Are you reading?');
    const row = (who: string) => page.locator('#chat-list li', { hasText: who });
    await expect.poll(() => row('María').locator('.unread').count(), { timeout: 15_000 }).toBe(0);
    expect(await row('ليلى حداد').locator('.unread').textContent()).toContain('1');
    // The tab's title counts what is unread (Layla's one message).
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(1) Switchboard inbox');
    await expect
      .poll(
        async () => {
          const [c] =
            await sql`select unread_count from conversations where id = ${maria.conversationId}`;
          return c?.unread_count;
        },
        { timeout: 15_000 },
      )
      .toBe(0);
    expect(await page.textContent('#thread-error')).toBe('');
    await page.context().close();
  }, 90_000);

  it('signs out: back to the sign-in page, and the session is gone after a reload', async () => {
    const page = await newPage('desktop', 'en-US');
    await signIn(page, worker.url, tenant.owner.email);
    await page.click('#signout');
    await page.waitForSelector('#signin-form');
    expect(await page.locator('#inbox').count()).toBe(0);
    await page.reload();
    await page.waitForSelector('#signin-form');
    expect(await page.locator('#inbox').count()).toBe(0);
    await page.context().close();
  }, 60_000);

  it('window closed: only an approved template, with its parameters, is offered and sent', async () => {
    const page = await newPage('desktop', 'en-US');
    await signIn(page, worker.url, tenant.owner.email);
    await page.locator('#chat-list').getByText('Lucía').click();
    await page.waitForSelector('#template-form');
    expect(await page.locator('#composer').count()).toBe(0);
    expect(await page.textContent('#thread-window')).toContain('Window closed');
    await expect.poll(() => page.locator('#template-select option').count()).toBeGreaterThan(0);
    const names = await page.locator('#template-select option').allTextContents();
    // The paused template is not offered.
    expect(names.some((n) => n.startsWith('feedback_request'))).toBe(false);
    const reminder = must(
      names.find((n) => n.startsWith('appointment_reminder')),
      'appointment_reminder offered',
    );
    await page.selectOption('#template-select', { label: reminder });
    await page.fill('#template-body-first_name', 'Lucía');
    await page.fill('#template-body-date', 'Monday 3 March at 10:00');
    await expectAccessible(page);
    await page.screenshot({ path: 'test-results/inbox-template-desktop-en.png' });
    await page.click('#template-form button[type=submit]');
    await expect
      .poll(() => page.locator('#messages .msg.outbound').count(), { timeout: 15_000 })
      .toBe(1);
    expect(await page.textContent('#thread-error')).toBe('');
    const [sent] = await sql`select m.payload from messages m join conversations c
      on c.id = m.conversation_id join contacts k on k.id = c.contact_id
      where k.name = 'Lucía' and m.tenant_id = ${tenant.tenantId} and m.direction = 'outbound'`;
    expect(JSON.stringify(sent?.payload)).toContain('Monday 3 March at 10:00');
    await page.context().close();
  }, 90_000);

  it('es-ES: the chrome in Spanish, the choice of language remembered', async () => {
    const page = await newPage('desktop', 'es-ES');
    await page.goto(worker.url);
    await page.waitForSelector('#signin-form');
    expect(await page.getAttribute('html', 'lang')).toBe('es');
    expect(await page.textContent('#signin-form button[type=submit]')).toBe('Entrar');
    await signIn(page, worker.url, tenant.owner.email);
    expect(await page.textContent('#view-agenda')).toBe('Agenda');
    expect(await page.textContent('#signout')).toBe('Salir');
    // The operator prefers English: the page switches and remembers it.
    await page.selectOption('#language', 'en');
    await expect.poll(() => page.textContent('#signout')).toBe('Sign out');
    await page.reload();
    await page.waitForSelector('#inbox');
    expect(await page.textContent('#signout')).toBe('Sign out');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.context().close();
  }, 60_000);

  for (const [locale, name] of [
    ['en-US', 'en'],
    ['ar', 'ar'],
  ] as const) {
    it(`desktop, ${locale}: sign-in, list and thread, take over and give back, accessibly`, async () => {
      const page = await newPage('desktop', locale);
      await page.goto(worker.url);
      await page.waitForSelector('#signin-form');
      expect(await page.getAttribute('html', 'lang')).toBe(name);
      expect(await page.getAttribute('html', 'dir')).toBe(name === 'ar' ? 'rtl' : 'ltr');
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/signin-desktop-${name}.png` });

      await submitSignIn(page, worker.url, tenant.owner.email);
      await page.waitForSelector('#inbox');
      expect(await page.textContent('#signout')).toBe(name === 'ar' ? 'تسجيل الخروج' : 'Sign out');
      await openMaria(page);
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/inbox-desktop-${name}.png` });

      // A chat of its own, so its lock starts off whatever the other tests did.
      const omar = await createConversation(sql, tenant, { name: `Omar ${name}` });
      await page.locator('#chat-list').getByText(`Omar ${name}`).click();
      await expect.poll(() => page.textContent('#thread-name')).toBe(`Omar ${name}`);
      const isLocked = async () =>
        (await sql`select is_locked from conversations where id = ${omar.conversationId}`)[0]
          ?.is_locked;
      const lock = page.locator('#lock-toggle');
      const takeOver = name === 'ar' ? 'تولّي المحادثة' : 'Take over';
      const giveBack = name === 'ar' ? 'إعادة إلى الروبوت' : 'Give back to the bot';
      expect(await lock.textContent()).toBe(takeOver);
      await lock.click();
      await expect.poll(isLocked).toBe(true);
      await expect.poll(() => lock.textContent()).toBe(giveBack);
      // Why it is locked, in the page's language (the API's reason is English).
      expect(await page.textContent('#thread-lock')).toContain(
        name === 'ar' ? 'تولّاها موظف' : 'taken over by an operator',
      );
      await lock.click();
      await expect.poll(isLocked).toBe(false);
      await expect.poll(() => lock.textContent()).toBe(takeOver);
      await page.context().close();
    }, 90_000);

    it(`phone 390×844, ${locale}: list → thread → back, the composer on screen and working`, async () => {
      const page = await newPage('phone', locale);
      await signIn(page, worker.url, tenant.owner.email);
      // The list alone fills the screen.
      await page.waitForSelector('#chat-list li');
      expect(await page.locator('#thread').count()).toBe(0);
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/inbox-phone-list-${name}.png` });

      await openMaria(page);
      expect(await page.isVisible('#chat-list')).toBe(false);
      const composer = page.locator('#composer-text');
      const box = must(await composer.boundingBox(), 'composer box');
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(SCREENS.phone.height);
      expect(box.height).toBeGreaterThanOrEqual(44);
      // Nothing wider than the screen; every control a thumb's size.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        SCREENS.phone.width,
      );
      const controls = await page
        .locator('.topbar button, .topbar select, #thread button, #thread select')
        .evaluateAll((els) =>
          els
            .filter((e) => (e as HTMLElement).offsetParent !== null)
            .map((e) => ({ id: e.id || e.className, ...e.getBoundingClientRect().toJSON() })),
        );
      for (const c of controls) {
        expect(c.height, c.id).toBeGreaterThanOrEqual(44);
        expect(c.width, c.id).toBeGreaterThanOrEqual(44);
      }

      // Shift+Enter is a new line; Enter sends.
      const reply = name === 'ar' ? 'أهلاً' : 'Hello';
      await composer.fill(`${reply} ${name}`);
      await composer.press('Shift+Enter');
      await composer.pressSequentially('2');
      expect(await composer.inputValue()).toBe(`${reply} ${name}\n2`);
      await composer.press('Enter');
      await expect
        .poll(() => page.locator('#messages .msg.outbound').last().textContent(), {
          timeout: 15_000,
        })
        .toContain(`${reply} ${name}\n2`);
      await expect.poll(() => composer.inputValue(), { timeout: 15_000 }).toBe('');
      expect(await page.textContent('#thread-error')).toBe('');
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/inbox-phone-thread-${name}.png` });

      await page.locator('#thread .back').click();
      await page.waitForSelector('#chat-list', { state: 'visible' });
      expect(await page.isVisible('#thread')).toBe(false);
      await page.context().close();
    }, 90_000);
  }
});
