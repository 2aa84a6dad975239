import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bookAppointment } from '../../db/appointments';
import { asTenant, connect } from '../../db/client';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { createSalon } from '../appointments';
import { chromiumAvailable, launchChromium } from '../chromium';
import { createConversation } from '../conversations';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { must } from '../must';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/** A zone without clock changes and far from UTC: times in the browser's zone would show. */
const ZONE = 'Asia/Dubai';
const tomorrow = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(
  new Date(Date.now() + 86_400_000),
);
const at = (hhmm: string) => new Date(`${tomorrow}T${hhmm}:00+04:00`);

/** Spaces and bidi marks differ between ICU builds; the digits and words must not. */
const bare = (text: string | null) => (text ?? '').replace(/[\s\u200e\u200f\u061c]/g, '');
const timeRange = (locale: string, start: Date, minutes: number) =>
  new Intl.DateTimeFormat(locale, {
    hour: 'numeric',
    minute: '2-digit',
    timeZone: ZONE,
  }).formatRange(start, new Date(start.getTime() + minutes * 60_000));

/**
 * The agenda on the operator page in Chromium against the real Worker: a day of a clinic in
 * Dubai's time, at desktop and phone size, in English and Arabic; an appointment is cancelled, one
 * opens its conversation, whose thread lists the customer's upcoming appointment.
 */
describe.skipIf(!haveChromium)('agenda on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let closeDb: () => Promise<void>;
  let tenant: TenantFixture;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;
  const ids = { cut: '', cleaning: '', toCancel: '' };

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Agenda Clinic');
    await givePassword(sql, tenant.owner.id);
    const salon = await createSalon(sql, tenant);
    await sql`update tenant_settings set time_zone = ${ZONE} where tenant_id = ${tenant.tenantId}`;
    const [cleaning] = await sql`insert into services (tenant_id, name, duration_minutes)
      values (${tenant.tenantId}, 'تنظيف الأسنان', 45) returning id`;
    const [ben] =
      await sql`insert into staff (tenant_id, name) values (${tenant.tenantId}, 'Ben') returning id`;
    await sql`insert into service_staff (tenant_id, service_id, staff_id)
      values (${tenant.tenantId}, ${must(cleaning, 'cleaning').id}, ${must(ben, 'Ben').id})`;
    ids.cut = salon.cut;
    ids.cleaning = must(cleaning, 'cleaning').id;
    const layla = await createConversation(sql, tenant, { name: 'ليلى حداد' });
    const [walkIn] = await sql`insert into contacts (tenant_id, channel, external_user_id, name)
      values (${tenant.tenantId}, 'whatsapp', '34600999888', 'Walk-in Wendy') returning id`;

    const db = connect(inject('databaseUrl'));
    closeDb = db.close;
    const operator = { by: 'operator' as const, userId: tenant.owner.id };
    await asTenant(db.db, tenant.tenantId, async (ctx) => {
      await bookAppointment(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        contactId: salon.contactId,
        conversationId: salon.conversationId,
        startsAt: at('10:00'),
        status: 'confirmed',
        actor: operator,
      });
      await bookAppointment(ctx, {
        serviceId: ids.cleaning,
        staffId: must(ben, 'Ben').id,
        contactId: layla.contactId,
        conversationId: layla.conversationId,
        startsAt: at('11:00'),
        status: 'pending',
        actor: operator,
      });
      const wendy = await bookAppointment(ctx, {
        serviceId: salon.cut,
        staffId: salon.ana,
        contactId: must(walkIn, 'walk-in').id,
        startsAt: at('12:30'),
        actor: operator,
      });
      ids.toCancel = wendy.id;
    });

    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    worker = await startWorkerd({ SUPABASE_URL: auth.url });
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await auth?.close();
    await closeDb?.();
    await sql?.end();
  });

  /** Signs in and shows tomorrow's agenda. */
  async function openAgenda(screen: keyof typeof SCREENS, locale: string): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
    const page = await context.newPage();
    await signIn(page, worker.url, tenant.owner.email);
    await page.click('#view-agenda');
    await page.waitForSelector('#agenda-days section');
    await page.click('#agenda-next');
    await expect.poll(() => page.locator('#agenda .appt').count()).toBe(3);
    return page;
  }

  async function expectTimes(page: Page, locale: string) {
    const times = page.locator('#agenda .appt-time');
    expect(await times.evaluateAll((els) => els.map((e) => e.getAttribute('datetime')))).toEqual(
      [at('10:00'), at('11:00'), at('12:30')].map((d) => d.toISOString()),
    );
    expect((await times.allTextContents()).map(bare)).toEqual([
      bare(timeRange(locale, at('10:00'), 30)),
      bare(timeRange(locale, at('11:00'), 45)),
      bare(timeRange(locale, at('12:30'), 30)),
    ]);
    await expect.poll(() => page.locator('#agenda').getByText('تنظيف الأسنان').count()).toBe(1);
    expect(await page.locator('#agenda').getByText('ليلى حداد').getAttribute('dir')).toBe('auto');
  }

  it('desktop, en-US: cancels one, opens another’s conversation with its upcoming appointment', async () => {
    const page = await openAgenda('desktop', 'en-US');
    await expectTimes(page, 'en-US');
    await expectAccessible(page);

    const wendy = page.locator('#agenda .appt', { hasText: 'Walk-in Wendy' });
    // Without a conversation it is not a button; with a status that allows it, it has actions.
    expect(await wendy.locator('button.appt-open').count()).toBe(0);
    await wendy.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => wendy.locator('.status').textContent()).toBe('Cancelled');
    expect(await wendy.getByRole('button').count()).toBe(0);
    const [row] = await sql`select status from appointments where id = ${ids.toCancel}`;
    expect(row?.status).toBe('cancelled');
    await page.screenshot({ path: 'test-results/agenda-desktop-en.png', fullPage: true });

    await page.locator('#agenda .appt', { hasText: 'María' }).locator('button.appt-open').click();
    await page.waitForSelector('#thread:not([hidden])');
    expect(await page.isVisible('#agenda')).toBe(false);
    await expect.poll(() => page.textContent('#thread-name')).toBe('María');
    const upcoming = page.locator('#thread-appointments li');
    await expect.poll(() => upcoming.count()).toBe(1);
    expect(await upcoming.textContent()).toContain('Haircut');
    expect(bare(await upcoming.textContent())).toContain(bare(timeRange('en-US', at('10:00'), 30)));
    await page.context().close();
  }, 90_000);

  for (const [screen, locale, name] of [
    ['phone', 'en-US', 'en'],
    ['desktop', 'ar', 'ar'],
    ['phone', 'ar', 'ar'],
  ] as const) {
    it(`${screen}, ${locale}: shows the day with its times, accessibly`, async () => {
      const page = await openAgenda(screen, locale);
      await expectTimes(page, locale);
      await expectAccessible(page);
      if (screen === 'phone') {
        // One column, nothing wider than the screen, every control a thumb's size.
        const widths = await page
          .locator('#agenda .appt')
          .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
        for (const right of widths) expect(right).toBeLessThanOrEqual(SCREENS.phone.width);
        const boxes = await page
          .locator('#agenda button, #agenda select, .topbar button')
          .evaluateAll((els) => els.map((e) => e.getBoundingClientRect()));
        for (const box of boxes) {
          expect(box.height).toBeGreaterThanOrEqual(44);
          expect(box.width).toBeGreaterThanOrEqual(44);
        }
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          SCREENS.phone.width,
        );
      }
      await page.screenshot({ path: `test-results/agenda-${screen}-${name}.png`, fullPage: true });
      await page.context().close();
    }, 90_000);
  }
});
