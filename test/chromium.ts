import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), driven by playwright-core: no browser download. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser steps can run here. Without Chromium they skip, loudly; under `CI=true`
 * they are required, so a CI machine missing it fails instead of passing without them.
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${what} must run in CI: ${CHROMIUM} is missing`);
  console.warn(`\n*** SKIPPING ${what}: ${CHROMIUM} not found (apt-get install chromium) ***\n`);
  return false;
}

/** Headless Chromium with what a test machine needs off (sandbox, GPU, background traffic). */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
