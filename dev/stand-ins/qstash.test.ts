import { Client, QstashError, Receiver } from '@upstash/qstash';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { hasBearerToken, type LoopbackServer, listenOnLoopback } from './http-server';
import { type QStashOptions, type QStashStandIn, startQStash } from './qstash';
import { parseRetryDelay } from './qstash-retry-delay';

const TOKEN = 'qstash-stand-in-test-token';
const CURRENT_SIGNING_KEY = 'sig_current_test_key';
const NEXT_SIGNING_KEY = 'sig_next_test_key';
// devMode: false so a QSTASH_DEV=true in someone's shell cannot redirect the official clients
// to Upstash's own dev server.
const receiver = new Receiver({
  currentSigningKey: CURRENT_SIGNING_KEY,
  nextSigningKey: NEXT_SIGNING_KEY,
  devMode: false,
});

interface Received {
  url: string;
  method: string;
  headers: Headers;
  body: string;
  /** What Receiver.verify returned (true), or why it threw. */
  signature: boolean | string;
}

type Responder = (received: Received, index: number) => Response | Promise<Response>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real HTTP destination that records every delivery and checks its signature. */
async function startDestination(respond: Responder = () => new Response('ok')) {
  const received: Received[] = [];
  const server: LoopbackServer = await listenOnLoopback(async (request) => {
    const body = await request.text();
    const signature = await receiver
      .verify({ signature: request.headers.get('upstash-signature') ?? '', body, url: request.url })
      .then(
        (valid) => valid,
        (error: unknown) => String(error),
      );
    const entry: Received = {
      url: request.url,
      method: request.method,
      headers: request.headers,
      body,
      signature,
    };
    received.push(entry);
    return respond(entry, received.length - 1);
  });
  cleanups.push(() => server.close());
  return { url: server.url, received };
}

async function setup(overrides: Partial<QStashOptions> = {}) {
  const standIn: QStashStandIn = await startQStash({
    token: TOKEN,
    currentSigningKey: CURRENT_SIGNING_KEY,
    nextSigningKey: NEXT_SIGNING_KEY,
    autoDeliver: false,
    retryBackoffMs: () => 1000,
    ...overrides,
  });
  cleanups.push(() => standIn.close());
  const client = new Client({ token: TOKEN, baseUrl: standIn.url, retry: false, devMode: false });
  return { standIn, client };
}

/** A destination that never answers; it only settles when the stand-in aborts the request. */
function hangUntilAborted(request: Request): Promise<Response> {
  return new Promise((_, reject) => {
    request.signal.addEventListener('abort', () => reject(request.signal.reason));
  });
}

