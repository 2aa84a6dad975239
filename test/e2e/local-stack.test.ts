import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../chromium';
import { must } from '../must';

const haveChromium = chromiumAvailable(
  "the end-to-end test's browser step (npm start, the simulated customer and the offline reply still run)",
);

/**
 * The README's first command, for real: `npm start` on a fresh data folder (embedded Postgres,
 * every stand-in, the Worker in workerd), a customer message through `npm run simulate`, the
 * offline model's reply, a booking made and cancelled by a customer tapping the offered times'
 * buttons, and an operator answering from the inbox page in Chromium (the one step
 * that needs a browser, and the only one skipped without it).
 */
describe('npm start: the whole product on this machine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  // Against the Postgres server, the stack uses this run's database (the server keeps state between
  // runs); otherwise `npm start`'s own default, the embedded database in the data folder. Ports are
  // the OS's free ones, so this stack runs beside a developer's `npm start` and parallel runs.
  const { DATABASE_URL: _, ...inherited } = process.env;
  const env = {
    ...inherited,
    ...(inject('databaseKind') === 'server' ? { DATABASE_URL: inject('databaseUrl') } : {}),
    SWITCHBOARD_RANDOM_PORTS: '1',
    SWITCHBOARD_DATA_DIR: dataDir,
  };
  // Read from the banner once the stack is up.
  let base = '';
  let authUrl = '';
  let graphUrl = '';
  let tracesUrl = '';
  const ports: number[] = [];
  let stack: ChildProcess;
  let output = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    stack = spawn('npm', ['start'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    stack.stdout?.on('data', (d) => (output += d));
    stack.stderr?.on('data', (d) => (output += d));
    const deadline = Date.now() + 150_000;
    while (!output.includes('Ctrl-C stops everything')) {
      if (stack.exitCode !== null || Date.now() > deadline)
        throw new Error(`npm start failed:\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    base = /Operator inbox\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1] ?? '';
    authUrl = /Supabase Auth\s+(http:\/\/127\.0\.0\.1:\d+)\/auth\/v1/.exec(output)?.[1] ?? '';
    graphUrl = /Graph (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? '';
    tracesUrl = /Agent traces\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1] ?? '';
    // The machine's Postgres server (DATABASE_URL) is not the stack's to stop.
    const standIns =
      (/Stand-ins .*$/m.exec(output)?.[0] ?? '').split(
        inject('databaseKind') === 'server' ? 'Postgres' : '\u0000',
      )[0] ?? '';
    ports.push(
      ...[base, authUrl, tracesUrl, standIns].flatMap((text) =>
        [...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])),
      ),
    );
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (stack?.pid && stack.exitCode === null) {
      const exited = new Promise((r) => stack.once('exit', r));
      process.kill(-stack.pid, 'SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  async function operatorToken() {
    const res = await fetch(`${authUrl}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { apikey: 'local-anon-key', 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@sonrisa.test', password: 'switchboard-demo' }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** `npm run simulate` to the demo clinic's WhatsApp number, as a customer would. */
  async function simulate(...args: string[]) {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', 'simulate', '--', '--to', '15550100001', '--url', base, ...args],
      { env },
    );
    expect(stdout).toMatch(/^200 /m);
  }

  /** Asks `probe` once a second until it answers something. */
  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const ms = 60_000;
    const deadline = Date.now() + ms;
    for (;;) {
      const found = await probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  it('prints the URLs and logins, and serves health and the page', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Worker, Auth, Redis, QStash, Graph, and (embedded run) Postgres.
    expect(ports.length).toBeGreaterThanOrEqual(inject('databaseKind') === 'server' ? 5 : 6);
    expect(output).toContain('owner@sonrisa.test');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/`)).text()).toContain('Switchboard inbox');
  });

  it('searches the seeded knowledge by meaning (the embeddings stand-in): English finds Spanish', async () => {
    const headers = { authorization: `Bearer ${await operatorToken()}` };
    const res = await fetch(`${base}/admin/knowledge/search?q=teeth%20cleaning%20cost`, {
      headers,
    });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Array<{ title: string; snippet: string }> };
    expect(items[0]?.title).toBe('Precios');
    expect(items[0]?.snippet).toContain('60 €');
  });

  it('answers a simulated customer message with the offline model, visible to the operator', async () => {
    await simulate('--from', '34600999888', '--name', 'Paula', 'Hola, ¿a qué hora abrís?');
    const token = await operatorToken();
    const headers = { authorization: `Bearer ${token}` };
    let reply: { sender: string; content: string } | undefined;
    const deadline = Date.now() + 60_000;
    while (!reply && Date.now() < deadline) {
      const { items } = (await (
        await fetch(`${base}/admin/chats/summary`, { headers })
      ).json()) as {
        items: Array<{ id: string; display_name: string }>;
      };
      const chat = items.find((c) => c.display_name === 'Paula');
      if (chat) {
        const thread = (await (
          await fetch(`${base}/admin/chats/${chat.id}/messages`, { headers })
        ).json()) as {
          items: Array<{ sender: string; content: string }>;
        };
        reply = thread.items.find((m) => m.sender === 'agent');
      }
      if (!reply) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(reply?.content?.length).toBeGreaterThan(0);
    // The turn's run, exported as OpenTelemetry spans to the collector stand-in (its page too).
    type Span = { parentSpanId: string | null; attributes: Record<string, unknown> };
    let root: Span | undefined;
    const exported = Date.now() + 30_000;
    while (!root && Date.now() < exported) {
      const { traces } = (await (await fetch(`${tracesUrl}/api/traces`)).json()) as {
        traces: Array<{ spans: Span[] }>;
      };
      root = traces
        .flatMap((trace) => trace.spans)
        .find((span) => span.parentSpanId === null && span.attributes['switchboard.outcome']);
      if (!root) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(root?.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.system': 'switchboard.offline',
    });
    expect(await (await fetch(`${tracesUrl}/`)).text()).toContain('invoke_agent switchboard');
  }, 90_000);

  it.each([
    ['gupshup', '15550100011', /Gupshup (http:\/\/127\.0\.0\.1:\d+)/],
    ['ycloud', '+15550100021', /YCloud (http:\/\/127\.0\.0\.1:\d+)/],
  ] as const)(
    'a customer writes to the clinic’s number on %s: the agent answers through it',
    async (provider, number, standInUrl) => {
      const standIn = standInUrl.exec(output)?.[1] ?? '';
      expect(standIn).toMatch(/^http:/);
      const name = `Cliente ${provider}`;
      const { stdout } = await promisify(execFile)(
        'npm',
        [
          'run',
          'simulate',
          '--',
          '--provider',
          provider,
          '--to',
          number,
          '--stand-in',
          standIn,
          '--from',
          provider === 'gupshup' ? '5491155550101' : '15550199001',
          '--name',
          name,
          'Hola, ¿cuánto cuesta una limpieza?',
        ],
        { env },
      );
      expect(stdout).toMatch(/^200 /m);
      const headers = { authorization: `Bearer ${await operatorToken()}` };
      const reply = await waitFor(`the agent's reply on ${provider}`, async () => {
        const { items } = (await (
          await fetch(`${base}/admin/chats/summary`, { headers })
        ).json()) as {
          items: Array<{ id: string; display_name: string }>;
        };
        const chat = items.find((c) => c.display_name === name);
        if (!chat) return undefined;
        const thread = (await (
          await fetch(`${base}/admin/chats/${chat.id}/messages`, { headers })
        ).json()) as { items: Array<{ sender: string; content: string; status: string }> };
        return thread.items.find(
          (m) => m.sender === 'agent' && m.status !== 'queued' && m.status !== 'sending',
        );
      });
      expect(reply.content.length).toBeGreaterThan(0);
      // The provider's API got it, in its own request shape.
      const sends = (await (await fetch(`${standIn}/__sends`)).json()) as unknown;
      expect(JSON.stringify(sends)).toContain(
        provider === 'gupshup' ? '5491155550101' : '+15550199001',
      );
    },
    90_000,
  );

  it('books and cancels an appointment for a customer, buttons and a tap included', async () => {
    const customer = '34600777666';
    type Send = { to?: string; text?: { body: string }; interactive?: WhatsAppInteractive };
    type WhatsAppInteractive = {
      body: { text: string };
      action: { buttons?: Array<{ reply: { id: string; title: string } }> };
    };
    // What the Worker sent this customer since `since`, as the Graph stand-in recorded it.
    async function sendsSince(since: number) {
      const { requests } = (await (
        await fetch(`${graphUrl}/_control/requests?since=${since}`)
      ).json()) as { requests: Array<{ method: string; path: string; body: Send | null }> };
      return requests
        .filter((r) => r.method === 'POST' && r.path.endsWith('/messages'))
        .map((r) => r.body)
        .filter((b): b is Send => b?.to === customer);
    }
    const lastSeq = async () =>
      ((await (await fetch(`${graphUrl}/_control/requests`)).json()) as { lastSeq: number })
        .lastSeq;
    const replyMatching = (since: number, pattern: RegExp) =>
      waitFor(`reply matching ${pattern}`, async () =>
        (await sendsSince(since)).find((b) =>
          pattern.test(b.text?.body ?? b.interactive?.body.text ?? ''),
        ),
      );

    let since = await lastSeq();
    await simulate(
      '--from',
      customer,
      '--name',
      'Sofía',
      'Quiero una limpieza el martes por la mañana',
    );
    const offer = await waitFor('reply with buttons', async () =>
      (await sendsSince(since)).find((b) => b.interactive?.action.buttons),
    );
    const buttons = offer.interactive?.action.buttons ?? [];
    expect(buttons.length).toBe(3);
    for (const b of buttons) expect(b.reply.id).toMatch(/^slot:[\w-]+\.[\w-]+\.\d+:book$/);
    const slot = must(buttons[0], 'the first button').reply;

    since = await lastSeq();
    await simulate('--from', customer, '--reply-id', slot.id, '--reply-title', slot.title);
    await replyMatching(since, /queda reservada/);

    // The slot id ends in its start, in minutes since the epoch; the diary is by the clinic's days.
    const startsAt = new Date(Number(/\.(\d+):book$/.exec(slot.id)?.[1]) * 60_000);
    const day = startsAt.toLocaleDateString('en-CA', { timeZone: 'Europe/Madrid' });
    const headers = { authorization: `Bearer ${await operatorToken()}` };
    const sofias = async () => {
      const { items } = (await (
        await fetch(`${base}/admin/appointments?from=${day}&to=${day}`, { headers })
      ).json()) as {
        items: Array<{ contact_name: string | null; starts_at: string; status: string }>;
      };
      return items.filter((a) => a.contact_name === 'Sofía');
    };
    expect(await sofias()).toMatchObject([
      { starts_at: startsAt.toISOString(), status: 'confirmed' },
    ]);

    since = await lastSeq();
    await simulate('--from', customer, 'cancela mi cita');
    await replyMatching(since, /queda cancelada/);
    expect(await sofias()).toMatchObject([{ status: 'cancelled' }]);
  }, 150_000);

  it.skipIf(!haveChromium)(
    'lets an operator open the chat and reply from the inbox page',
    async () => {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
      await page.goto(base);
      await page.fill('input[name=email]', 'owner@sonrisa.test');
      await page.fill('input[name=password]', 'switchboard-demo');
      await page.click('button[type=submit]');
      // Exactly Paula: the demo's dashboard history has customers named "Paula G." and the like.
      await page.locator('#chat-list').getByText('Paula', { exact: true }).click();
      await page.fill('#composer-text', 'Hola Paula, te escribe Marta de la clínica.');
      await page.click('#composer button[type=submit]');
      // The Graph stand-in reports sent → delivered → read through signed webhooks.
      await page.locator('#messages').getByText('Hola Paula, te escribe Marta').waitFor();
      await expect
        .poll(() => page.locator('.msg.outbound .meta').last().textContent(), { timeout: 30_000 })
        .toContain('read');
      expect(await page.textContent('#thread-lock')).toContain('Human override');
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/inbox-operator-reply.png' });
      await page.close();
    },
    60_000,
  );
  it('stops every process it started on Ctrl-C', async () => {
    await browser?.close();
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      stack.once('exit', (code, signal) => r({ code, signal })),
    );
    // What a terminal's Ctrl-C does: SIGINT to the whole foreground process group (npm itself
    // then ends by that signal; dev/start.ts stops its children and exits 0).
    process.kill(-(stack.pid as number), 'SIGINT');
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    expect(output).toContain('[switchboard] stopping');
    // Worker, embedded Postgres, Auth, Redis, QStash and Graph stand-ins: nothing listens any more.
    for (const port of ports) {
      expect(await listening(port)).toBe(false);
    }
  }, 30_000);
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
