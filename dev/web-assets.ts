import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The operator page loads supabase-js as a static file served with the page (not from a CDN: the
 * local stack works offline, and production serves what was tested). Copied from node_modules
 * before `wrangler dev` / `wrangler deploy`; web/vendor/ is git-ignored.
 */
export function copyWebVendorFiles(): void {
  mkdirSync(join(root, 'web/vendor'), { recursive: true });
  copyFileSync(
    join(root, 'node_modules/@supabase/supabase-js/dist/umd/supabase.js'),
    join(root, 'web/vendor/supabase.js'),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) copyWebVendorFiles();
