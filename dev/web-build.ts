import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What wrangler serves as the Worker's static assets (`[assets] directory`); git-ignored. */
export const WEB_OUT_DIR = join(root, 'web/dist');

/**
 * Builds the operator page: web/src (TypeScript, Preact) bundled by esbuild into web/dist/app.js
 * and app.css, with supabase-js inside the bundle (no CDN: the local stack works offline, and
 * production serves what was tested), plus web/index.html. Run by `npm start`, `npm run deploy`
 * and the browser tests. Returns the gzip size of the page's JavaScript.
 */
export async function buildWebPage(): Promise<{ jsGzipBytes: number }> {
  const result = await build({
    entryPoints: { app: join(root, 'web/src/main.tsx') },
    outdir: WEB_OUT_DIR,
    bundle: true,
    minify: true,
    format: 'esm',
    // Code loaded on first use (the dashboard's chart library, web/src/dashboard/Chart.tsx) goes
    // into chunks of its own, fetched only by the screen that needs it.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: 'linked',
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  mkdirSync(WEB_OUT_DIR, { recursive: true });
  const files = [
    ...result.outputFiles.map((f) => ({ path: f.path, contents: f.contents })),
    {
      path: join(WEB_OUT_DIR, 'index.html'),
      contents: readFileSync(join(root, 'web/index.html')),
    },
  ];
  // Several test files build at once while another's workerd serves the folder: a file changes
  // only when its bytes do, and in one step (write aside, then rename).
  for (const file of files) {
    if (existsSync(file.path) && readFileSync(file.path).equals(file.contents)) continue;
    mkdirSync(dirname(file.path), { recursive: true });
    const aside = `${file.path}.${process.pid}.tmp`;
    writeFileSync(aside, file.contents);
    renameSync(aside, file.path);
  }
  const js = files.find((f) => f.path.endsWith('app.js'));
  return { jsGzipBytes: js ? gzipSync(js.contents).length : 0 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { jsGzipBytes } = await buildWebPage();
  console.log(
    `built ${relative(root, WEB_OUT_DIR)}/ (app.js ${(jsGzipBytes / 1024).toFixed(1)} KiB gzip)`,
  );
}
