/**
 * `npm start`: the whole product on this machine, no accounts, no Docker. The real Worker runs in
 * `wrangler dev` (workerd) against local stand-ins that speak the hosted services' protocols:
 * embedded Postgres (PGlite over the wire protocol, or DATABASE_URL) behind a pooler standing in for
 * Hyperdrive, Supabase Auth, Upstash Redis REST and QStash, and the Meta Graph API. Ctrl-C stops
 * everything it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { migrateDatabase } from '../db/migrate';
import { parseEnv } from '../functions/env';
import { embedderFromEnv } from '../functions/lib/embeddings';
import { startDemoSite } from './demo-site';
import { startEmbeddedPostgres } from './embedded-postgres';
import {
  demoPassword,
  demoTenants,
  hyperdriveLocalConnectionString,
  localSecrets,
  ports,
  providerCallbackUrl,
} from './local-config';
import { startPooler } from './pooler';
import { demoSiteOrigins, seedDemo } from './seed';
import { embedUnembeddedArticles } from './seed-embeddings';
import { startEmbeddingsStandIn } from './stand-ins/embeddings';
import { startGupshup } from './stand-ins/gupshup';
import { freeLoopbackPort } from './stand-ins/http-server';
import { defaultTemplateFixtures, startMetaGraph } from './stand-ins/meta-graph';
import { followUpTemplateFixtures } from './stand-ins/meta-graph-templates';
import { startOtlpCollector } from './stand-ins/otlp-collector';
import { startQStash } from './stand-ins/qstash';
import { postgresUserStore, startSupabaseAuth } from './stand-ins/supabase-auth';
import { startUpstashRedis } from './stand-ins/upstash-redis';
import { startYCloud } from './stand-ins/ycloud';
import { buildWebPage } from './web-build';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Where the embedded database and generated config live; the end-to-end test points it elsewhere.
const localDir = process.env.SWITCHBOARD_DATA_DIR ?? join(root, '.local');
/**
 * `SWITCHBOARD_RANDOM_PORTS=1`: every server takes a free port the OS picks (the end-to-end test
 * runs a second stack this way, beside anything else on the machine); the banner prints them.
 */
const randomPorts = process.env.SWITCHBOARD_RANDOM_PORTS === '1';
const portFor = (fixed: number) => (randomPorts ? 0 : fixed);
let workerUrl = `http://127.0.0.1:${ports.worker}`;

type Closer = () => Promise<unknown> | unknown;
const closers: Closer[] = [];
let wrangler: ChildProcess | undefined;
let stopping = false;

function log(message: string) {
  console.log(`[switchboard] ${message}`);
}

