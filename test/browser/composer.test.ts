import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultTemplateFixtures,
  type MetaGraphStandIn,
  startMetaGraph,
  type TemplateFixture,
} from '../../dev/stand-ins/meta-graph';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { createConversation } from '../conversations';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../fixtures';
import { TEST_APP_SECRET } from '../harness';
import { waNumber } from '../meta-webhooks';
import { must } from '../must';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { editorOpened, expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/** An approved template with a header parameter and two body parameters. */
const VISIT: TemplateFixture = {
  id: '1100000000000042',
  name: 'visit_confirmed',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  parameter_format: 'POSITIONAL',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Visit {{1}}', example: { header_text: ['A-7'] } },
    {
      type: 'BODY',
      text: 'Hi {{1}}, see you on {{2}}.',
      example: { body_text: [['Ana', 'Monday']] },
    },
  ],
};

/** An approved template with an image header and a link button that takes a value. */
const TICKET: TemplateFixture = {
  id: '1100000000000043',
  name: 'visit_ticket',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  parameter_format: 'POSITIONAL',
  components: [
    {
      type: 'HEADER',
      format: 'IMAGE',
      example: { header_handle: ['https://scontent.example/ticket.png'] },
    },
    { type: 'BODY', text: 'Your ticket, {{1}}.', example: { body_text: [['Ana']] } },
    {
      type: 'BUTTONS',
      buttons: [
        {
          type: 'URL',
          text: 'Open ticket',
          url: 'https://clinic.example/t/{{1}}',
          example: ['https://clinic.example/t/A-7'],
        },
      ],
    },
  ],
};

/** What each language's run saves as a canned reply, and how it finds it again. */
const REPLY = {
  en: {
    title: 'Opening hours',
    text: 'We are open Monday to Friday, 9:00 to 20:00.',
    filter: 'open',
  },
  ar: { title: 'ساعات العمل', text: 'نحن نعمل من الاثنين إلى الجمعة.', filter: 'ساعات' },
} as const;

/**
 * The composer in Chromium against the real Worker: an owner saves a canned reply in the settings,
 * inserts it into a reply with "/" and the keyboard alone and sends it, sends a template with
 * header and body values from the picker (refused empty, previewed), then edits and deletes the
 * reply; at desktop and phone size, in English and Arabic (right-to-left), with no serious
 * accessibility violation.
 */
