import { createHmac } from 'node:crypto';
import autocannon from 'autocannon';
import { encodeMetaBody, whatsappMessageBody } from '../dev/meta-payloads';
import { defaultTemplateFixtures, startMetaGraph } from '../dev/stand-ins/meta-graph';
import { startQStash } from '../dev/stand-ins/qstash';
import { startUpstashRedis } from '../dev/stand-ins/upstash-redis';
import { TEST_GRAPH_TOKEN, type TenantFixture } from '../test/fixtures';
import { TEST_APP_SECRET, TEST_PUBLIC_BASE_URL, testBindings } from '../test/harness';
import { waNumber } from '../test/meta-webhooks';
import { serveApp } from './serve-node';

const QSTASH_KEYS = { current: 'sig_bench_current', next: 'sig_bench_next' };

/**
 * The whole product for the load benchmarks: the app on Node with a shared pool, and the local
 * stand-ins (Upstash Redis, QStash, the Graph API) delivering into it over HTTP, as in production.
 * QStash really delivers the agent turns and sends, so "bot on" includes their load.
 */
export async function startBenchStack(
  databaseUrl: string,
  tenant: TenantFixture,
  options: { poolSize?: number } = {},
) {
  let appUrl = '';
  const redis = await startUpstashRedis({ token: 'bench-redis-token' });
  const qstash = await startQStash({
    token: 'bench-qstash-token',
    currentSigningKey: QSTASH_KEYS.current,
    nextSigningKey: QSTASH_KEYS.next,
    deliver: (req) => fetch(new Request(req.url.replace(TEST_PUBLIC_BASE_URL, appUrl), req)),
  });
  const graph = await startMetaGraph({
    appSecret: TEST_APP_SECRET,
    accessToken: TEST_GRAPH_TOKEN,
    deliverWebhook: (req) => fetch(new Request(req.url.replace(TEST_PUBLIC_BASE_URL, appUrl), req)),
    webhookUrl: `${TEST_PUBLIC_BASE_URL}/webhooks/meta`,
    accounts: [
      {
        channel: 'whatsapp',
        phoneNumberId: tenant.accounts.whatsapp.externalId,
        wabaId: tenant.accounts.whatsapp.wabaId,
        displayPhoneNumber: tenant.accounts.whatsapp.phone,
      },
    ],
    templates: { [tenant.accounts.whatsapp.wabaId]: defaultTemplateFixtures },
    statusProgression: false,
  });
  const app = await serveApp(
    databaseUrl,
    testBindings({
      DATABASE_URL: databaseUrl,
      UPSTASH_REDIS_REST_URL: redis.url,
      UPSTASH_REDIS_REST_TOKEN: 'bench-redis-token',
      QSTASH_URL: qstash.url,
      QSTASH_TOKEN: 'bench-qstash-token',
      QSTASH_CURRENT_SIGNING_KEY: QSTASH_KEYS.current,
      QSTASH_NEXT_SIGNING_KEY: QSTASH_KEYS.next,
      GRAPH_API_BASE_URL: graph.url,
    }),
    options,
  );
  appUrl = app.url;
  return {
    app,
    qstash,
    async close() {
      await app.close();
      await Promise.all([redis.close(), qstash.close(), graph.close()]);
    },
  };
}

/** One signed one-message WhatsApp webhook from one of `customers` numbers, as Meta sends it. */
export function signedWebhooks(tenant: TenantFixture, customers: number) {
  const number = waNumber(tenant);
  const prefix = `3468${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
  let sent = 0;
  return () => {
    const from = `${prefix}${String(sent % customers).padStart(4, '0')}`;
    const body = encodeMetaBody(
      whatsappMessageBody({
        ...number,
        from,
        id: `wamid.bench.${prefix}.${sent++}.${Math.random().toString(36).slice(2)}`,
        message: { type: 'text', text: `hola ${sent}` },
      }),
    );
    const signature = `sha256=${createHmac('sha256', TEST_APP_SECRET).update(body).digest('hex')}`;
    return {
      body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    };
  };
}

export type Load = {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  total: number;
};

/** autocannon against `url`/webhooks/meta: `connections` at once for `seconds`, a new body each. */
export async function loadWebhooks(
  url: string,
  next: () => { body: string; headers: Record<string, string> },
  options: { connections: number } & (
    | { seconds: number }
    | { amount: number; overallRate: number }
  ),
): Promise<Load> {
  const result = await autocannon({
    url: `${url}/webhooks/meta`,
    connections: options.connections,
    ...('seconds' in options
      ? { duration: options.seconds }
      : { amount: options.amount, overallRate: options.overallRate }),
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({ ...request, ...next() }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    total: result.requests.total,
  };
}