/** `KEY=value` lines, as in .dev.vars; the developer's own values override the local defaults. */
function readDotenv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined && match[2] !== '') {
      out[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return out;
}

async function main() {
  mkdirSync(localDir, { recursive: true });
  // wrangler dev needs its ports up front: with random ports, ask the OS for two free ones.
  const workerPort = randomPorts ? await freeLoopbackPort() : ports.worker;
  const inspectorPort = randomPorts ? await freeLoopbackPort() : ports.inspector;
  // The demo business sites' port is the widget's allowed origin, seeded below: known up front.
  const demoSitePort = randomPorts ? await freeLoopbackPort() : ports.demoSite;
  workerUrl = `http://127.0.0.1:${workerPort}`;
  const overrides = readDotenv(join(root, '.dev.vars'));

  // 1. Postgres: the machine's own when DATABASE_URL is set, else embedded with data in localDir.
  let databaseUrl = process.env.DATABASE_URL ?? overrides.DATABASE_URL;
  let database: DatabaseInfo;
  if (databaseUrl) {
    database = { kind: 'server', url: databaseUrl };
  } else {
    const pg = await startEmbeddedPostgres({
      dataDir: join(localDir, 'pgdata'),
      port: portFor(ports.postgres),
      nextFreePortIfBusy: true,
    });
    closers.push(() => pg.close());
    databaseUrl = pg.url;
    database = {
      kind: 'embedded',
      url: pg.url,
      dataDir: join(localDir, 'pgdata'),
      ...(pg.busyPort !== undefined ? { busyPort: pg.busyPort } : {}),
    };
  }
  for (const line of databaseLogLines(database, root)) log(line);
  await migrateDatabase(databaseUrl);
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  closers.push(() => sql.end({ timeout: 1 }));
  await seedDemo(sql, new Date(), { widgetOrigins: demoSiteOrigins(demoSitePort) });
  log('migrations applied, demo data loaded');

  // The Worker reaches Postgres through a pooler, as it reaches Supabase through Hyperdrive: its
  // per-request clients share a few long-lived server connections instead of each opening one.
  // In front of the embedded database too, although PGlite's socket server already multiplexes
  // onto its one backend: the Worker's connections then behave the same on both databases
  // (startup, queueing, session reset), and a burst waits for a connection instead of meeting
  // pglite-socket's connection limit. Migrations, seeding and the stand-ins connect directly.
  // PGlite has one backend behind all its connections, so in front of it the pooler gets one
  // server connection: with more, one connection's `DISCARD ALL` would drop the statements the
  // pooler believes another still has prepared (PGlite runs one statement at a time anyway).
  const pooler = await startPooler({
    targetUrl: databaseUrl,
    maxServerConnections: database.kind === 'embedded' ? 1 : 10,
  });
  closers.push(() => pooler.close());

  // 2. Stand-ins for the hosted services.
  const auth = await startSupabaseAuth({
    port: portFor(ports.auth),
    jwtSecret: localSecrets.jwtSecret,
    users: postgresUserStore(sql),
  });
  const redis = await startUpstashRedis({
    port: portFor(ports.redis),
    token: localSecrets.redisToken,
    redisUrl: process.env.REDIS_URL,
    keyPrefix: 'switchboard:',
  });
  const qstash = await startQStash({
    port: portFor(ports.qstash),
    token: localSecrets.qstashToken,
    currentSigningKey: localSecrets.qstashCurrentSigningKey,
    nextSigningKey: localSecrets.qstashNextSigningKey,
  });
  const graph = await startMetaGraph({
    port: portFor(ports.graph),
    appSecret: localSecrets.metaAppSecret,
    accessToken: localSecrets.graphAccessToken,
    webhookUrl: `${workerUrl}/webhooks/meta`,
    accounts: demoTenants.flatMap((t) => [
      {
        channel: 'whatsapp' as const,
        phoneNumberId: t.whatsapp.phoneNumberId,
        wabaId: t.whatsapp.wabaId,
        displayPhoneNumber: t.whatsapp.displayPhone,
      },
      { channel: 'messenger' as const, pageId: t.messengerPageId },
      { channel: 'instagram' as const, igId: t.instagramId },
    ]),
    // The seeded templates (dev/seed.ts): the default catalogue and the follow-up ones.
    templates: Object.fromEntries(
      demoTenants.map((t) => [
        t.whatsapp.wabaId,
        [...defaultTemplateFixtures, ...followUpTemplateFixtures],
      ]),
    ),
    statusDelayMs: 1500,
  });
  // The demo numbers carried by Gupshup and YCloud: each provider's API, posting callbacks (the
  // provider's way: Gupshup's secret in the URL, YCloud's signed body) to the Worker.
  const gupshup = await startGupshup({
    port: portFor(ports.gupshup),
    accounts: demoTenants.map((t) => ({
      appName: t.gupshup.appName,
      apiKey: localSecrets.gupshupApiKey,
      source: t.gupshup.phone,
      callbackUrl: providerCallbackUrl(workerUrl, 'gupshup', t.gupshup.accountId),
    })),
    statusDelayMs: 1500,
  });
  const ycloud = await startYCloud({
    port: portFor(ports.ycloud),
    accounts: demoTenants.map((t) => ({
      phone: t.ycloud.phone,
      apiKey: localSecrets.ycloudApiKey,
      webhookSecret: localSecrets.ycloudWebhookSecret,
      callbackUrl: providerCallbackUrl(workerUrl, 'ycloud', t.ycloud.accountId),
      wabaId: t.ycloud.wabaId,
    })),
    statusDelayMs: 1500,
  });
  closers.push(gupshup.close, ycloud.close);
  // Knowledge search by meaning: a deterministic multilingual stand-in for OpenAI's embeddings
  // endpoint. An empty EMBEDDINGS_BASE_URL in .dev.vars turns it off (full-text search only).
  const embeddings = await startEmbeddingsStandIn({ port: portFor(ports.embeddings) });
  // Where the Worker exports each agent run as OpenTelemetry spans; its page lists them.
  const otlp = await startOtlpCollector({ port: portFor(ports.otlp) });
  closers.push(auth.close, redis.close, qstash.close, graph.close, embeddings.close, otlp.close);

  // 3. The Worker's configuration: local values, then the developer's .dev.vars on top.
  const vars: Record<string, string> = {
    ENVIRONMENT: 'development',
    APP_VERSION: `${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}-local`,
    LOG_LEVEL: 'info',
    PUBLIC_BASE_URL: workerUrl,
    META_APP_ID: localSecrets.metaAppId,
    META_APP_SECRET: localSecrets.metaAppSecret,
    META_VERIFY_TOKEN: localSecrets.metaVerifyToken,
    GRAPH_API_BASE_URL: graph.url,
    GUPSHUP_API_BASE_URL: gupshup.url,
    YCLOUD_API_BASE_URL: ycloud.url,
    WHATSAPP_ALLOW_LIVE_SEND: 'true',
    UPSTASH_REDIS_REST_URL: redis.url,
    UPSTASH_REDIS_REST_TOKEN: localSecrets.redisToken,
    QSTASH_URL: qstash.url,
    QSTASH_TOKEN: localSecrets.qstashToken,
    QSTASH_CURRENT_SIGNING_KEY: localSecrets.qstashCurrentSigningKey,
    QSTASH_NEXT_SIGNING_KEY: localSecrets.qstashNextSigningKey,
    SUPABASE_URL: auth.url,
    SUPABASE_ANON_KEY: localSecrets.anonKey,
    SUPABASE_JWT_SECRET: localSecrets.jwtSecret,
    CREDENTIALS_ENCRYPTION_KEY: localSecrets.encryptionKey,
    WIDGET_TOKEN_SECRET: localSecrets.widgetTokenSecret,
    EMBEDDINGS_BASE_URL: embeddings.baseUrl,
    EMBEDDINGS_MODEL: embeddings.model,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.tracesUrl,
    ...overrides,
  };
  delete vars.DATABASE_URL; // the Worker reaches Postgres through its Hyperdrive binding
  // Fail here, naming the variable, rather than on the first request.
  const env = parseEnv({ ...vars, HYPERDRIVE: { connectionString: pooler.url } });
  // The seeded articles were written with SQL, not through the API that queues their embedding.
  const embedder = embedderFromEnv(env);
  if (embedder) {
    await embedUnembeddedArticles(sql, embedder).then(
      (n) => log(`knowledge search by meaning: ${n} article(s) embedded (${embedder.model})`),
      (err) =>
        log(
          `knowledge search by meaning: embedding the articles failed (${err}); by words only until they change`,
        ),
    );
  } else {
    log('knowledge search by meaning is off (no EMBEDDINGS_BASE_URL): full-text search only');
  }
  const envFile = join(localDir, 'worker.env');
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n'),
  );

  // 4. The operator page, compiled (web/src → web/dist, supabase-js bundled).
  await buildWebPage();

  // 5. The real Worker in workerd.
  wrangler = spawn(
    'wrangler',
    [
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(workerPort),
      '--env-file',
      envFile,
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      join(localDir, 'wrangler-state'),
      '--show-interactive-dev-session=false',
      // `info`: the Worker's own lines (functions/lib/logger.ts writes console.info/warn/error)
      // show, wrangler's chatter (printed at `log`) does not.
      '--log-level',
      'info',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: hyperdriveLocalConnectionString(
          pooler.url,
        ),
        WRANGLER_SEND_METRICS: 'false',
        // Offline machine: don't try to download the Request.cf object from Cloudflare.
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      },
    },
  );
  wrangler.on('exit', (code) => {
    if (!stopping) {
      console.error(`[switchboard] wrangler dev exited (${code}); stopping.`);
      void stop(1);
    }
  });
  await waitForHealth();

  // The Worker's cron (outbox sweeper) does not fire by itself under wrangler dev.
  const sweeper = setInterval(() => {
    fetch(`${workerUrl}/cdn-cgi/local/scheduled?cron=*+*+*+*+*`).catch(() => {});
  }, 30_000);
  closers.push(() => clearInterval(sweeper));

  // A fake business site per demo tenant with the chat widget on it (another origin: CORS).
  const demoSite = await startDemoSite({
    port: demoSitePort,
    workerUrl,
    businesses: demoTenants.map((t) => ({
      slug: t.slug,
      name: t.name,
      widgetKey: t.widget.key,
      blurb: t.description,
    })),
  });
  closers.push(() => demoSite.close());

  console.log(
    startupBanner({
      workerUrl,
      demoSiteUrl: demoSite.url,
      authUrl: auth.url,
      redisUrl: redis.url,
      qstashUrl: qstash.url,
      graphUrl: graph.url,
      gupshupUrl: gupshup.url,
      ycloudUrl: ycloud.url,
      embeddingsUrl: embeddings.url,
      tracesUrl: otlp.url,
      database,
      pooler: { url: pooler.url, maxServerConnections: pooler.maxServerConnections },
      root,
    }),
  );
}