describe.skipIf(!haveChromium)('composer on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let graph: MetaGraphStandIn;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Composer Clinic');
    await givePassword(sql, tenant.owner.id);
    // No agent replies: the tests look at what the operator sends.
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${tenant.tenantId}`;
    await createConversation(sql, tenant, { name: 'María' });
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      accounts: [{ channel: 'whatsapp', ...waNumber(tenant) }],
      templates: { [tenant.accounts.whatsapp.wabaId]: [...defaultTemplateFixtures, VISIT, TICKET] },
      statusProgression: false,
    });
    worker = await startWorkerd({ SUPABASE_URL: auth.url, GRAPH_API_BASE_URL: graph.url });
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await Promise.all([auth?.close(), graph?.close()]);
    await sql?.end();
  });

  async function newPage(screen: keyof typeof SCREENS, locale: string): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
    return context.newPage();
  }

  for (const [screen, locale, lang] of [
    ['desktop', 'en-US', 'en'],
    ['phone', 'en-US', 'en'],
    ['desktop', 'ar', 'ar'],
    ['phone', 'ar', 'ar'],
  ] as const) {
    const shot = (view: string) => `test-results/composer-${view}-${screen}-${lang}.png`;

    it(`${screen}, ${locale}: a canned reply saved, inserted with "/" and sent; a template previewed and sent; the reply edited and deleted`, async () => {
      await sql`delete from canned_replies where tenant_id = ${tenant.tenantId}`;
      const reply = REPLY[lang];
      const page = await newPage(screen, locale);
      await signIn(page, worker.url, tenant.owner.email);

      // Settings → Canned replies: a refused title first (the API's message beside the field).
      await page.click('#view-settings');
      await page.click('#tab-canned');
      await page.click('#canned-add');
      await page.fill('#canned-title-input', '   ');
      await page.fill('#canned-text-input', reply.text);
      await page.click('#canned-save');
      await expect.poll(() => page.textContent('#canned-title-input-error')).not.toBe('');
      expect(await page.getAttribute('#canned-title-input', 'aria-invalid')).toBe('true');
      await page.fill('#canned-title-input', reply.title);
      await page.click('#canned-save');
      await expect.poll(() => page.textContent('#canned-admin-list')).toContain(reply.title);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        SCREENS[screen].width,
      );
      await expectAccessible(page);
      await page.screenshot({ path: shot('settings'), fullPage: true });

      // The inbox: "/" and part of the title filter the picker; the keyboard alone chooses.
      await page.click('#view-inbox');
      await page.locator('#chat-list').getByText('María').click();
      await expect.poll(() => page.textContent('#thread-name')).toBe('María');
      const composer = page.locator('#composer-text');
      await composer.click();
      await composer.pressSequentially(`/${reply.filter}`);
      const option = page.locator('#canned-list [role=option]');
      await expect.poll(() => option.count()).toBe(1);
      expect(await option.first().getAttribute('aria-selected')).toBe('true');
      expect(await composer.getAttribute('aria-activedescendant')).toBe(
        await option.first().getAttribute('id'),
      );
      // The picker and the reply box both on screen, within the screen's width.
      for (const selector of ['#canned-picker', '#composer-text']) {
        const box = must(await page.locator(selector).boundingBox(), selector);
        expect(box.y, selector).toBeGreaterThanOrEqual(0);
        expect(box.y + box.height, selector).toBeLessThanOrEqual(SCREENS[screen].height);
        expect(box.x + box.width, selector).toBeLessThanOrEqual(SCREENS[screen].width);
      }
      await expectAccessible(page);
      await page.screenshot({ path: shot('picker') });

      // Escape closes it and leaves the text; "/" typed again reopens it.
      await composer.press('Escape');
      expect(await page.locator('#canned-picker').count()).toBe(0);
      expect(await composer.inputValue()).toBe(`/${reply.filter}`);
      await composer.fill('');
      await page.click('#canned-open');
      await expect.poll(() => option.count()).toBe(1);
      await composer.press('ArrowDown');
      await composer.press('Enter');
      expect(await composer.inputValue()).toBe(reply.text);
      expect(await page.locator('#canned-picker').count()).toBe(0);

      // Edited before sending, then sent with Enter.
      await composer.press('End');
      await composer.pressSequentially(' 1');
      await composer.press('Enter');
      await expect
        .poll(() => page.locator('#messages .msg.outbound').last().textContent(), {
          timeout: 15_000,
        })
        .toContain(`${reply.text} 1`);
      await expect.poll(() => composer.inputValue(), { timeout: 15_000 }).toBe('');
      expect(await page.textContent('#thread-error')).toBe('');
      await page.screenshot({ path: shot('sent') });

      // A template with the window open: synced, refused empty (the messages by the fields),
      // previewed as it will be sent, sent.
      await page.click('#template-open');
      // The sync calls Meta (the Graph stand-in): under a loaded CI machine it can take seconds.
      const synced = page.waitForResponse((r) => r.url().endsWith('/admin/templates/sync'), {
        timeout: 15_000,
      });
      await page.click('#template-sync');
      const response = await synced;
      expect(response.status(), await response.text()).toBe(200);
      await expect
        .poll(() => page.textContent('#template-status'), { timeout: 15_000 })
        .not.toBe('');
      await page.selectOption('#template-select', { label: 'visit_confirmed (en_US, UTILITY)' });
      await page.click('#template-form button[type=submit]');
      // Each message beside its own field.
      await expect
        .poll(() => page.textContent('#template-header-1-error'))
        .toBe('must not be empty');
      for (const field of ['body-1', 'body-2']) {
        expect(await page.textContent(`#template-${field}-error`)).toBe('must not be empty');
        expect(await page.getAttribute(`#template-${field}`, 'aria-invalid')).toBe('true');
      }
      const visitor = lang === 'ar' ? 'ليلى' : 'Ana';
      await page.fill('#template-header-1', 'B-12');
      await page.fill('#template-body-1', visitor);
      await page.fill('#template-body-2', 'Monday 10:00');
      expect(await page.textContent('#template-preview')).toContain(
        `Visit B-12Hi ${visitor}, see you on Monday 10:00.`,
      );
      const submit = must(
        await page.locator('#template-form button[type=submit]').boundingBox(),
        'send template',
      );
      expect(submit.y + submit.height).toBeLessThanOrEqual(SCREENS[screen].height);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        SCREENS[screen].width,
      );
      await expectAccessible(page);
      await page.screenshot({ path: shot('template') });
      await page.click('#template-form button[type=submit]');
      // Sent, the reply box back.
      await page.waitForSelector('#composer-text');
      await expect
        .poll(
          async () =>
            JSON.stringify(
              (
                await sql`select payload from messages where tenant_id = ${tenant.tenantId}
                  and direction = 'outbound' and payload::text like '%B-12%'`
              )[0]?.payload,
            ),
          { timeout: 15_000 },
        )
        .toContain('B-12');

      // A template with an image header and a link button: the image's link and the button's
      // value go where Meta wants them.
      await page.click('#template-open');
      await page.selectOption('#template-select', { label: 'visit_ticket (en_US, UTILITY)' });
      const image = `https://cdn.example.test/${screen}-${lang}/ticket.png`;
      await page.fill('#template-header-link', image);
      await page.fill('#template-body-1', visitor);
      await page.fill('#template-button-0', `T-${screen}-${lang}`);
      expect(await page.textContent('#template-preview')).toContain('[Open ticket]');
      await page.screenshot({ path: shot('template-media') });
      await page.click('#template-form button[type=submit]');
      await page.waitForSelector('#composer-text');
      await expect
        .poll(
          async () =>
            (
              await sql`select payload from messages where tenant_id = ${tenant.tenantId}
                and direction = 'outbound' and payload::text like ${`%${image}%`}`
            )[0]?.payload as Record<string, unknown> | undefined,
          { timeout: 15_000 },
        )
        .toBeDefined();
      const [ticket] = await sql`select payload from messages where tenant_id = ${tenant.tenantId}
        and direction = 'outbound' and payload::text like ${`%${image}%`}`;
      expect(JSON.stringify(ticket?.payload)).toContain(`T-${screen}-${lang}`);

      // Back in settings: the reply edited, then deleted (the delete asks first).
      await page.click('#view-settings');
      await page.click('#tab-canned');
      const entry = page.locator('#canned-admin-list li').first();
      await entry.locator('button').first().click();
      await editorOpened(page, 'canned-title-input');
      await page.fill('#canned-text-input', `${reply.text} (2)`);
      await page.click('#canned-save');
      await expect
        .poll(() => page.textContent('#canned-admin-list'))
        .toContain(`${reply.text} (2)`);
      await entry.locator('button').nth(1).click();
      await entry.locator('button.danger').click();
      await expect.poll(() => page.locator('#canned-admin-list').count()).toBe(0);
      expect(await sql`select id from canned_replies where tenant_id = ${tenant.tenantId}`).toEqual(
        [],
      );
      await page.context().close();
    }, 120_000);
  }
});