function fakeClock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('QStash stand-in: publishing and delivery', () => {
  it('delivers publishJSON with forwarded headers, QStash headers and a valid signature', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const target = `${destination.url}/api/jobs?tenant=t1&x=1`;
    const published = await client.publishJSON({
      url: target,
      body: { job: 'send', text: 'héllo ✓' },
      headers: { 'x-tenant': 't1', authorization: 'Bearer app-secret' },
      label: 'jobs',
    });
    expect(published.messageId).toMatch(/^msg_/);
    expect(published.deduplicated).toBeUndefined();

    expect(destination.received).toHaveLength(0);
    expect(await standIn.deliverDue()).toBe(1);
    expect(destination.received).toHaveLength(1);
    const [delivery] = destination.received;
    expect(delivery!.url).toBe(target);
    expect(delivery!.method).toBe('POST');
    expect(JSON.parse(delivery!.body)).toEqual({ job: 'send', text: 'héllo ✓' });
    expect(delivery!.signature).toBe(true);
    expect(Object.fromEntries(delivery!.headers)).toMatchObject({
      'content-type': 'application/json',
      'x-tenant': 't1',
      authorization: 'Bearer app-secret',
      'upstash-message-id': published.messageId,
      'upstash-retried': '0',
      'user-agent': 'Upstash-QStash',
    });
    // The signature really binds url and body: the same token fails for anything else.
    const signature = delivery!.headers.get('upstash-signature')!;
    await expect(
      receiver.verify({ signature, body: delivery!.body, url: `${destination.url}/other` }),
    ).rejects.toThrow(/subject/);
    await expect(
      receiver.verify({ signature, body: `${delivery!.body} `, url: target }),
    ).rejects.toThrow(/body hash/);
    expect(standIn.messages()).toMatchObject([
      { id: published.messageId, state: 'delivered', attempts: 1, label: 'jobs' },
    ]);
  });

  it('honours Upstash-Method and keeps a raw body byte-for-byte', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    await client.publish({
      url: `${destination.url}/raw`,
      method: 'PUT',
      body: 'plain text, not JSON',
      headers: { 'content-type': 'text/plain' },
    });
    await standIn.runUntilIdle();
    expect(destination.received[0]).toMatchObject({
      method: 'PUT',
      body: 'plain text, not JSON',
      signature: true,
    });
    expect(destination.received[0]!.headers.get('content-type')).toBe('text/plain');
  });

  it('delay: nothing is due until the clock passes it; runUntilIdle jumps the clock', async () => {
    const clock = fakeClock();
    const destination = await startDestination();
    const { standIn, client } = await setup({ now: clock.now });
    await client.publishJSON({ url: `${destination.url}/delayed`, body: { n: 1 }, delay: '30s' });
    expect(standIn.messages()[0]!.notBefore).toBe(clock.now() + 30_000);
    expect(await standIn.deliverDue()).toBe(0);
    clock.advance(29_999);
    expect(await standIn.deliverDue()).toBe(0);
    clock.advance(1);
    expect(await standIn.deliverDue()).toBe(1);

    await client.publishJSON({ url: `${destination.url}/later`, body: { n: 2 }, delay: '1d' });
    await client.publishJSON({ url: `${destination.url}/seconds`, body: { n: 3 }, delay: 90 });
    expect(standIn.messages()[2]!.notBefore).toBe(clock.now() + 90_000);
    await standIn.runUntilIdle();
    expect(destination.received.map((r) => JSON.parse(r.body).n)).toEqual([1, 3, 2]);
    expect(destination.received.every((r) => r.signature === true)).toBe(true);
  });

  it('advanceClockTo moves the stand-in clock forward (never back) without delivering', async () => {
    const clock = fakeClock();
    const destination = await startDestination();
    const { standIn, client } = await setup({ now: clock.now });
    await client.publishJSON({ url: `${destination.url}/delayed`, body: {}, delay: '30s' });
    standIn.advanceClockTo(clock.now() + 29_999);
    expect(await standIn.deliverDue()).toBe(0);
    standIn.advanceClockTo(clock.now());
    expect(await standIn.deliverDue()).toBe(0);
    standIn.advanceClockTo(clock.now() + 30_000);
    expect(destination.received).toHaveLength(0);
    expect(await standIn.deliverDue()).toBe(1);
  });

  it('notBefore (unix seconds) overrides delay', async () => {
    const clock = fakeClock();
    const destination = await startDestination();
    const { standIn, client } = await setup({ now: clock.now });
    const notBefore = Math.floor(clock.now() / 1000) + 3600;
    await client.publishJSON({ url: `${destination.url}/nb`, body: {}, delay: '1s', notBefore });
    expect(standIn.messages()[0]!.notBefore).toBe(notBefore * 1000);
    clock.advance(5_000);
    expect(await standIn.deliverDue()).toBe(0);
    await standIn.runUntilIdle();
    expect(destination.received).toHaveLength(1);
  });

  it('deduplicationId: the second publish is deduplicated and delivered once', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const url = `${destination.url}/dedup`;
    const first = await client.publishJSON({ url, body: { a: 1 }, deduplicationId: 'order-42' });
    const second = await client.publishJSON({ url, body: { a: 2 }, deduplicationId: 'order-42' });
    expect(second).toMatchObject({ messageId: first.messageId, deduplicated: true });
    const third = await client.publishJSON({ url, body: { a: 3 }, deduplicationId: 'order-43' });
    expect(third.deduplicated).toBeUndefined();
    await standIn.runUntilIdle();
    // Both are due at once and delivered side by side: the order they arrive in is not the point.
    const bodies = destination.received.map((r) => JSON.parse(r.body) as { a: number });
    expect(bodies.sort((x, y) => x.a - y.a)).toEqual([{ a: 1 }, { a: 3 }]);
  });

  it('contentBasedDeduplication: an identical message is deduplicated', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const url = `${destination.url}/content`;
    const request = { url, body: { same: true }, contentBasedDeduplication: true };
    const first = await client.publishJSON(request);
    expect(await client.publishJSON(request)).toMatchObject({
      messageId: first.messageId,
      deduplicated: true,
    });
    expect(
      (await client.publishJSON({ ...request, body: { same: false } })).deduplicated,
    ).toBeUndefined();
    await standIn.runUntilIdle();
    expect(destination.received).toHaveLength(2);
  });

  it('batchJSON publishes every item', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const results = await client.batchJSON([
      { url: `${destination.url}/b1`, body: { i: 1 }, headers: { 'x-item': 'one' } },
      { url: `${destination.url}/b2`, body: { i: 2 }, delay: '10s' },
    ]);
    expect(results).toHaveLength(2);
    expect(results.every((r) => 'messageId' in r && r.messageId.startsWith('msg_'))).toBe(true);
    await standIn.runUntilIdle();
    expect(destination.received.map((r) => [new URL(r.url).pathname, r.body])).toEqual([
      ['/b1', '{"i":1}'],
      ['/b2', '{"i":2}'],
    ]);
    expect(destination.received[0]!.headers.get('x-item')).toBe('one');
  });

  it('delivers through an injected in-process app (deliver hook)', async () => {
    const app = new Hono();
    const seen: { path: string; verified: boolean }[] = [];
    app.post('/hook', async (c) => {
      const body = await c.req.text();
      const verified = await receiver.verify({
        signature: c.req.header('upstash-signature') ?? '',
        body,
        url: c.req.url,
      });
      seen.push({ path: c.req.path, verified });
      return c.text('ok');
    });
    const { standIn, client } = await setup({ deliver: async (request) => app.fetch(request) });
    await client.publishJSON({ url: 'https://app.example/hook', body: { hi: 1 } });
    await standIn.runUntilIdle();
    expect(seen).toEqual([{ path: '/hook', verified: true }]);
  });

  it('autoDeliver (the default) delivers in the background', async () => {
    let markDelivered!: () => void;
    const delivered = new Promise<void>((resolve) => {
      markDelivered = resolve;
    });
    const destination = await startDestination(() => {
      markDelivered();
      return new Response('ok');
    });
    const { client } = await setup({ autoDeliver: undefined });
    await client.publishJSON({ url: `${destination.url}/auto`, body: {} });
    await delivered;
    expect(destination.received).toHaveLength(1);
  });
});