async function waitForHealth() {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${workerUrl}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the Worker did not become healthy within 2 minutes');
}

/** Where the stack's database is: the machine's server, or the embedded one and its files. */
export type DatabaseInfo =
  | { kind: 'server'; url: string }
  | {
      kind: 'embedded';
      url: string;
      /** The data directory actually used (under SWITCHBOARD_DATA_DIR when that is set). */
      dataDir: string;
      /** The fixed port that was busy, when the embedded database listens on another one. */
      busyPort?: number;
    };

/** A path as a developer would type it: relative inside the project, absolute elsewhere. */
export function displayPath(path: string, root: string): string {
  const inside = relative(root, path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

/** The log lines saying which database the stack uses (never its password). */
export function databaseLogLines(database: DatabaseInfo, root: string): string[] {
  const host = new URL(database.url).host;
  if (database.kind === 'server') return [`using Postgres at ${host} (DATABASE_URL)`];
  const port = new URL(database.url).port;
  return [
    ...(database.busyPort !== undefined
      ? [`port ${database.busyPort} was busy; embedded Postgres is on ${port}`]
      : []),
    `embedded Postgres (PGlite) on ${host} — data in ${displayPath(database.dataDir, root)}`,
  ];
}

export interface BannerInfo {
  workerUrl: string;
  /** The demo business sites with the web chat widget (dev/demo-site.ts). */
  demoSiteUrl?: string;
  authUrl: string;
  redisUrl: string;
  qstashUrl: string;
  graphUrl: string;
  /** The Gupshup and YCloud stand-ins (the demo numbers those providers carry). */
  gupshupUrl: string;
  ycloudUrl: string;
  /** The OpenAI-compatible embeddings stand-in (knowledge search by meaning). */
  embeddingsUrl?: string;
  /** The OTLP collector stand-in: its page lists the agent runs' traces. */
  tracesUrl: string;
  database: DatabaseInfo;
  /** The pooler the Worker's Hyperdrive binding points at. */
  pooler: { url: string; maxServerConnections: number };
  /** The project folder, for showing paths inside it relatively. */
  root: string;
}

/** What `npm start` prints once everything is up (pure, so it is tested). */
export function startupBanner(info: BannerInfo): string {
  const { workerUrl, database } = info;
  const postgresHost = new URL(database.url).host;
  const poolerHost = new URL(info.pooler.url).host;
  const busy =
    database.kind === 'embedded' && database.busyPort !== undefined
      ? ` (${database.busyPort} was busy)`
      : '';
  const data =
    database.kind === 'embedded'
      ? `embedded Postgres, data in ${displayPath(database.dataDir, info.root)}`
      : `Postgres at ${postgresHost} (DATABASE_URL)`;
  const [a, b] = demoTenants;
  return `
  Switchboard is running.

  Operator inbox   ${workerUrl}/
  API (OpenAPI)    ${workerUrl}/openapi.json     health: ${workerUrl}/healthz
  Webhook (Meta)   ${workerUrl}/webhooks/meta   verify token: ${localSecrets.metaVerifyToken}
  Supabase Auth    ${info.authUrl}/auth/v1${info.demoSiteUrl ? `\n  Chat widget      ${info.demoSiteUrl}/   (demo business sites: ${demoTenants.map((t) => `${info.demoSiteUrl}/${t.slug}`).join('  ')})` : ''}
  Agent traces     ${info.tracesUrl}/   (OTLP collector stand-in: each agent run's spans)
  WhatsApp via BSP ${workerUrl}/webhooks/gupshup/{account} (Gupshup ${info.gupshupUrl})  ${workerUrl}/webhooks/ycloud/{account} (YCloud ${info.ycloudUrl})
  Stand-ins        Redis ${info.redisUrl}  QStash ${info.qstashUrl}  Graph ${info.graphUrl}${info.embeddingsUrl ? `  Embeddings ${info.embeddingsUrl}` : ''}  Pooler ${poolerHost}  Postgres ${postgresHost}${busy}
  Database         ${data}
                   the Worker's Hyperdrive binding → pooler ${poolerHost} (at most ${info.pooler.maxServerConnections} server connections)

  Demo logins (password: ${demoPassword})
    ${a?.name}: ${a?.users.map((u) => `${u.email} (${u.role})`).join(', ')}
    ${b?.name}: ${b?.users.map((u) => `${u.email} (${u.role})`).join(', ')}

  Send a customer message:
    npm run simulate -- --to ${a?.whatsapp.displayPhone} --from 34600111222 "Hola, ¿tenéis cita el martes?"
    npm run simulate -- --channel messenger --to ${b?.messengerPageId} --from 7001 "Hi! Are you open Sunday?"
    npm run simulate -- --provider gupshup --to ${a?.gupshup.phone} --from 5491155550101 "Hola, ¿precio de limpieza?"
    npm run simulate -- --provider ycloud --to ${b?.ycloud.phone} --from 15550199001 "Hi, any slot Friday?"

  Ctrl-C stops everything.
`;
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  if (wrangler && wrangler.exitCode === null) {
    wrangler.kill('SIGINT');
    await new Promise((r) => {
      const timer = setTimeout(() => {
        wrangler?.kill('SIGKILL');
        r(null);
      }, 5000);
      wrangler?.once('exit', () => {
        clearTimeout(timer);
        r(null);
      });
    });
  }
  for (const close of closers.reverse()) {
    await Promise.resolve()
      .then(close)
      .catch(() => {});
  }
  process.exit(code);
}

// Run only as `npm start` (tsx dev/start.ts): tests import the banner functions above.
const entryPoint = process.argv[1] ? realpathSync(resolve(process.argv[1])) : '';
if (entryPoint === realpathSync(fileURLToPath(import.meta.url))) {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  main().catch(async (err) => {
    console.error(`[switchboard] could not start: ${err instanceof Error ? err.message : err}`);
    await stop(1);
  });
}
