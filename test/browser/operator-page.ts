import { readFileSync } from 'node:fs';
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
  // Evaluated, not added as a <script>: the page's Content-Security-Policy refuses inline scripts.
  if (!(await page.evaluate(() => 'axe' in window)))
    await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run: () => Promise<AxeResults> } }).axe.run(),
  );
  const grave = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(grave).toEqual([]);
}

/**
 * Waits until an editor the page just opened has put the cursor in its first field (`id`), as it
 * does once it is on screen. Typing into another field before that is a race a person never runs
 * (the editor's focus lands between Playwright focusing a field and inserting the text).
 */
export async function editorOpened(page: Page, id: string) {
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe(id);
}

/**
 * What the page's Content-Security-Policy refused from now on (Chromium reports each refusal as a
 * console error): a policy too tight for the page shows up here, not as a silently broken screen.
 */
export function cspViolations(page: Page): string[] {
  const refused: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      refused.push(message.text());
  });
  return refused;
}
