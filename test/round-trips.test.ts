import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asTenant, connect } from '../db/client';
import { searchKnowledge } from '../db/knowledge';
import {
  encodeMetaBody,
  signMetaBody,
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessageBody,
  whatsappMessagesChange,
  whatsappStatusBody,
  whatsappWebhook,
} from '../dev/meta-payloads';
import { standInEmbedding } from '../dev/stand-ins/embeddings';
import { startOtlpCollector } from '../dev/stand-ins/otlp-collector';
import { agentTurnJob } from '../functions/jobs/agent-turn';
import { INLINE_UPDATES_LIMIT } from '../functions/webhooks/batch';
import { customerWrites, replyWith, scriptedModels } from './agent';
import { adminSql, createTenant, type TenantFixture } from './fixtures';
import {
  createHarness,
  type Harness,
  qstashSignature,
  TEST_APP_SECRET,
  TEST_PUBLIC_BASE_URL,
} from './harness';
import { customerPhone, WEBHOOK_URL, waNumber } from './meta-webhooks';
import { connectProviderNumber } from './providers';
import { type RoundTripCounter, startRoundTripCounter } from './round-trips';

/**
 * Round trips are what a request costs in production (Worker → Hyperdrive → Supabase), so the hot
 * paths have budgets in round trips, counted by a proxy in front of the run's database. The
 * budgets are ceilings, so no change adds a round trip unnoticed; docs/performance.md says where
 * each comes from.
 *
 * Every request here runs on a fresh connection, as a Worker's does. With the postgres.js patch
 * (patches/), a statement costs one round trip even the first time on a connection, and
 * statements issued together go out together: an operator's read (BEGIN, binding with the
 * membership check, the read, COMMIT) is one; a webhook is three (a customer's message is one SQL
 * function, and the last write goes out with the COMMIT).
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

      // A new parameterized statement is parsed, described and run in one round trip (published
      // postgres.js waits for the description first: two), and one once prepared there.
      counter.reset();
      await sql`select ${1}::int as n, ${'text'} as t`;
      expect(counter.counts().roundTrips).toBe(1);
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
  const script = scriptedModels([
    replyWith('Hola, ¿en qué te ayudo?'),
    // The first test's customer is answered too (by settle), then the traced turn's.
    replyWith('Dime, ¿qué necesitas?'),
    replyWith('Aquí estoy.'),
    // The Gupshup customer's, answered by settle after its callback is counted.
    replyWith('Hola, ¿qué necesitas?'),
  ]);
  beforeAll(async () => {
    h = await createHarness({
      // No read receipt (a Graph call, on a connection of its own) beside the counted turn.
      bindings: { DATABASE_URL: counter.url, WHATSAPP_ALLOW_LIVE_SEND: 'false' },
      jobs: [agentTurnJob({ models: (choice) => script.resolver(choice) })],
    });
    t = await createTenant(adminSql(), 'Round trips');
    h.registerTenant(t);
  });
  afterAll(() => h.close());

  /** A signed webhook, its round trips counted up to its answer; after-response work awaited. */
  async function postCounted(raw: string) {
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
    return { res, beforeResponse };
  }

  it('a one-message webhook, before its 200: one connection, at most 3 round trips', async () => {
    const raw = oneMessage(t);
    const { res, beforeResponse } = await postCounted(raw);
    expect(res.status).toBe(200);
    expect(beforeResponse.connections).toBe(1);
    // BEGIN, storing the body and resolving its account; the tenant's binding and settings with
    // app.ingest_customer_message (contact, conversation, message, debounce, the turn's outbox
    // row); settling the event with the COMMIT.
    expect(beforeResponse.roundTrips).toBeLessThanOrEqual(3);
  });

  it('one agent turn that replies (mock model): one connection, at most 6 round trips', async () => {
    await customerWrites(h, t, customerPhone(), 'hola');
    const turn = h.qstash?.messages().find((m) => m.url.endsWith('/jobs/agent-turn'));
    const body = turn?.body ?? '';
    const headers = { 'upstash-signature': await qstashSignature(body, 'agent-turn') };
    counter.reset();
    // Decide, think (the mock model answers at once), store, and publishing the send job; the
    // send itself is its own job, delivered later. Decide: opening the turn with its reads, then
    // the run's insert with the COMMIT (2). Store: the run's lock with the checks' reads, the
    // reply's writes, closing the run with the COMMIT (3). Publish: marking the job, BEGIN to
    // COMMIT in one (1). docs/performance.md.
    const res = await h.request(`${TEST_PUBLIC_BASE_URL}/jobs/agent-turn`, {
      method: 'POST',
      body,
      headers,
    });
    const counts = counter.counts();
    expect(await res.json()).toEqual({ status: 'done', detail: 'replied' });
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    expect(counts.connections).toBe(1);
    expect(counts.roundTrips).toBeLessThanOrEqual(6);
    await h.settle();
  });

  it('an agent turn whose run is exported as a trace: still one connection, at most 6 round trips', async () => {
    // The run's export job goes out with the run's outcome and the COMMIT, and its publish mark
    // with the reply's, in the same transaction (functions/lib/jobs.ts publishJobs).
    const collector = await startOtlpCollector();
    const sql = adminSql();
    await sql`update tenant_settings set trace_endpoint = ${collector.tracesUrl} where tenant_id = ${t.tenantId}`;
    try {
      await customerWrites(h, t, customerPhone(), 'hola otra vez');
      const turn = h.qstash
        ?.messages()
        .filter((m) => m.url.endsWith('/jobs/agent-turn') && m.state === 'pending')
        .at(-1);
      const body = turn?.body ?? '';
      const headers = { 'upstash-signature': await qstashSignature(body, 'agent-turn') };
      script.chat.doGenerateCalls.length = 0;
      counter.reset();
      const res = await h.request(`${TEST_PUBLIC_BASE_URL}/jobs/agent-turn`, {
        method: 'POST',
        body,
        headers,
      });
      const counts = counter.counts();
      expect(await res.json()).toEqual({ status: 'done', detail: 'replied' });
      expect(counts.connections).toBe(1);
      expect(counts.roundTrips).toBeLessThanOrEqual(6);
      const [job] = await sql`select status from job_outbox
        where tenant_id = ${t.tenantId} and kind = 'trace-export'`;
      expect(job?.status).toBe('published');
      await h.settle();
      expect(collector.traces()).toHaveLength(1);
    } finally {
      await sql`update tenant_settings set trace_endpoint = null where tenant_id = ${t.tenantId}`;
      await collector.close();
    }
  });

  it("a Gupshup number's one-message callback, before its 200: one connection, at most 4 round trips", async () => {
    const number = await connectProviderNumber(adminSql(), t, 'gupshup');
    const raw = JSON.stringify({
      app: number.externalId,
      timestamp: Date.now(),
      version: 2,
      type: 'message',
      payload: {
        id: `ABEGk${crypto.randomUUID().replaceAll('-', '')}`,
        source: '5491155550000',
        type: 'text',
        payload: { text: 'Hola' },
        sender: {
          phone: '5491155550000',
          name: 'Ana',
          country_code: '54',
          dial_code: '91155550000',
        },
      },
    });
    const afterResponse: Promise<unknown>[] = [];
    counter.reset();
    const res = await h.app.request(
      number.callbackUrl,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw },
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
    expect(((await res.json()) as { status: string }).status).toBe('processed');
    expect(beforeResponse.connections).toBe(1);
    // Reading the account and its sealed secret (one read, before any tenant is known); then
    // Meta's three: BEGIN with storing and resolving, the tenant's ingest, the COMMIT.
    expect(beforeResponse.roundTrips).toBeLessThanOrEqual(4);
    await h.settle();
  });

  it('a delivery status of a message we sent, before its 200: one connection, at most 4 round trips', async () => {
    const [sent] = await adminSql()<{ provider_message_id: string; phone: string }[]>`
      select m.provider_message_id, c.phone from messages m
      join conversations v on v.id = m.conversation_id join contacts c on c.id = v.contact_id
      where m.tenant_id = ${t.tenantId} and m.direction = 'outbound'
        and m.provider_message_id is not null
      order by m.received_at desc limit 1`;
    expect(sent?.provider_message_id).toEqual(expect.any(String));
    const raw = encodeMetaBody(
      whatsappStatusBody({
        ...waNumber(t),
        messageId: sent?.provider_message_id ?? '',
        recipientId: sent?.phone ?? '',
        status: 'delivered',
      }),
    );
    const headers = {
      'content-type': 'application/json',
      'x-hub-signature-256': await signMetaBody(raw, TEST_APP_SECRET),
    };
    counter.reset();
    const res = await h.app.request(
      WEBHOOK_URL,
      { method: 'POST', headers, body: raw },
      h.bindings,
    );
    const counts = counter.counts();
    expect(res.status).toBe(200);
    expect(counts.connections).toBe(1);
    // Resolving the account; the tenant's binding with the lock, the status event and the
    // message's lookup; moving the message forward with marking the event applied; storing the
    // body with the COMMIT. Statuses are as frequent as the messages we send.
    expect(counts.roundTrips).toBeLessThanOrEqual(4);
  });

  describe('an operator read: one connection, one round trip', () => {
    let conversationId: string;
    // The conversation of the agent turn above: the customer's message, the reply and its notes.
    beforeAll(async () => {
      const [row] = await adminSql()<{ id: string }[]>`
        select id from conversations where tenant_id = ${t.tenantId}
        order by last_message_at desc limit 1`;
      conversationId = row?.id ?? '';
    });

    async function read(path: string) {
      counter.reset();
      const res = await h.asUser(t.agent, path, { headers: { 'x-tenant-id': t.tenantId } });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, body, ...counter.counts() };
    }

    it('the chat list, its first page and a page after a cursor', async () => {
      const first = await read('/admin/chats/summary?limit=1');
      expect(first).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
      const cursor = first.body.next_cursor;
      expect(cursor).toEqual(expect.any(String));
      const next = await read(`/admin/chats/summary?limit=1&cursor=${cursor}`);
      expect(next).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
      const filtered = await read(
        `/admin/chats/summary?limit=1&label=vip&assignee=me&q=a&cursor=${cursor}`,
      );
      expect(filtered).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
    });

    it("a thread's messages, and the idle delta poll after them", async () => {
      const thread = await read(`/admin/chats/${conversationId}/messages`);
      expect(thread).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
      expect((thread.body.items as unknown[]).length).toBeGreaterThanOrEqual(2);
      const poll = await read(
        `/admin/chats/${conversationId}/messages?after=${thread.body.next_cursor}`,
      );
      expect(poll).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
      // Messages changed within the safety margin come again (clients upsert them by id).
      expect(poll.body.has_more).toBe(false);
    });

    it('the follow-ups: a page of opportunities and their counts by status', async () => {
      const list = await read('/admin/opportunities?status=open&limit=10');
      expect(list).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
      const summary = await read('/admin/opportunities/summary');
      expect(summary).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
    });

    it('the dashboard: its days rolled up and those computed as read, with the team', async () => {
      const month = await read('/admin/dashboard?days=30');
      expect(month).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
      expect((month.body.series as { messages_in: number[] }).messages_in.at(-1)).toBeGreaterThan(
        0,
      );
    });

    it('a business the operator does not belong to: 403 in the same round trip', async () => {
      const other = await createTenant(adminSql(), 'Round trips, someone else');
      counter.reset();
      const res = await h.asUser(t.agent, '/admin/chats/summary', {
        headers: { 'x-tenant-id': other.tenantId },
      });
      expect(res.status).toBe(403);
      expect(counter.counts()).toEqual({ connections: 1, roundTrips: 1 });
    });
  });

  it('the web widget: a poll in 1 round trip, a visitor message in at most 3, a session in 3', async () => {
    const sql = adminSql();
    const key = `pk_rt_${crypto.randomUUID().replaceAll('-', '')}`;
    const accountId = crypto.randomUUID();
    await sql`insert into channel_accounts (id, tenant_id, channel, external_id, display_name)
      values (${accountId}, ${t.tenantId}, 'web', ${key}, 'Website')`;
    await sql`insert into widgets (tenant_id, channel_account_id, allowed_origins)
      values (${t.tenantId}, ${accountId}, ${sql.json(['https://shop.example'])})`;
    const call = async (path: string, init: RequestInit = {}, token?: string) => {
      const headers = new Headers(init.headers);
      headers.set('origin', 'https://shop.example');
      headers.set('cf-connecting-ip', `203.0.113.${Math.floor(Math.random() * 250)}`);
      if (token) headers.set('authorization', `Bearer ${token}`);
      if (init.body) headers.set('content-type', 'application/json');
      const afterResponse: Promise<unknown>[] = [];
      counter.reset();
      const res = await h.app.request(path, { ...init, headers }, h.bindings, {
        waitUntil: (p: Promise<unknown>) => afterResponse.push(p),
        passThroughOnException: () => {},
        props: {},
      });
      const counts = counter.counts();
      await Promise.allSettled(afterResponse);
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, ...counts };
    };
    // Resolving the key (a BEGIN with it), the widget's row under its tenant, the COMMIT.
    const session = await call('/widget/session', {
      method: 'POST',
      body: JSON.stringify({ key }),
    });
    expect(session).toMatchObject({ status: 200, connections: 1 });
    expect(session.roundTrips).toBeLessThanOrEqual(3);
    const token = String(session.body.token);
    // The widget's origins, then the ingest function (with the settings), then the COMMIT.
    const sent = await call(
      '/widget/messages',
      { method: 'POST', body: JSON.stringify({ text: 'Hola', client_message_id: 'rt-00000001' }) },
      token,
    );
    expect(sent).toMatchObject({ status: 201, connections: 1 });
    expect(sent.roundTrips).toBeLessThanOrEqual(3);
    // BEGIN, the binding, the origins, the conversation, the messages and COMMIT, together.
    const poll = await call('/widget/messages', {}, token);
    expect(poll).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
    const delta = await call(
      `/widget/messages?after=${encodeURIComponent(String(poll.body.cursor))}`,
      {},
      token,
    );
    expect(delta).toMatchObject({ status: 200, connections: 1, roundTrips: 1 });
    await sql.end();
  });

  it("the agent's knowledge search by words and meaning: one statement, as by words alone", async () => {
    await adminSql()`insert into knowledge_articles (tenant_id, title, body, language, embedding, embedding_model)
      values (${t.tenantId}, 'Precios', 'Una limpieza dental cuesta 60 €.', 'es',
        ${JSON.stringify(standInEmbedding('Precios. Una limpieza dental cuesta 60 €.'))}::extensions.vector, 'stand-in')`;
    const { db, close } = connect(counter.url);
    try {
      const search = async (meaning: Parameters<typeof searchKnowledge>[3]) => {
        counter.reset();
        const hits = await asTenant(db, t.tenantId, (ctx) =>
          searchKnowledge(ctx, 'teeth cleaning cost', 3, meaning),
        );
        return { titles: hits.map((hit) => hit.title), ...counter.counts() };
      };
      // Warm the connection, so both counts below are of the statements alone.
      await search(null);
      const byWords = await search(null);
      const hybrid = await search({
        model: 'stand-in',
        vector: standInEmbedding('teeth cleaning cost'),
        minSimilarity: 0.3,
      });
      expect(byWords.titles).toEqual([]);
      expect(hybrid.titles).toEqual(['Precios']);
      expect(byWords.roundTrips).toBeGreaterThan(0);
      expect(hybrid.roundTrips).toBe(byWords.roundTrips);
    } finally {
      await close();
    }
  });

  it(`a body of ${INLINE_UPDATES_LIMIT + 1}+ updates, before its 200: one connection, 1 round trip`, async () => {
    const from = customerPhone();
    const body = whatsappWebhook(
      t.accounts.whatsapp.wabaId,
      whatsappMessagesChange({
        ...waNumber(t),
        contacts: [whatsappContact({ from })],
        messages: Array.from({ length: 1000 }, (_, i) =>
          whatsappInboundMessage({
            from,
            id: `wamid.${crypto.randomUUID()}`,
            message: { type: 'text', text: `hola ${i}` },
          }),
        ),
      }),
    );
    const raw = encodeMetaBody(body);
    const { res, beforeResponse } = await postCounted(raw);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('received');
    expect(beforeResponse.connections).toBe(1);
    // Storing the body as received (app.record_webhook_event): the 1,000 messages are its job's.
    expect(beforeResponse.roundTrips).toBe(1);
    await h.settle();
  });
});

/** A WhatsApp body with one text message from a new customer. */
function oneMessage(t: TenantFixture): string {
  return encodeMetaBody(
    whatsappMessageBody({
      ...waNumber(t),
      from: customerPhone(),
      id: `wamid.${crypto.randomUUID()}`,
      message: { type: 'text', text: 'hola' },
    }),
  );
}