describe('QStash stand-in: retries, DLQ and callbacks', () => {
  it('retries after a 500 and then succeeds; Upstash-Retried counts 0, 1, 2', async () => {
    const destination = await startDestination((_, index) =>
      index < 2 ? new Response('boom', { status: 500 }) : new Response('ok'),
    );
    const { standIn, client } = await setup();
    await client.publishJSON({ url: `${destination.url}/flaky`, body: { n: 1 } });
    expect(await standIn.deliverDue()).toBe(1);
    expect(standIn.messages()[0]).toMatchObject({ state: 'failed', attempts: 1 });
    await standIn.runUntilIdle();
    expect(destination.received.map((r) => r.headers.get('upstash-retried'))).toEqual([
      '0',
      '1',
      '2',
    ]);
    expect(destination.received.every((r) => r.signature === true)).toBe(true);
    expect(standIn.messages()[0]).toMatchObject({ state: 'delivered', attempts: 3 });
    expect(standIn.dlq()).toEqual([]);
  });

  it('schedules retries with the Upstash-Retry-Delay expression, else retryBackoffMs', async () => {
    const clock = fakeClock();
    const destination = await startDestination(() => new Response('no', { status: 500 }));
    const backoffCalls: number[] = [];
    const { standIn, client } = await setup({
      now: clock.now,
      retryBackoffMs: (retried) => {
        backoffCalls.push(retried);
        return 7_000;
      },
    });
    await client.publishJSON({
      url: `${destination.url}/expr`,
      body: {},
      retries: 3,
      retryDelay: 'pow(2, retried) * 1000',
    });
    const start = clock.now();
    await standIn.deliverDue();
    expect(standIn.messages()[0]!.notBefore).toBe(start + 1_000);
    clock.advance(1_000);
    await standIn.deliverDue();
    expect(standIn.messages()[0]!.notBefore).toBe(start + 1_000 + 2_000);

    await client.publishJSON({ url: `${destination.url}/default`, body: {}, retries: 1 });
    await standIn.deliverDue();
    expect(standIn.messages()[1]!.notBefore).toBe(clock.now() + 7_000);
    expect(backoffCalls).toEqual([0]);
  });

  it('honours Retry-After on 429', async () => {
    const clock = fakeClock();
    const destination = await startDestination((_, index) =>
      index === 0
        ? new Response('slow down', { status: 429, headers: { 'retry-after': '120' } })
        : new Response('ok'),
    );
    const { standIn, client } = await setup({ now: clock.now });
    await client.publishJSON({ url: `${destination.url}/limited`, body: {} });
    await standIn.deliverDue();
    expect(standIn.messages()[0]!.notBefore).toBe(clock.now() + 120_000);
    await standIn.runUntilIdle();
    expect(standIn.messages()[0]!.state).toBe('delivered');
  });

  it('489 + Upstash-NonRetryable-Error: straight to the DLQ, failure callback fires', async () => {
    const destination = await startDestination((received) =>
      new URL(received.url).pathname === '/failed'
        ? new Response('ack')
        : new Response('bad payload', {
            status: 489,
            headers: { 'upstash-nonretryable-error': 'true' },
          }),
    );
    const { standIn, client } = await setup();
    const { messageId } = await client.publishJSON({
      url: `${destination.url}/strict`,
      body: { bad: true },
      retries: 5,
      failureCallback: `${destination.url}/failed`,
    });
    await standIn.runUntilIdle();
    const toTarget = destination.received.filter((r) => r.url.endsWith('/strict'));
    expect(toTarget).toHaveLength(1);
    expect(standIn.dlq()).toMatchObject([{ id: messageId, state: 'dlq', attempts: 1 }]);

    const failureCallbacks = destination.received.filter((r) => r.url.endsWith('/failed'));
    expect(failureCallbacks).toHaveLength(1);
    expect(failureCallbacks[0]!.signature).toBe(true);
    const payload = JSON.parse(failureCallbacks[0]!.body);
    expect(payload).toMatchObject({
      status: 489,
      sourceMessageId: messageId,
      retried: 0,
      maxRetries: 5,
      dlqId: standIn.dlq()[0]!.dlqId,
      url: `${destination.url}/strict`,
    });
    expect(Buffer.from(payload.body, 'base64').toString()).toBe('bad payload');
    expect(Buffer.from(payload.sourceBody, 'base64').toString()).toBe('{"bad":true}');

    const listed = await client.dlq.listMessages();
    expect(listed.messages).toMatchObject([
      { messageId, responseStatus: 489, responseBody: 'bad payload' },
    ]);
  });

  it('a 489 without the non-retryable header is retried like any failure', async () => {
    const destination = await startDestination((_, index) =>
      index === 0 ? new Response('nope', { status: 489 }) : new Response('ok'),
    );
    const { standIn, client } = await setup();
    await client.publishJSON({ url: `${destination.url}/x`, body: {} });
    await standIn.runUntilIdle();
    expect(standIn.messages()[0]).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('exhausting retries moves the message to the DLQ', async () => {
    const destination = await startDestination(() => new Response('down', { status: 503 }));
    const { standIn, client } = await setup();
    const { messageId } = await client.publishJSON({
      url: `${destination.url}/down`,
      body: {},
      retries: 2,
    });
    await standIn.runUntilIdle();
    expect(destination.received.map((r) => r.headers.get('upstash-retried'))).toEqual([
      '0',
      '1',
      '2',
    ]);
    expect(standIn.dlq()).toMatchObject([
      { id: messageId, attempts: 3, lastResponse: { status: 503, body: 'down' } },
    ]);
  });

  it('network errors count as failed attempts', async () => {
    const { standIn, client } = await setup({
      deliver: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await client.publishJSON({ url: 'http://127.0.0.1:9/unreachable', body: {}, retries: 1 });
    await standIn.runUntilIdle();
    expect(standIn.dlq()).toMatchObject([{ attempts: 2, lastError: 'fetch failed' }]);
  });

  it('Upstash-Timeout aborts a hanging delivery, which then counts as a failure', async () => {
    const { standIn, client } = await setup({ deliver: hangUntilAborted });
    await client.publishJSON({ url: 'https://app.example/slow', body: {}, timeout: 1, retries: 0 });
    await standIn.runUntilIdle();
    expect(standIn.dlq()).toMatchObject([{ attempts: 1, lastError: expect.any(String) }]);
  });

  it('close() aborts deliveries in flight instead of waiting for them', async () => {
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const standIn = await startQStash({
      token: TOKEN,
      currentSigningKey: CURRENT_SIGNING_KEY,
      nextSigningKey: NEXT_SIGNING_KEY,
      deliver: (request) => {
        markStarted();
        return hangUntilAborted(request);
      },
    });
    const client = new Client({ token: TOKEN, baseUrl: standIn.url, retry: false, devMode: false });
    await client.publishJSON({ url: 'https://app.example/forever', body: {} });
    await started;
    await standIn.close();
    expect(standIn.messages()).toMatchObject([{ state: 'pending', inFlight: false }]);
  });

  it('posts a signed callback with the response after a delivery', async () => {
    const destination = await startDestination((received) =>
      received.url.endsWith('/work') ? new Response('result ✓', { status: 201 }) : new Response(),
    );
    const { standIn, client } = await setup();
    const { messageId } = await client.publishJSON({
      url: `${destination.url}/work`,
      body: { w: 1 },
      callback: `${destination.url}/callback`,
      headers: {},
    });
    await standIn.runUntilIdle();
    const callback = destination.received.find((r) => r.url.endsWith('/callback'))!;
    expect(callback.signature).toBe(true);
    const payload = JSON.parse(callback.body);
    expect(payload).toMatchObject({ status: 201, sourceMessageId: messageId, retried: 0 });
    expect(Buffer.from(payload.body, 'base64').toString()).toBe('result ✓');
    expect(standIn.messages().find((m) => m.callbackFor)?.callbackFor).toEqual({
      messageId,
      kind: 'callback',
    });
  });
});

describe('QStash stand-in: cancel, message lookup, flow control, auth', () => {
  it('a message cancelled before it is due is never delivered', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const { messageId } = await client.publishJSON({
      url: `${destination.url}/cancel-me`,
      body: {},
      delay: '1h',
    });
    const fetched = await client.messages.get(messageId);
    expect(fetched).toMatchObject({ messageId, url: `${destination.url}/cancel-me`, body: '{}' });
    expect(await client.messages.cancel(messageId)).toEqual({ cancelled: 1 });
    await standIn.runUntilIdle();
    expect(destination.received).toHaveLength(0);
    expect(standIn.messages()[0]!.state).toBe('cancelled');
    await expect(client.messages.cancel(messageId)).rejects.toMatchObject({ status: 404 });
    await expect(client.messages.get(messageId)).rejects.toBeInstanceOf(QstashError);
  });

  it('cancel([...ids]), cancel({ filter }) and cancel({ all: true })', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const publish = (label: string) =>
      client.publishJSON({ url: `${destination.url}/${label}`, body: {}, delay: '1h', label });
    const a = await publish('a');
    const b = await publish('b');
    await publish('c');
    await publish('d');
    expect(await client.messages.cancel([a.messageId, b.messageId, 'msg_unknown'])).toEqual({
      cancelled: 2,
    });
    expect(await client.messages.cancel({ filter: { label: 'c' } })).toEqual({ cancelled: 1 });
    expect(await client.messages.cancel({ all: true })).toEqual({ cancelled: 1 });
    await standIn.runUntilIdle();
    expect(destination.received).toHaveLength(0);
    expect(standIn.messages().map((m) => m.state)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
  });

  it('a delivered message can no longer be fetched or cancelled', async () => {
    const destination = await startDestination();
    const { standIn, client } = await setup();
    const { messageId } = await client.publishJSON({ url: `${destination.url}/done`, body: {} });
    await standIn.runUntilIdle();
    await expect(client.messages.get(messageId)).rejects.toMatchObject({ status: 404 });
    await expect(client.messages.cancel(messageId)).rejects.toMatchObject({ status: 404 });
  });

  it('flow control parallelism=1 delivers one at a time, in publish order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const destination = await startDestination(async (request) => {
      if (!request.url.endsWith('/fc')) return new Response('ok');
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Yield long enough that parallel deliveries would overlap.
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return new Response('ok');
    });
    const { standIn, client } = await setup();
    for (let i = 0; i < 5; i++) {
      await client.publishJSON({
        url: `${destination.url}/fc`,
        body: { i },
        flowControl: { key: 'tenant-1', parallelism: 1 },
      });
    }
    await client.publishJSON({ url: `${destination.url}/free`, body: { i: 'free' } });
    await standIn.runUntilIdle();
    const ordered = destination.received.filter((r) => r.url.endsWith('/fc'));
    expect(ordered.map((r) => JSON.parse(r.body).i)).toEqual([0, 1, 2, 3, 4]);
    expect(maxInFlight).toBe(1);
    // A message without the key is not held behind the flow-controlled ones.
    expect(destination.received.filter((r) => r.url.endsWith('/free'))).toHaveLength(1);
  });

  it('flow control parallelism=N keeps at most N deliveries of a key in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const destination = await startDestination(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return new Response('ok');
    });
    const { standIn, client } = await setup();
    for (let i = 0; i < 8; i++) {
      await client.publishJSON({
        url: `${destination.url}/turn`,
        body: { i },
        flowControl: { key: 'agent-turn-tenant-1', parallelism: 3 },
      });
    }
    expect(standIn.messages().map((m) => m.flowControl?.parallelism)).toEqual(Array(8).fill(3));
    await standIn.runUntilIdle();
    expect(destination.received).toHaveLength(8);
    expect(maxInFlight).toBe(3);
  });

  it('flow control rate limits starts per period; runUntilIdle moves through periods', async () => {
    const clock = fakeClock();
    const destination = await startDestination();
    const { standIn, client } = await setup({ now: clock.now });
    for (let i = 0; i < 5; i++) {
      await client.publishJSON({
        url: `${destination.url}/rate`,
        body: { i },
        flowControl: { key: 'slow', rate: 2, period: '1m' },
      });
    }
    expect(await standIn.deliverDue()).toBe(2);
    clock.advance(59_999);
    expect(await standIn.deliverDue()).toBe(0);
    clock.advance(1);
    expect(await standIn.deliverDue()).toBe(2);
    await standIn.runUntilIdle();
    // Rate alone promises pacing, not order (deliveries started in one window run concurrently;
    // parallelism=1 is what keeps order, tested above).
    const received = destination.received.map((r) => JSON.parse(r.body).i as number);
    expect([...received].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('a wrong token gets 401 and makes the client throw', async () => {
    const { standIn } = await setup();
    const wrong = new Client({
      token: 'wrong',
      baseUrl: standIn.url,
      retry: false,
      devMode: false,
    });
    await expect(
      wrong.publishJSON({ url: 'https://example.com/x', body: {} }),
    ).rejects.toMatchObject({ status: 401 });
    const raw = await fetch(`${standIn.url}/v2/dlq`);
    expect(raw.status).toBe(401);
    expect(standIn.messages()).toEqual([]);
  });

  it('rejects destinations that are not http(s) URLs and malformed headers with 400', async () => {
    const { standIn, client } = await setup();
    const post = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${standIn.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, ...headers },
        body: '{}',
      });
    expect((await post('/v2/publish/my-url-group')).status).toBe(400);
    expect((await post('/v2/publish/ftp://example.com/x')).status).toBe(400);
    const badDelay = await post('/v2/publish/https://example.com/x', { 'upstash-delay': 'soon' });
    expect(badDelay.status).toBe(400);
    expect(await badDelay.json()).toEqual({ error: expect.stringContaining('Upstash-Delay') });
    const badExpr = await post('/v2/publish/https://example.com/x', {
      'upstash-retry-delay': 'process.exit(1)',
    });
    expect(badExpr.status).toBe(400);
    await expect(client.publishJSON({ urlGroup: 'group', body: {} })).rejects.toMatchObject({
      status: 400,
    });
    expect(standIn.messages()).toEqual([]);
  });

  it('percent-encoded destinations are accepted', async () => {
    const destination = await startDestination();
    const { standIn } = await setup();
    const target = `${destination.url}/encoded?q=1`;
    const response = await fetch(`${standIn.url}/v2/publish/${encodeURIComponent(target)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: 'x',
    });
    expect(response.status).toBe(200);
    await standIn.runUntilIdle();
    expect(destination.received[0]).toMatchObject({ url: target, signature: true });
  });
});

describe('Upstash-Retry-Delay expressions', () => {
  it.each([
    ['1000', 3, 1000],
    ['1000 * (1 + retried)', 2, 3000],
    ['pow(2, retried) * 1000', 3, 8000],
    ['max(1000, pow(2, retried) * 100)', 2, 1000],
    ['min(86400000, exp(retried) * 1000)', 0, 1000],
    ['-retried + 10 / 2 - 1', 1, 3],
    ['floor(sqrt(abs(-17))) + ceil(0.2) + round(1.5)', 0, 7],
  ])('%s with retried=%i is %d', (source, retried, expected) => {
    expect(parseRetryDelay(source).evaluate(retried)).toBe(expected);
  });

  it.each([
    '',
    'process.exit(1)',
    'retried; 1',
    'pow(2)',
    '1 +',
    '(1',
    'constructor',
    '2 ** 3',
    'x'.repeat(300),
  ])('rejects %j', (source) => {
    expect(() => parseRetryDelay(source)).toThrow();
  });
});

describe('loopback helper', () => {
  it('checks bearer tokens exactly', () => {
    expect(hasBearerToken('Bearer abc', 'abc')).toBe(true);
    expect(hasBearerToken('Bearer abcd', 'abc')).toBe(false);
    expect(hasBearerToken('bearer abc', 'abc')).toBe(false);
    expect(hasBearerToken(undefined, 'abc')).toBe(false);
  });
});
