import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import postgres from 'postgres';
import { connect } from '../db/client';
import { newApp } from '../functions/app';

/**
 * Serving for the throughput benchmarks: the app factory (`newApp`, exactly as the Worker builds it)
 * on Node with `@hono/node-server`, and a floor beside it in the same process. Both get one
 * postgres.js pool with the production driver settings (`fetch_types: false`, prepared statements
 * on) shared by all requests, which is what Hyperdrive gives the Worker in production. `wrangler
 * dev` is not used: it tops out near 220 req/s here with no database work at all, so it would
 * measure the local runtime, not the app.
 */
export const POOL_SIZE = Number(process.env.BENCH_POOL_SIZE ?? 16);

type Served = { url: string; close: () => Promise<void> };

function pool(databaseUrl: string) {
  return postgres(databaseUrl, {
    max: POOL_SIZE,
    fetch_types: false,
    connect_timeout: 5,
    onnotice: () => {},
  });
}

async function listen(fetch: (req: Request) => Response | Promise<Response>) {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The app on Node: bindings as the Worker gets them, plus the shared pool; `waitUntil` tracked. */
export async function serveApp(
  databaseUrl: string,
  bindings: Record<string, string>,
  options: { poolSize?: number } = {},
) {
  // The app's own driver settings (`connect`: prepared statements, fetch_types off), pooled.
  const database = connect(databaseUrl, { max: options.poolSize ?? POOL_SIZE });
  const app = newApp();
  const pending = new Set<Promise<unknown>>();
  const workerBindings = { ...bindings, DATABASE_POOL: { db: database.db } };
  const ctx = {
    waitUntil: (p: Promise<unknown>) => {
      const tracked = p.catch(() => {});
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    },
    passThroughOnException: () => {},
    props: {},
  };
  const server = await listen((req) => app.fetch(req, workerBindings, ctx));
  return {
    url: server.url,
    /** Waits for the work handed to `waitUntil` (publishing jobs after the response). */
    drain: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: async () => {
      await server.close();
      await Promise.allSettled([...pending]);
      await database.close();
    },
  };
}

/**
 * The floor: the least a webhook receiver can do and still be correct about durability. Verify
 * the HMAC over the raw bytes, store the body with one `INSERT … ON CONFLICT`, answer 200.
 */
export async function serveFloor(databaseUrl: string, appSecret: string): Promise<Served> {
  const sql = pool(databaseUrl);
  await sql`create table if not exists bench_floor_events (
    id text primary key, body jsonb not null, received_at timestamptz not null default now())`;
  const floor = new Hono().post('/webhooks/meta', async (c) => {
    const raw = Buffer.from(await c.req.arrayBuffer());
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`,
    );
    const given = Buffer.from(c.req.header('x-hub-signature-256') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return c.json({ error: 'bad signature' }, 401);
    }
    const body = JSON.parse(raw.toString('utf8'));
    const id: string = body.entry?.[0]?.changes?.[0]?.value?.messages?.[0]?.id ?? raw.toString();
    await sql`insert into bench_floor_events (id, body) values (${id}, ${body}) on conflict do nothing`;
    return c.text('ok');
  });
  const server = await listen(floor.fetch);
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await sql`drop table if exists bench_floor_events`;
      await sql.end({ timeout: 5 });
    },
  };
}
