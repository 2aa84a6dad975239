import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMetaBody, randomWamid, whatsappMessageBody } from '../../dev/meta-payloads';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { customerPhone } from '../meta-webhooks';
import { must } from '../must';
import { connectProviderNumber, type ProviderNumber } from '../providers';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { editorOpened, expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/** What each language's run writes into the knowledge base and searches for. */
const ENTRY = {
  en: {
    title: 'Parking',
    body: 'Free parking behind the clinic.',
    edit: ' The car park is open day and night.',
    question: 'where can I park the car',
  },
  ar: {
    title: 'موقف السيارات',
    body: 'يوجد موقف مجاني خلف العيادة.',
    edit: ' الموقف مفتوح ليلًا ونهارًا.',
    question: 'أين موقف السيارات',
  },
} as const;

/**
 * The owners' and admins' screens on the operator page in Chromium against the real Worker:
 * settings (reply mode, debounce, a refused then accepted escalation contact, kept across a
 * reload), the knowledge base (add, edit, find by search, delete) and a failed webhook replayed
 * (still dead, then stored once its number is connected), at desktop and phone size, in English
 * and Arabic; an agent gets none of them.
 */
describe.skipIf(!haveChromium)('admin screens on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let gupshup: ProviderNumber;
  const widgetAccount = crypto.randomUUID();
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Admin Clinic');
    // A number Gupshup carries and a site widget, for the settings' channel list.
    gupshup = await connectProviderNumber(sql, tenant, 'gupshup');
    await sql`insert into channel_accounts (id, tenant_id, channel, external_id, display_name)
      values (${widgetAccount}, ${tenant.tenantId}, 'web', ${`pk_live_${widgetAccount.replaceAll('-', '')}`}, 'Admin Clinic website')`;
    await sql`insert into widgets (tenant_id, channel_account_id, allowed_origins, title)
      values (${tenant.tenantId}, ${widgetAccount}, '["https://admin-clinic.example"]', 'Admin Clinic')`;
    await givePassword(sql, tenant.owner.id);
    await givePassword(sql, tenant.agent.id);
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

  async function newPage(screen: keyof typeof SCREENS, locale: string): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
    return context.newPage();
  }

  /** On a phone: nothing wider than the screen, every control a thumb's size. */
  async function expectFitsPhone(page: Page) {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      SCREENS.phone.width,
    );
    const boxes = await page
      .locator(
        '#manage button, #manage select, #manage textarea, #manage input:not([type=checkbox], [type=radio]), #manage .choice, .topbar button',
      )
      .evaluateAll((els) =>
        els
          .map((e) => ({ html: e.outerHTML.slice(0, 80), box: e.getBoundingClientRect() }))
          .filter(({ box }) => box.width > 0),
      );
    for (const { html, box } of boxes) {
      expect(box.height, html).toBeGreaterThanOrEqual(44);
      expect(box.width, html).toBeGreaterThanOrEqual(44);
      expect(box.right, html).toBeLessThanOrEqual(SCREENS.phone.width);
    }
  }

  /** A delivery for a number of this business's WABA that nobody connected yet, kept as dead. */
  async function deadWebhook(number: string): Promise<string> {
    const body = whatsappMessageBody({
      wabaId: tenant.accounts.whatsapp.wabaId,
      phoneNumberId: number,
      displayPhoneNumber: '15550009999',
      from: customerPhone(),
      id: randomWamid(),
      message: { type: 'text', text: 'for the number added later' },
    });
    const [row] =
      await sql`insert into webhook_events (id, tenant_id, object, raw_body, outcome, reason, attempts)
      values (${crypto.randomUUID()}, ${tenant.tenantId}, 'whatsapp_business_account', ${encodeMetaBody(body)}, 'dead',
        ${`no whatsapp channel account ${number}`}, 1)
      returning id`;
    return must(row, 'the dead event').id;
  }

  for (const [screen, locale, lang] of [
    ['desktop', 'en-US', 'en'],
    ['phone', 'en-US', 'en'],
    ['desktop', 'ar', 'ar'],
    ['phone', 'ar', 'ar'],
  ] as const) {
    const shot = (view: string) => `test-results/admin-${view}-${screen}-${lang}.png`;

    it(`${screen}, ${locale}: settings saved, knowledge edited and found, a dead webhook replayed`, async () => {
      await sql`update tenant_settings set reply_mode = 'off', debounce_seconds = 8,
          escalation_contacts = '[]' where tenant_id = ${tenant.tenantId}`;
      const debounce = 10 + Math.floor(Math.random() * 200);
      const page = await newPage(screen, locale);
      await signIn(page, worker.url, tenant.owner.email);
      await page.click('#view-settings');

      // Settings: reply mode and debounce saved, and still there after a reload.
      await page.waitForSelector('#settings-form');
      expect(await page.isChecked('input[name=reply_mode][value=off]')).toBe(true);
      await page.check('input[name=reply_mode][value=approval]');
      await page.fill('#set-debounce_seconds', String(debounce));
      // A contact the API refuses: its message shows beside the number, nothing is saved.
      await page.click('#add-contact');
      await page.fill('#contact-0-name', 'Ana');
      await page.fill('#contact-0-whatsapp', 'call me');
      await page.click('#settings-save');
      await expect
        .poll(() => page.textContent('#contact-0-whatsapp-error'))
        .toContain('international format');
      expect(await page.getAttribute('#contact-0-whatsapp', 'aria-invalid')).toBe('true');
      expect(await page.textContent('#settings-status')).toBe('');
      await expectAccessible(page);
      await page.screenshot({ path: shot('settings-refused'), fullPage: true });
      const [before] = await sql`select reply_mode from tenant_settings
        where tenant_id = ${tenant.tenantId}`;
      expect(before?.reply_mode).toBe('off');

      await page.fill('#contact-0-whatsapp', '+34600000001');
      await page.click('#settings-save');
      await expect.poll(() => page.textContent('#settings-status')).not.toBe('');
      expect(await page.textContent('#contact-0-whatsapp-error')).toBe('');
      const [saved] = await sql`select reply_mode, debounce_seconds, escalation_contacts
        from tenant_settings where tenant_id = ${tenant.tenantId}`;
      expect(saved).toEqual({
        reply_mode: 'approval',
        debounce_seconds: debounce,
        escalation_contacts: [{ name: 'Ana', whatsapp: '+34600000001' }],
      });
      await page.reload();
      await page.waitForSelector('#settings-form');
      expect(await page.isChecked('input[name=reply_mode][value=approval]')).toBe(true);
      expect(await page.inputValue('#set-debounce_seconds')).toBe(String(debounce));
      expect(await page.inputValue('#contact-0-whatsapp')).toBe('+34600000001');
      // The channels: the Gupshup number with where its callbacks go (never its secret), and the
      // site widget with the tag for its pages.
      const provided = page.locator('#channels-list li[data-provider=gupshup]');
      expect(await provided.textContent()).toContain(`/webhooks/gupshup/${gupshup.id}`);
      expect(await provided.textContent()).not.toContain(gupshup.webhookSecret);
      const widget = page.locator('#channels-list li[data-channel=web]');
      expect(await widget.textContent()).toContain(
        `data-key="pk_live_${widgetAccount.replaceAll('-', '')}"`,
      );
      expect(await widget.textContent()).toContain('https://admin-clinic.example');
      await page.locator('#channels').screenshot({ path: shot('channels') });
      await expectAccessible(page);
      if (screen === 'phone') await expectFitsPhone(page);
      await page.screenshot({ path: shot('settings'), fullPage: true });
      await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${tenant.tenantId}`;

      // Knowledge base: add, edit, find by search, delete.
      const entry = ENTRY[lang];
      const title = `${entry.title} ${screen}`;
      await page.click('#tab-knowledge');
      await page.click('#kb-add');
      await editorOpened(page, 'kb-title');
      await page.fill('#kb-title', title);
      await page.fill('#kb-body', entry.body);
      expect(await page.inputValue('#kb-language')).toBe(lang);
      await page.click('#kb-save');
      const row = page.locator('#kb-list li', { hasText: title });
      await expect.poll(() => row.count()).toBe(1);
      expect(await page.textContent('#kb-status')).toContain(title);
      await row.getByRole('button', { name: lang === 'en' ? 'Edit' : 'تعديل' }).click();
      await editorOpened(page, 'kb-title');
      expect(await page.inputValue('#kb-body')).toBe(entry.body);
      await page.fill('#kb-body', `${entry.body}${entry.edit}`);
      await page.click('#kb-save');
      await expect
        .poll(() => row.locator('.kb-body').textContent())
        .toBe(`${entry.body}${entry.edit}`);

      await page.fill('#kb-search', entry.question);
      await page.click('#kb-search-go');
      const hit = page.locator('#kb-hits li', { hasText: title });
      await expect.poll(() => hit.count()).toBe(1);
      await page.screenshot({ path: shot('knowledge-search'), fullPage: true });
      await hit.locator('button').click();
      await page.waitForSelector('#kb-form');
      expect(await page.inputValue('#kb-title')).toBe(title);
      await expectAccessible(page);
      if (screen === 'phone') await expectFitsPhone(page);
      await page.screenshot({ path: shot('knowledge-edit'), fullPage: true });
      await page
        .locator('#kb-form')
        .getByRole('button', { name: lang === 'en' ? 'Cancel' : 'إلغاء' })
        .click();

      const remove = lang === 'en' ? 'Delete' : 'حذف';
      await row.getByRole('button', { name: remove }).click();
      await expectAccessible(page);
      await page.screenshot({ path: shot('knowledge'), fullPage: true });
      await row.getByRole('button', { name: remove }).click();
      await expect.poll(() => row.count()).toBe(0);
      expect(
        await sql`select 1 from knowledge_articles where tenant_id = ${tenant.tenantId} and title = ${title}`,
      ).toHaveLength(0);
      // The search on screen is asked again: the deleted entry is no longer found.
      await expect.poll(() => hit.count()).toBe(0);

      // Failed webhooks: replayed while the number is unknown (still dead), then once connected.
      const number = `17${Date.now()}`;
      const eventId = await deadWebhook(number);
      await page.click('#tab-webhooks');
      // Its reason names the number until the replay stores it.
      const event = page.locator(`#webhook-list li[data-id="${eventId}"]`);
      await event.waitFor();
      expect(await event.textContent()).toContain(number);
      expect(await event.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-/);
      const replay = event.getByRole('button', {
        name: lang === 'en' ? 'Replay' : 'إعادة المعالجة',
      });
      await replay.click();
      await expect.poll(() => event.locator('.replay-result.dead').count()).toBe(1);
      await expectAccessible(page);
      if (screen === 'phone') await expectFitsPhone(page);
      await page.screenshot({ path: shot('webhooks'), fullPage: true });

      await sql`insert into channel_accounts (tenant_id, channel, external_id, waba_id, display_name)
        values (${tenant.tenantId}, 'whatsapp', ${number}, ${tenant.accounts.whatsapp.wabaId}, 'Second number')`;
      await replay.click();
      await expect.poll(() => event.locator('.replay-result.processed').count()).toBe(1);
      const [stored] =
        await sql`select outcome, attempts from webhook_events where id = ${eventId}`;
      expect(stored).toEqual({ outcome: 'processed', attempts: 3 });
      await page.screenshot({ path: shot('webhooks-replayed'), fullPage: true });
      await page.context().close();
    }, 120_000);

    it(`${screen}, ${locale}: opening hours, booking rules and an API key saved; refused values save nothing`, async () => {
      await sql`update tenant_settings set
          business_hours = ${sql.json({ mon: [['09:00', '14:00']], sun: [['10:00', '13:00']] })},
          slot_step_minutes = 15, reminder_offsets_minutes = ${sql.json([1440, 120])},
          follow_up_min_days_apart = 7, trace_message_text = false, trace_endpoint = null,
          trace_header_names = '[]'
        where tenant_id = ${tenant.tenantId}`;
      await sql`delete from private.trace_export_headers where tenant_id = ${tenant.tenantId}`;
      const traceSecret = `sk-lf-${crypto.randomUUID()}`;
      await sql`delete from private.agent_model_keys where tenant_id = ${tenant.tenantId}`;
      const apiKey = `sk-test-${crypto.randomUUID().replaceAll('-', '')}`;
      const page = await newPage(screen, locale);
      await signIn(page, worker.url, tenant.owner.email);
      await page.click('#view-settings');
      await page.waitForSelector('#settings-form');
      expect(await page.inputValue('#set-reminder_offsets_minutes')).toBe('1440, 120');
      expect(await page.inputValue('#hours-sun-0-from')).toBe('10:00');

      // A second range on Monday that ends before it starts, and a slot step of 1 minute: the
      // API's messages beside the day and the field, and nothing saved, not even the key.
      await page.click('#hours-mon-add');
      await page.fill('#hours-mon-1-from', '16:00');
      await page.fill('#hours-mon-1-to', '15:00');
      await page.fill('#set-slot_step_minutes', '1');
      // The follow-ups' frequency cap over its 90 days: refused beside its field too.
      await page.fill('#set-follow_up_min_days_apart', '91');
      await page.fill('#set-api_key', apiKey);
      await page.click('#settings-save');
      await expect
        .poll(() => page.textContent('#hours-mon-error'))
        .toContain('a range must end after it starts');
      expect(await page.textContent('#set-slot_step_minutes-error')).not.toBe('');
      expect(await page.getAttribute('#hours-mon-1-to', 'aria-invalid')).toBe('true');
      expect(await page.getAttribute('#hours-mon-0-to', 'aria-invalid')).toBeNull();
      expect(await page.getAttribute('#set-slot_step_minutes', 'aria-invalid')).toBe('true');
      expect(await page.textContent('#set-follow_up_min_days_apart-error')).not.toBe('');
      expect(await page.getAttribute('#set-follow_up_min_days_apart', 'aria-invalid')).toBe('true');
      expect(await page.textContent('#hours-tue-error')).toBe('');
      expect(await page.textContent('#settings-status')).toBe('');
      await expectAccessible(page);
      await page.locator('#hours-mon').scrollIntoViewIfNeeded();
      await page.screenshot({
        path: shot('settings-hours-refused'),
        fullPage: true,
      });
      const [unchanged] = await sql`select business_hours, slot_step_minutes
        from tenant_settings where tenant_id = ${tenant.tenantId}`;
      expect(unchanged).toEqual({
        business_hours: { mon: [['09:00', '14:00']], sun: [['10:00', '13:00']] },
        slot_step_minutes: 15,
      });
      expect(
        await sql`select 1 from private.agent_model_keys where tenant_id = ${tenant.tenantId}`,
      ).toHaveLength(0);

      // Corrected: Monday 9–14 and 16–20, Sunday closed, slots every 30 minutes, reminders a day
      // and an hour before, and the key of the business's own.
      await page.fill('#hours-mon-1-to', '20:00');
      await page.click('#hours-sun-0-remove');
      expect(await page.textContent('#hours-sun-state')).toBe(lang === 'en' ? 'Closed' : 'مغلق');
      await page.fill('#set-slot_step_minutes', '30');
      await page.fill('#set-follow_up_min_days_apart', '14');
      // A monthly AI budget of US$0.50 that stops the AI when spent.
      await page.fill('#set-ai_monthly_budget_usd', '0.5');
      await page.check('#set-ai_budget_hard_stop');
      // Traces of the AI carry the conversation's text from now on, and go to the business's own
      // Langfuse project.
      await page.check('#set-trace_message_text');
      await page.fill(
        '#set-trace_endpoint',
        'https://cloud.langfuse.com/api/public/otel/v1/traces',
      );
      await page.fill('#set-trace_public_key', 'pk-lf-clinic');
      await page.fill('#set-trace_secret_key', traceSecret);
      // Reminders that are not minutes are refused on the page, before anything is sent.
      await page.fill('#set-reminder_offsets_minutes', 'the day before');
      await page.click('#settings-save');
      await expect
        .poll(() => page.textContent('#set-reminder_offsets_minutes-error'))
        .toBe(
          lang === 'en'
            ? 'Write whole minutes separated by commas, e.g. 1440, 120.'
            : 'اكتب دقائق كاملة مفصولة بفواصل، مثلًا 1440, 120.',
        );
      // In Arabic, as a receptionist may type them: Arabic-Indic digits and the Arabic comma.
      await page.fill('#set-reminder_offsets_minutes', lang === 'en' ? '1440, 60' : '١٤٤٠، ٦٠');
      const reading = await page.textContent('#set-reminder_offsets_minutes-reading');
      if (lang === 'en') expect(reading).toBe('Reminders go out 1 day and 1 hour before.');
      else expect(reading).toMatch(/يوم/);
      await page.click('#settings-save');
      await expect.poll(() => page.textContent('#settings-status')).not.toBe('');
      expect(await page.textContent('#hours-mon-error')).toBe('');
      const [saved] = await sql`select business_hours, slot_step_minutes, reminder_offsets_minutes,
          follow_up_min_days_apart, ai_monthly_budget_usd, ai_budget_hard_stop, trace_message_text
        from tenant_settings where tenant_id = ${tenant.tenantId}`;
      expect(saved).toEqual({
        business_hours: {
          mon: [
            ['09:00', '14:00'],
            ['16:00', '20:00'],
          ],
          sun: [],
        },
        slot_step_minutes: 30,
        reminder_offsets_minutes: [1440, 60],
        follow_up_min_days_apart: 14,
        ai_monthly_budget_usd: 0.5,
        ai_budget_hard_stop: true,
        trace_message_text: true,
      });
      // This month's runs cost US$0.75 (one run, whichever screen comes first): over the budget,
      // the page says so.
      const [contact] = await sql`insert into contacts (tenant_id, channel, external_user_id)
        values (${tenant.tenantId}, 'whatsapp', ${`3460${Date.now() % 10_000_000}`}) returning id`;
      const [conv] = await sql`insert into conversations (tenant_id, contact_id, channel_account_id)
        values (${tenant.tenantId}, ${contact?.id}, ${tenant.accounts.whatsapp.id}) returning id`;
      await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome, cost_usd)
        values (${tenant.tenantId}, ${conv?.id}, ${`turn-budget-${tenant.tenantId}`}, 'gpt-4.1-mini',
          'replied', 0.75)
        on conflict (correlation_id) do nothing`;
      // The key is stored encrypted in the private schema; the page shows only its last four.
      const [stored] =
        await sql`select api_key from private.agent_model_keys where tenant_id = ${tenant.tenantId}`;
      expect(stored?.api_key).toMatch(/^v1:[^:]+:[^:]+$/);
      expect(stored?.api_key).not.toContain(apiKey.slice(8, 20));
      // The Langfuse keys too: sealed in the private schema, never on the page again.
      const [sealed] =
        await sql`select headers from private.trace_export_headers where tenant_id = ${tenant.tenantId}`;
      expect(sealed?.headers).toMatch(/^v1:[^:]+:[^:]+$/);
      expect(sealed?.headers).not.toContain('pk-lf-clinic');
      const shownNowhere = async () => {
        expect(await page.textContent('#api-key-status')).toContain(apiKey.slice(-4));
        expect(await page.inputValue('#set-api_key')).toBe('');
        const everything = await page.evaluate(() =>
          [
            document.documentElement.outerHTML,
            ...[...document.querySelectorAll('input')].map((i) => i.value),
          ].join(' '),
        );
        expect(everything).not.toContain(apiKey.slice(0, -4));
        expect(everything).not.toContain(traceSecret);
        expect(await page.inputValue('#set-trace_secret_key')).toBe('');
      };
      await shownNowhere();

      await page.reload();
      await page.waitForSelector('#settings-form');
      expect(await page.inputValue('#hours-mon-0-from')).toBe('09:00');
      expect(await page.inputValue('#hours-mon-1-to')).toBe('20:00');
      expect(await page.locator('#hours-sun input').count()).toBe(0);
      expect(await page.textContent('#hours-sun-state')).toBe(lang === 'en' ? 'Closed' : 'مغلق');
      expect(await page.inputValue('#set-slot_step_minutes')).toBe('30');
      expect(await page.inputValue('#set-follow_up_min_days_apart')).toBe('14');
      expect(await page.inputValue('#set-ai_monthly_budget_usd')).toBe('0.5');
      expect(await page.isChecked('#set-ai_budget_hard_stop')).toBe(true);
      expect(await page.textContent('#ai-budget-spent')).toContain(
        lang === 'en' ? '$0.75' : 'المُنفق',
      );
      expect(await page.textContent('#ai-budget-over')).toBe(
        lang === 'en'
          ? "This month's AI budget is spent: the AI hands new messages to a person."
          : 'نفدت ميزانية الذكاء الاصطناعي لهذا الشهر: يحيل الذكاء الاصطناعي الرسائل الجديدة إلى شخص.',
      );
      expect(await page.inputValue('#set-reminder_offsets_minutes')).toBe('1440, 60');
      expect(await page.isChecked('#set-trace_message_text')).toBe(true);
      const target = await page.textContent('#trace-export-target');
      expect(target).toContain('https://cloud.langfuse.com/api/public/otel/v1/traces');
      expect(target).toContain('Authorization');
      expect(target).toContain(lang === 'en' ? 'Traces go to:' : 'تُرسل التتبّعات إلى:');
      await shownNowhere();
      await expectAccessible(page);
      if (screen === 'phone') await expectFitsPhone(page);
      // The settings scroll inside the page: each picture shows its part.
      await page.locator('#set-business_hours').scrollIntoViewIfNeeded();
      await page.screenshot({
        path: shot('settings-hours'),
        fullPage: true,
      });
      for (const [part, id] of [
        ['booking', '#set-booking'],
        ['follow-ups', '#set-follow-ups'],
        ['budget', '#set-ai_budget'],
        ['traces', '#set-traces'],
        ['model', '#set-ai_model'],
      ] as const) {
        await page.locator(id).scrollIntoViewIfNeeded();
        await page.screenshot({ path: shot(`settings-${part}`), fullPage: true });
      }

      // Removing the key and the trace endpoint: asked for with Save, gone from the private schema.
      await page.click('#trace-export-remove');
      expect(await page.textContent('#trace-export-target')).not.toContain('langfuse');
      await page.click('#api-key-remove');
      expect(await page.textContent('#api-key-status')).not.toContain(apiKey.slice(-4));
      await page.click('#settings-save');
      // Saved: the page no longer offers to keep it, nor to remove it.
      await expect.poll(() => page.locator('#api-key-keep').count()).toBe(0);
      expect(await page.locator('#api-key-remove').count()).toBe(0);
      expect(
        await sql`select 1 from private.agent_model_keys where tenant_id = ${tenant.tenantId}`,
      ).toHaveLength(0);
      await expect.poll(() => page.locator('#trace-export-remove').count()).toBe(0);
      expect(
        await sql`select 1 from private.trace_export_headers where tenant_id = ${tenant.tenantId}`,
      ).toHaveLength(0);
      expect(
        (
          await sql`select trace_endpoint from tenant_settings where tenant_id = ${tenant.tenantId}`
        )[0]?.trace_endpoint,
      ).toBeNull();
      await page.context().close();
    }, 120_000);
  }

  for (const [screen, locale, lang] of [
    ['desktop', 'en-US', 'en'],
    ['phone', 'ar', 'ar'],
    ['desktop', 'ar', 'ar'],
    ['phone', 'en-US', 'en'],
  ] as const) {
    it(`${screen}, ${locale}: model prices set, refused, added and reset`, async () => {
      await sql`delete from model_prices where tenant_id = ${tenant.tenantId}`;
      const page = await newPage(screen, locale);
      await signIn(page, worker.url, tenant.owner.email);
      await page.click('#view-settings');
      const mini = page.locator('#ai-prices-table tr[data-model="gpt-4.1-mini"]');
      await mini.waitFor();
      expect(await mini.locator('td.rate').allTextContents()).toEqual(['0.4', '0.1', '1.6']);

      // A model the list lacks: no name, then no output price, are refused where they were typed.
      const model = `llama-3.3-70b-${screen}-${lang}`;
      await page.click('#ai-prices-add');
      await page.click('#ai-price-form button[type=submit]');
      expect(await page.textContent('#ai-price-model-error')).toBe(
        lang === 'en'
          ? 'Give the model id, e.g. gpt-4.1-mini.'
          : 'اكتب معرّف النموذج، مثل gpt-4.1-mini.',
      );
      await page.fill('#ai-price-model', model);
      await page.fill('#ai-price-input_usd_per_million', '0.6');
      await page.fill('#ai-price-cached_input_usd_per_million', '0.6');
      await page.click('#ai-price-form button[type=submit]');
      await expect
        .poll(() => page.textContent('#ai-price-output_usd_per_million-error'))
        .not.toBe('');
      expect(await page.getAttribute('#ai-price-output_usd_per_million', 'aria-invalid')).toBe(
        'true',
      );
      await expectAccessible(page);
      await page.locator('#ai-price-form').scrollIntoViewIfNeeded();
      await page.screenshot({
        path: `test-results/admin-prices-refused-${screen}-${lang}.png`,
        fullPage: true,
      });
      expect(await sql`select 1 from model_prices where model = ${model}`).toHaveLength(0);
      await page.fill('#ai-price-output_usd_per_million', '0.8');
      await page.click('#ai-price-form button[type=submit]');
      const added = page.locator(`#ai-prices-table tr[data-model="${model}"]`);
      await added.waitFor();
      expect(await page.textContent('#ai-prices-status')).toContain(model);

      // The list price of gpt-4.1-mini replaced by the business's own, then brought back.
      await mini.locator('button').first().click();
      expect(await page.inputValue('#ai-price-model')).toBe('gpt-4.1-mini');
      await page.fill('#ai-price-input_usd_per_million', '0.3');
      await page.click('#ai-price-form button[type=submit]');
      await expect.poll(() => mini.locator('td.rate').first().textContent()).toBe('0.3');
      const own = await sql`select model, input_usd_per_million as input from model_prices
        where tenant_id = ${tenant.tenantId} order by model`;
      expect(own).toEqual(
        expect.arrayContaining([
          { model: 'gpt-4.1-mini', input: 0.3 },
          { model, input: 0.6 },
        ]),
      );
      await expectAccessible(page);
      if (screen === 'phone') await expectFitsPhone(page);
      await page.locator('#ai-prices').scrollIntoViewIfNeeded();
      await page.screenshot({
        path: `test-results/admin-prices-${screen}-${lang}.png`,
        fullPage: true,
      });

      await mini.locator('button').nth(1).click();
      await expect.poll(() => mini.locator('td.rate').first().textContent()).toBe('0.4');
      expect(
        await sql`select 1 from model_prices where tenant_id = ${tenant.tenantId} and model = 'gpt-4.1-mini'`,
      ).toHaveLength(0);
      await page.context().close();
    }, 120_000);
  }

  it('an agent has no settings in the topbar, and is told so at a settings link', async () => {
    const page = await newPage('desktop', 'en-US');
    await signIn(page, worker.url, tenant.agent.email);
    await page.waitForSelector('#view-agenda');
    expect(await page.locator('#view-settings').count()).toBe(0);
    for (const view of ['settings', 'knowledge', 'webhooks']) {
      await page.goto(`${worker.url}/#${view}`);
      await page.waitForSelector('#manage-refused');
      expect(await page.textContent('#manage-refused')).toContain('owners and admins');
      expect(await page.locator('#settings, #knowledge, #webhooks').count()).toBe(0);
    }
    await expectAccessible(page);
    await page.screenshot({ path: 'test-results/admin-refused-desktop-en.png', fullPage: true });
    // Not only hidden: the API refuses an agent's change and the webhook list.
    const statuses = await page.evaluate(async (tenantId) => {
      const key = Object.keys(localStorage).find((k) => k.startsWith('sb-')) ?? '';
      const { access_token } = JSON.parse(localStorage.getItem(key) ?? '{}');
      const headers = {
        authorization: `Bearer ${access_token}`,
        'x-tenant-id': tenantId,
        'content-type': 'application/json',
      };
      const patch = await fetch('/admin/settings', {
        method: 'PATCH',
        headers,
        body: JSON.stringify({ reply_mode: 'auto' }),
      });
      const list = await fetch('/admin/webhook-events?outcome=dead', { headers });
      return [patch.status, list.status];
    }, tenant.tenantId);
    expect(statuses).toEqual([403, 403]);
    await page.getByRole('button', { name: 'Back to the inbox' }).click();
    await page.waitForSelector('#no-thread');
    expect(new URL(page.url()).hash).toBe('');
    await page.context().close();
  }, 60_000);
});
