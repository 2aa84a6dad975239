import bcrypt from 'bcryptjs';
import type { Page } from 'playwright-core';
import type postgres from 'postgres';

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
