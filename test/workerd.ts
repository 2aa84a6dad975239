import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { hyperdriveLocalConnectionString } from '../dev/local-config';
import { freeLoopbackPort } from '../dev/stand-ins/http-server';
import { buildWebPage } from '../dev/web-build';
import { testBindings } from './harness';

/**
 * Runs the Worker as `npm start` and production do: bundled by wrangler, in workerd, reaching this
 * run's database through the Hyperdrive binding, serving the freshly built operator page.
 * `bindings` override the test configuration.
 */
export async function startWorkerd(bindings: Record<string, string> = {}) {
  // wrangler serves web/dist as the static assets and refuses to start without it.
  await buildWebPage();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-workerd-'));
  const port = await freeLoopbackPort();
  // Two workerd instances (smoke and browser tests run in parallel) must not share the default
  // inspector port.
  const inspectorPort = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const { DATABASE_URL: _, ...vars } = testBindings({ PUBLIC_BASE_URL: url, ...bindings });
  const envFile = join(dir, 'worker.env');
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n'),
  );
  let output = '';
  const wrangler: ChildProcess = spawn(
    'wrangler',
    [
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--env-file',
      envFile,
      '--persist-to',
      join(dir, 'state'),
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: hyperdriveLocalConnectionString(
          inject('databaseUrl'),
        ),
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
      },
    },
  );
  wrangler.stdout?.on('data', (d) => (output += d));
  wrangler.stderr?.on('data', (d) => (output += d));

  async function stop() {
    if (wrangler.exitCode === null) {
      const exited = new Promise((r) => wrangler.once('exit', r));
      wrangler.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (wrangler.exitCode === null) wrangler.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null) break;
    const status = await fetch(`${url}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 0) return { url, stop, output: () => output };
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new Error(`wrangler dev did not start:\n${output}`);
}
