import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import {
  cspViolations,
  expectAccessible,
  givePassword,
  signIn,
  submitSignIn,
} from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/**
 * The operator page in a real browser against the real Worker (workerd) and the Supabase Auth
 * stand-in: the same supabase-js code that runs in production signs in and calls the API.
 */
describe.skipIf(!haveChromium)('operator page in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'Browser Clinic');
    await givePassword(sql, tenant.owner.id);
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    worker = await startWorkerd({ SUPABASE_URL: auth.url });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await auth?.close();
    await sql?.end();
  });

  it('signs an operator in and shows their business', async () => {
    const page = await browser.newPage();
    const refused = cspViolations(page);
    await signIn(page, worker.url, tenant.owner.email);
    // Sign-in talks to the Supabase project (another origin): the policy names it, nothing else.
    await expectAccessible(page);
    expect(refused).toEqual([]);
    expect(await page.textContent('#tenant-name')).toBe('Browser Clinic');
    expect(await page.textContent('#operator-email')).toContain('(owner)');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/operator-signed-in.png' });
    await page.close();
  });

  // Reported, not asserted (no timed tests): docs/operator-page.md quotes it.
  it('reports how long the first render takes', async () => {
    const page = await browser.newPage();
    await page.goto(worker.url);
    await page.waitForSelector('#signin-form');
    const firstRender = await page.evaluate(() => Math.round(performance.now()));
    await signIn(page, worker.url, tenant.owner.email);
    const signedIn = await page.evaluate(() => Math.round(performance.now()));
    console.log(
      `[operator page] sign-in form ${firstRender} ms after navigation; inbox ${signedIn} ms after navigation, sign-in included`,
    );
    expect(firstRender).toBeGreaterThan(0);
    await page.close();
  });

  it('cannot be framed by another site (frame-ancestors, X-Frame-Options)', async () => {
    const page = await browser.newPage();
    const refused = cspViolations(page);
    await page.setContent(`<iframe src="${worker.url}/" title="framed"></iframe>`);
    await expect.poll(() => refused.length).toBeGreaterThan(0);
    expect(refused.join('\n')).toMatch(/frame-ancestors/);
    await page.close();
  });

  it('shows the reason when the password is wrong', async () => {
    const page = await browser.newPage();
    await submitSignIn(page, worker.url, tenant.owner.email, 'wrong password');
    await expect
      .poll(() => page.textContent('#signin-error'))
      .toMatch(/invalid login credentials/i);
    expect(await page.isHidden('#inbox')).toBe(true);
    await page.close();
  });
});
