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
export async function buildWebPage(): Promise<{ jsGzipBytes: number; widgetGzipBytes: number }> {
  const widget = await buildWidget();
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
  return { jsGzipBytes: js ? gzipSync(js.contents).length : 0, widgetGzipBytes: widget.gzipBytes };
}

/** The widget's budget (issue 13): what a business's visitors download, gzip. */
export const WIDGET_GZIP_BUDGET = 30 * 1024;

/**
 * The web chat widget (web/widget, docs/widget.md) as one classic script, web/dist/widget.js:
 * loaded by other sites' pages with `async`, so no modules and no chunks. Returns its bytes.
 */
export async function buildWidget(): Promise<{ bytes: Uint8Array; gzipBytes: number }> {
  const result = await build({
    entryPoints: [join(root, 'web/widget/widget.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const bytes = result.outputFiles[0]?.contents;
  if (!bytes) throw new Error('the widget build wrote nothing');
  const path = join(WEB_OUT_DIR, 'widget.js');
  mkdirSync(WEB_OUT_DIR, { recursive: true });
  if (!existsSync(path) || !readFileSync(path).equals(bytes)) {
    const aside = `${path}.${process.pid}.tmp`;
    writeFileSync(aside, bytes);
    renameSync(aside, path);
  }
  return { bytes, gzipBytes: gzipSync(bytes).length };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { jsGzipBytes, widgetGzipBytes } = await buildWebPage();
  console.log(
    `built ${relative(root, WEB_OUT_DIR)}/ (app.js ${(jsGzipBytes / 1024).toFixed(1)} KiB gzip, widget.js ${(widgetGzipBytes / 1024).toFixed(1)} KiB gzip)`,
  );
}
