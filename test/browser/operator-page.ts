import { createRequire } from 'node:module';
import type { AxeResults } from 'axe-core';
import bcrypt from 'bcryptjs';
import type { Page } from 'playwright-core';
import type postgres from 'postgres';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);

/** The screens every view is tried on: a laptop and a phone (iPhone 12-14 size). */
export const SCREENS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/** What the browser tests' operators sign in with (the Auth stand-in checks the bcrypt hash). */
export const OPERATOR_PASSWORD = 'correct horse battery staple';

export async function givePassword(sql: postgres.Sql, userId: string) {
  await sql`update auth.users set encrypted_password = ${await bcrypt.hash(OPERATOR_PASSWORD, 4)}
    where id = ${userId}`;
}

/** Fills the sign-in form; `password` other than the operator's is for the failing case. */
export async function submitSignIn(
  page: Page,
  url: string,
  email: string,
  password = OPERATOR_PASSWORD,
) {
  await page.goto(url);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

/** Signs in and waits for the inbox. */
export async function signIn(page: Page, url: string, email: string) {
  await submitSignIn(page, url, email);
  await page.waitForSelector('#inbox:not([hidden])');
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page) {
  if (!(await page.evaluate(() => 'axe' in window)))
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run: () => Promise<AxeResults> } }).axe.run(),
  );
  const grave = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(grave).toEqual([]);
}
