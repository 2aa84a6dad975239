import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeMetaBody, signMetaBody, whatsappMessageBody } from '../dev/meta-payloads';
import { adminSql, createTenant, type TenantFixture } from './fixtures';
import { createHarness, type Harness, TEST_APP_SECRET } from './harness';
import { customerPhone, WEBHOOK_URL, waNumber } from './meta-webhooks';
import { type RoundTripCounter, startRoundTripCounter } from './round-trips';

/**
 * Round trips are what a request costs in production (Worker → Hyperdrive → Supabase), so the hot
 * paths have budgets in round trips, counted by a proxy in front of the run's database.
 *
 * The budgets below are today's counts, held as ceilings so no change adds a round trip unnoticed;
 * docs/performance.md says where they come from and what the lean data path (issue 9) lowers them to.
 */
let counter: RoundTripCounter;
beforeAll(async () => {
  counter = await startRoundTripCounter(inject('databaseUrl'));
});
afterAll(() => counter.close());

describe('the round-trip counter', () => {
  it('counts one per statement sent after an answer, one for a pipelined batch', async () => {
    const sql = postgres(counter.url, { max: 1, fetch_types: false, onnotice: () => {} });
    try {
      await sql`select 1`;
      expect(counter.counts().connections).toBe(1);
      counter.reset();
      await sql`select 2`;
      await sql`select 3`;
      expect(counter.counts()).toEqual({ connections: 0, roundTrips: 2 });

      // postgres.js describes a new parameterized statement before running it: two round trips
      // the first time on a connection, one once it is prepared there.
      counter.reset();
      await sql`select ${1}::int as n`;
      expect(counter.counts().roundTrips).toBe(2);
      counter.reset();
      await sql`select ${2}::int as n`;
      expect(counter.counts().roundTrips).toBe(1);

      // Statements issued together on one connection go out together: one round trip.
      counter.reset();
      const reserved = await sql.reserve();
      await Promise.all([
        reserved`begin`,
        reserved`select 4`,
        reserved`select 5`,
        reserved`commit`,
      ]);
      reserved.release();
      expect(counter.counts().roundTrips).toBe(1);
    } finally {
      await sql.end();
    }
  });
});

describe('round-trip budgets of the hot paths', () => {
  let h: Harness;
  let t: TenantFixture;
  beforeAll(async () => {
    h = await createHarness({ bindings: { DATABASE_URL: counter.url } });
    t = await createTenant(adminSql(), 'Round trips');
    h.registerTenant(t);
  });
  afterAll(() => h.close());

  it('a one-message webhook, before its 200: one connection, at most 35 round trips', async () => {
    const raw = encodeMetaBody(
      whatsappMessageBody({
        ...waNumber(t),
        from: customerPhone(),
        id: `wamid.${crypto.randomUUID()}`,
        message: { type: 'text', text: 'hola' },
      }),
    );
    const headers = {
      'content-type': 'application/json',
      'x-hub-signature-256': await signMetaBody(raw, TEST_APP_SECRET),
    };
    const afterResponse: Promise<unknown>[] = [];
    counter.reset();
    const res = await h.app.request(
      WEBHOOK_URL,
      { method: 'POST', headers, body: raw },
      h.bindings,
      {
        waitUntil: (p: Promise<unknown>) => afterResponse.push(p),
        passThroughOnException: () => {},
        props: {},
      },
    );
    const beforeResponse = counter.counts();
    await Promise.allSettled(afterResponse);
    expect(res.status).toBe(200);
    expect(beforeResponse.connections).toBe(1);
    expect(beforeResponse.roundTrips).toBeLessThanOrEqual(35);
  });

  it('an operator read (the chat list): one connection, at most 7 round trips', async () => {
    counter.reset();
    const res = await h.asUser(t.agent, '/admin/chats/summary', {
      headers: { 'x-tenant-id': t.tenantId },
    });
    expect(res.status).toBe(200);
    expect(counter.counts().connections).toBe(1);
    expect(counter.counts().roundTrips).toBeLessThanOrEqual(7);
  });
});
