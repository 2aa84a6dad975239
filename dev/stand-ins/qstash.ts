/**
 * Local stand-in for Upstash QStash: accepts what @upstash/qstash's Client sends and delivers
 * messages with real QStash semantics (signed requests, retries with backoff, DLQ, callbacks,
 * deduplication, flow control), so handlers that verify deliveries with `Receiver` can be
 * exercised locally end to end.
 *
 * Endpoints (all need `Authorization: Bearer <token>`):
 * - `POST /v2/publish/<destination URL>` — the destination is raw in the path; its own query
 *   string arrives as this request's query string (the Client builds the URL with `new URL`).
 * - `POST /v2/batch` — JSON array of `{ destination, headers, body }` (queues are ignored).
 * - `GET|DELETE /v2/messages/{id}` — only while the message is still waiting (404 afterwards,
 *   as QStash forgets delivered messages); DELETE answers `{ cancelled: 1 }`.
 * - `DELETE /v2/messages?messageIds=…` (repeated), or filters (`url`, `label`,
 *   `flowControlKey`, `host`, `path`, …), or no filter = all: what `messages.cancel()` sends.
 * - `GET /v2/dlq` — `{ messages: DlqMessage[] }`, filterable by `dlqIds`, `url`, `label`,
 *   `flowControlKey`, `responseStatus`.
 *
 * Time: scheduling (delays, not-before, backoff, flow-control periods) runs on a stand-in clock,
 * `now() + offset`. `runUntilIdle()` advances `offset` straight to the next moment something
 * becomes deliverable, so delayed messages and backoffs need no real waiting. Signature JWTs
 * (iat/nbf/exp) use the real wall clock, because receivers verify them against real time, and
 * `Upstash-Timeout` is real time too.
 *
 * Deduplication ids (explicit, or content-based = hash of destination, body and forwarded
 * headers) are remembered for the stand-in's lifetime (QStash: 90 days). Flow-control settings
 * are per key, the latest publish winning; a message waiting for a retry does not hold up later
 * messages of its key.
 *
 * Callbacks follow QStash's documented shape and are themselves signed messages (with retries,
 * ending in the DLQ like any other message):
 * `Upstash-Callback` gets, after every attempt that produced an HTTP response,
 * `{ status, header, body, retried, maxRetries, sourceMessageId, url, method, sourceHeader,
 * sourceBody, notBefore, createdAt, callerIP }` (body and sourceBody base64);
 * `Upstash-Failure-Callback` gets the same once the message lands in the DLQ, plus `dlqId`
 * (and, as a stand-in extension, `error` when the last attempt was a network error/timeout,
 * where `status` is 0). `Upstash-Callback-Forward-*` / `Upstash-Failure-Callback-Forward-*`
 * headers are forwarded to them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { hasBearerToken, listenOnLoopback } from './http-server';
import { parseRetryDelay, type RetryDelayExpression } from './qstash-retry-delay';

export interface QStashOptions {
  /** 0 or omitted = a random free port. */
  port?: number;
  token: string;
  /** Every delivery is signed with this key (HS256 over its UTF-8 bytes), as QStash does. */
  currentSigningKey: string;
  /** Accepted for parity with QStash's key pair; receivers fall back to it, QStash never signs with it. */
  nextSigningKey: string;
  /** Sends one delivery attempt; default `fetch`. Tests can inject an in-process app. */
  deliver?: (request: Request) => Promise<Response>;
  /**
   * Backoff before the next retry when the message has no `Upstash-Retry-Delay`. `retried` is
   * the number of retries already made (0 before the first retry), the same variable retry
   * delay expressions see. Default: QStash's `min(1 day, e^(2.5 * (retried + 1)) s)`
   * = 12 s, 2 min 28 s, 30 min …
   */
  retryBackoffMs?: (retried: number) => number;
  /** Default true: a loop (every ~100 ms) starts due deliveries in the background. */
  autoDeliver?: boolean;
  /** Clock for scheduling; default `Date.now`. */
  now?: () => number;
}

export type MessageStatus = 'pending' | 'delivered' | 'failed' | 'cancelled' | 'dlq';

export interface MessageState {
  id: string;
  url: string;
  method: string;
  /** Body as UTF-8 text (deliveries send the original bytes). */
  body: string;
  /** Headers delivered to the destination (forwarded ones + Content-Type), lower-case names. */
  headers: Record<string, string>;
  /** Unix ms on the stand-in clock before which the next attempt will not start. */
  notBefore: number;
  createdAt: number;
  /**
   * pending: waiting for its first attempt (or in flight); failed: the last attempt failed and
   * a retry is scheduled at `notBefore`; delivered; cancelled; dlq: out of retries or refused
   * with 489 + `Upstash-NonRetryable-Error: true`.
   */
  state: MessageStatus;
  inFlight: boolean;
  attempts: number;
  maxRetries: number;
  retryDelay?: string;
  deduplicationId?: string;
  flowControlKey?: string;
  /** The flow-control settings this message was published with. */
  flowControl?: { parallelism?: number; rate?: number; periodMs: number };
  label?: string;
  callback?: string;
  failureCallback?: string;
  /** Set on the messages this stand-in publishes to callback URLs. */
  callbackFor?: { messageId: string; kind: 'callback' | 'failure-callback' };
  dlqId?: string;
  lastResponse?: { status: number; headers: Record<string, string>; body: string };
  lastError?: string;
}

export interface QStashStandIn {
  url: string;
  close(): Promise<void>;
  /** Delivers everything due now (respecting flow control); resolves with the attempt count. */
  deliverDue(): Promise<number>;
  /**
   * Delivers until nothing is waiting, moving the stand-in clock forward over delays, backoffs
   * and flow-control periods instead of sleeping. Throws after `maxRounds` (default 1000).
   */
  runUntilIdle(opts?: { maxRounds?: number }): Promise<void>;
  /**
   * Moves the stand-in clock forward to `time` (unix ms; never back) without delivering anything,
   * for tests that drive time themselves (one delivery round per step of the app's clock).
   */
  advanceClockTo(time: number): void;
  /** The stand-in clock (unix ms), for tests that run the app on it (delays, waits, backoffs). */
  now(): number;
  messages(): MessageState[];
  dlq(): MessageState[];
}

interface FlowControlState {
  parallelism?: number;
  rate?: number;
  periodMs: number;
  inFlight: number;
  /** Stand-in clock times of attempts started inside the current rate window. */
  starts: number[];
}

interface StoredMessage {
  id: string;
  seq: number;
  url: string;
  method: string;
  body: Uint8Array<ArrayBuffer>;
  headers: Headers;
  createdAt: number;
  notBefore: number;
  state: MessageStatus;
  inFlight: boolean;
  attempts: number;
  maxRetries: number;
  retryDelay?: RetryDelayExpression;
  timeoutMs: number;
  callback?: string;
  failureCallback?: string;
  callbackHeaders: Headers;
  failureCallbackHeaders: Headers;
  deduplicationId?: string;
  flowControlKey?: string;
  flowControl?: { parallelism?: number; rate?: number; periodMs: number };
  label?: string;
  callbackFor?: { messageId: string; kind: 'callback' | 'failure-callback' };
  dlqId?: string;
  lastResponse?: { status: number; headers: Headers; body: Uint8Array };
  lastError?: string;
}

type AttemptOutcome =
  | { kind: 'response'; status: number; headers: Headers; body: Uint8Array }
  | { kind: 'error'; message: string };

type PublishResult = { messageId: string; url: string; deduplicated?: true };

const DEFAULT_RETRIES = 3;
const ONE_DAY_MS = 86_400_000;
// QStash's own limit depends on the plan; this only keeps a hung local handler from pinning a
// delivery slot forever.
const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const AUTO_DELIVER_INTERVAL_MS = 100;
const CALLER_IP = '127.0.0.1';
const PUBLISH_PREFIX = '/v2/publish/';

export async function startQStash(opts: QStashOptions): Promise<QStashStandIn> {
  const deliver = opts.deliver ?? ((request: Request) => fetch(request));
  const baseNow = opts.now ?? Date.now;
  let clockOffsetMs = 0;
  const clock = () => baseNow() + clockOffsetMs;
  const signingKey = new TextEncoder().encode(opts.currentSigningKey);

  const store = new Map<string, StoredMessage>();
  const deduplication = new Map<string, string>();
  const flowControls = new Map<string, FlowControlState>();
  const running = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let seq = 0;
  let dlqSeq = 0;

  const createMessage = (
    fields: Omit<
      StoredMessage,
      'id' | 'seq' | 'createdAt' | 'state' | 'inFlight' | 'attempts' | 'notBefore'
    > & { notBefore?: number },
  ): StoredMessage => {
    const now = clock();
    const message: StoredMessage = {
      ...fields,
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      seq: seq++,
      createdAt: now,
      notBefore: fields.notBefore ?? now,
      state: 'pending',
      inFlight: false,
      attempts: 0,
    };
    store.set(message.id, message);
    return message;
  };

  const publish = async (
    destination: string,
    headers: Headers,
    body: Uint8Array<ArrayBuffer>,
  ): Promise<PublishResult> => {
    const spec = parsePublishHeaders(headers, clock());
    const deduplicationId = spec.contentBasedDeduplication
      ? contentHash(destination, body, spec.forwardHeaders)
      : spec.deduplicationId;
    if (deduplicationId !== undefined) {
      const original = deduplication.get(deduplicationId);
      if (original) return { messageId: original, url: destination, deduplicated: true };
    }
    if (spec.flowControl) {
      const state = flowControls.get(spec.flowControl.key);
      // The latest publish's settings win for the whole key.
      flowControls.set(spec.flowControl.key, {
        inFlight: state?.inFlight ?? 0,
        starts: state?.starts ?? [],
        parallelism: spec.flowControl.parallelism,
        rate: spec.flowControl.rate,
        periodMs: spec.flowControl.periodMs,
      });
    }
    const message = createMessage({
      url: destination,
      method: spec.method,
      body,
      headers: spec.forwardHeaders,
      notBefore: spec.notBefore,
      maxRetries: spec.retries ?? DEFAULT_RETRIES,
      retryDelay: spec.retryDelay,
      timeoutMs: spec.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      callback: spec.callback,
      failureCallback: spec.failureCallback,
      callbackHeaders: spec.callbackHeaders,
      failureCallbackHeaders: spec.failureCallbackHeaders,
      deduplicationId,
      flowControlKey: spec.flowControl?.key,
      flowControl: spec.flowControl,
      label: spec.label,
    });
    if (deduplicationId !== undefined) deduplication.set(deduplicationId, message.id);
    kickAutoDelivery();
    return { messageId: message.id, url: destination };
  };

  const sign = async (url: string, body: Uint8Array): Promise<string> => {
    const bodyHash = createHash('sha256').update(body).digest('base64url');
    const nowSeconds = Math.floor(Date.now() / 1000);
    return new SignJWT({ body: bodyHash })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('Upstash')
      .setSubject(url)
      .setIssuedAt(nowSeconds)
      .setNotBefore(nowSeconds)
      .setExpirationTime(nowSeconds + 300)
      .setJti(`jwt_${randomUUID().replaceAll('-', '')}`)
      .sign(signingKey);
  };

  const isWaiting = (message: StoredMessage) =>
    (message.state === 'pending' || message.state === 'failed') && !message.inFlight;

  const flowControlAllows = (state: FlowControlState, now: number): boolean => {
    state.starts = state.starts.filter((start) => start > now - state.periodMs);
    if (state.parallelism !== undefined && state.inFlight >= state.parallelism) return false;
    return state.rate === undefined || state.starts.length < state.rate;
  };

  /** Marks every message that may start now as in flight and returns them, in publish order. */
  const claimDeliverable = (): StoredMessage[] => {
    const now = clock();
    const claimed: StoredMessage[] = [];
    // Once a key's oldest due message has to wait, later ones wait too: order per key holds.
    const blockedKeys = new Set<string>();
    for (const message of [...store.values()].sort((a, b) => a.seq - b.seq)) {
      if (!isWaiting(message) || message.notBefore > now) continue;
      const key = message.flowControlKey;
      if (key !== undefined) {
        const state = flowControls.get(key)!;
        if (blockedKeys.has(key) || !flowControlAllows(state, now)) {
          blockedKeys.add(key);
          continue;
        }
        state.inFlight += 1;
        state.starts.push(now);
      }
      message.inFlight = true;
      claimed.push(message);
    }
    return claimed;
  };

  const enqueueCallback = (
    source: StoredMessage,
    kind: 'callback' | 'failure-callback',
    url: string,
    outcome: AttemptOutcome,
    retried: number,
  ) => {
    const response = outcome.kind === 'response' ? outcome : undefined;
    const payload = {
      status: response?.status ?? 0,
      header: headersToLists(response?.headers ?? new Headers()),
      body: Buffer.from(response?.body ?? new Uint8Array()).toString('base64'),
      retried,
      maxRetries: source.maxRetries,
      sourceMessageId: source.id,
      url: source.url,
      method: source.method,
      sourceHeader: headersToLists(source.headers),
      sourceBody: Buffer.from(source.body).toString('base64'),
      notBefore: source.notBefore,
      createdAt: source.createdAt,
      callerIP: CALLER_IP,
      ...(kind === 'failure-callback' ? { dlqId: source.dlqId } : {}),
      ...(outcome.kind === 'error' ? { error: outcome.message } : {}),
    };
    const headers = new Headers(
      kind === 'callback' ? source.callbackHeaders : source.failureCallbackHeaders,
    );
    headers.set('content-type', 'application/json');
    createMessage({
      url,
      method: 'POST',
      body: new TextEncoder().encode(JSON.stringify(payload)),
      headers,
      maxRetries: DEFAULT_RETRIES,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      callbackHeaders: new Headers(),
      failureCallbackHeaders: new Headers(),
      callbackFor: { messageId: source.id, kind },
    });
  };

  const moveToDlq = (message: StoredMessage, outcome: AttemptOutcome, retried: number) => {
    message.state = 'dlq';
    message.dlqId = `${Date.now()}-${dlqSeq++}`;
    if (message.failureCallback) {
      enqueueCallback(message, 'failure-callback', message.failureCallback, outcome, retried);
    }
  };

  const nextRetryDelayMs = (
    message: StoredMessage,
    outcome: AttemptOutcome,
    retried: number,
  ): number => {
    if (outcome.kind === 'response' && (outcome.status === 429 || outcome.status === 503)) {
      const retryAfter = outcome.headers.get('retry-after')?.trim();
      if (retryAfter && /^\d+$/.test(retryAfter)) {
        return Math.min(Number(retryAfter) * 1000, ONE_DAY_MS);
      }
    }
    const fromExpression = message.retryDelay?.evaluate(retried);
    const delay =
      fromExpression !== undefined && Number.isFinite(fromExpression)
        ? fromExpression
        : (opts.retryBackoffMs?.(retried) ?? defaultBackoffMs(retried));
    return Math.min(Math.max(0, delay), ONE_DAY_MS);
  };

  const settle = (message: StoredMessage, outcome: AttemptOutcome, retried: number) => {
    if (outcome.kind === 'response') {
      message.lastResponse = {
        status: outcome.status,
        headers: outcome.headers,
        body: outcome.body,
      };
      message.lastError = undefined;
    } else {
      message.lastError = outcome.message;
    }
    // A cancel during the attempt stops retries and callbacks; the attempt itself already ran.
    if (message.state === 'cancelled') return;
    if (message.callback && outcome.kind === 'response') {
      enqueueCallback(message, 'callback', message.callback, outcome, retried);
    }
    if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) {
      message.state = 'delivered';
      return;
    }
    const nonRetryable =
      outcome.kind === 'response' &&
      outcome.status === 489 &&
      outcome.headers.get('upstash-nonretryable-error')?.toLowerCase() === 'true';
    if (nonRetryable || retried >= message.maxRetries) {
      moveToDlq(message, outcome, retried);
      return;
    }
    message.state = 'failed';
    message.notBefore = clock() + nextRetryDelayMs(message, outcome, retried);
  };

  const attempt = async (message: StoredMessage): Promise<void> => {
    const retried = message.attempts;
    message.attempts += 1;
    const headers = new Headers(message.headers);
    headers.set('upstash-message-id', message.id);
    headers.set('upstash-retried', String(retried));
    headers.set('user-agent', 'Upstash-QStash');
    headers.set('upstash-caller-ip', CALLER_IP);
    let outcome: AttemptOutcome;
    try {
      headers.set('upstash-signature', await sign(message.url, message.body));
      const hasBody = message.method !== 'GET' && message.method !== 'HEAD';
      const response = await deliver(
        new Request(message.url, {
          method: message.method,
          headers,
          body: hasBody ? message.body : undefined,
          signal: AbortSignal.any([shutdown.signal, AbortSignal.timeout(message.timeoutMs)]),
        }),
      );
      outcome = {
        kind: 'response',
        status: response.status,
        headers: response.headers,
        body: new Uint8Array(await response.arrayBuffer()),
      };
    } catch (error) {
      outcome = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
    } finally {
      message.inFlight = false;
      if (message.flowControlKey !== undefined) {
        flowControls.get(message.flowControlKey)!.inFlight -= 1;
      }
    }
    if (shutdown.signal.aborted) return;
    settle(message, outcome, retried);
  };

  const track = (message: StoredMessage): Promise<void> => {
    const promise = attempt(message).finally(() => running.delete(promise));
    running.add(promise);
    return promise;
  };

  const deliverDue = async (): Promise<number> => {
    let attempts = 0;
    // Finishing one delivery can free a flow-control slot or make a callback due, so keep
    // going until a pass starts nothing.
    for (let claimed = claimDeliverable(); claimed.length > 0; claimed = claimDeliverable()) {
      attempts += claimed.length;
      await Promise.all(claimed.map(track));
    }
    return attempts;
  };

  /** Earliest stand-in time at which a waiting message could start, if any is waiting. */
  const nextWakeUp = (): number | undefined => {
    let earliest: number | undefined;
    for (const message of store.values()) {
      if (!isWaiting(message)) continue;
      let at = message.notBefore;
      const state =
        message.flowControlKey === undefined ? undefined : flowControls.get(message.flowControlKey);
      if (state?.rate !== undefined && state.starts.length >= state.rate) {
        at = Math.max(at, Math.min(...state.starts) + state.periodMs);
      }
      earliest = earliest === undefined ? at : Math.min(earliest, at);
    }
    return earliest;
  };

  const runUntilIdle = async ({ maxRounds = 1000 }: { maxRounds?: number } = {}) => {
    for (let round = 0; round < maxRounds; round++) {
      await deliverDue();
      if (running.size > 0) {
        // Attempts started by the background loop: wait for them, then look again.
        await Promise.all(running);
        continue;
      }
      const wakeUp = nextWakeUp();
      if (wakeUp === undefined) return;
      const now = clock();
      if (wakeUp > now) clockOffsetMs += wakeUp - now;
    }
    throw new Error(`QStash stand-in still busy after ${maxRounds} rounds of runUntilIdle()`);
  };

  const autoDeliver = opts.autoDeliver ?? true;
  const backgroundTick = () => {
    if (!shutdown.signal.aborted) for (const message of claimDeliverable()) void track(message);
  };
  const timer = autoDeliver ? setInterval(backgroundTick, AUTO_DELIVER_INTERVAL_MS) : undefined;
  timer?.unref();
  function kickAutoDelivery() {
    // Start a message that is due right away without waiting for the next poll.
    if (autoDeliver) setImmediate(backgroundTick);
  }

  const app = createApp({
    token: opts.token,
    publish,
    store,
    cancel: (message) => {
      if (message.state !== 'pending' && message.state !== 'failed') return false;
      message.state = 'cancelled';
      return true;
    },
  });
  const server = await listenOnLoopback(app.fetch, opts.port ?? 0);

  return {
    url: server.url,
    async close() {
      if (timer) clearInterval(timer);
      shutdown.abort();
      await Promise.allSettled(running);
      await server.close();
    },
    deliverDue,
    runUntilIdle,
    advanceClockTo: (time) => {
      clockOffsetMs += Math.max(0, time - clock());
    },
    now: clock,
    messages: () => [...store.values()].sort((a, b) => a.seq - b.seq).map(snapshot),
    dlq: () =>
      [...store.values()]
        .filter((message) => message.state === 'dlq')
        .sort((a, b) => a.seq - b.seq)
        .map(snapshot),
  };
}

function createApp(deps: {
  token: string;
  publish(
    destination: string,
    headers: Headers,
    body: Uint8Array<ArrayBuffer>,
  ): Promise<PublishResult>;
  store: Map<string, StoredMessage>;
  cancel(message: StoredMessage): boolean;
}): Hono {
  const app = new Hono();
  const isActive = (message: StoredMessage | undefined): message is StoredMessage =>
    message !== undefined && (message.state === 'pending' || message.state === 'failed');

  app.use('*', async (c, next) => {
    if (!hasBearerToken(c.req.header('authorization'), deps.token)) {
      return c.json({ error: 'Unauthorized' }, 401);
    }
    await next();
  });

  app.post(`${PUBLISH_PREFIX}*`, async (c) => {
    const destination = destinationFromUrl(c.req.url);
    if (typeof destination !== 'string') return c.json(destination, 400);
    try {
      const body = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await deps.publish(destination, c.req.raw.headers, body));
    } catch (error) {
      return c.json({ error: errorMessage(error) }, 400);
    }
  });

  app.post('/v2/batch', async (c) => {
    let items: unknown;
    try {
      items = await c.req.json();
    } catch {
      return c.json({ error: 'batch body must be a JSON array' }, 400);
    }
    if (!Array.isArray(items) || items.length === 0) {
      return c.json({ error: 'batch body must be a non-empty JSON array' }, 400);
    }
    const requests: { destination: string; headers: Headers; body: Uint8Array<ArrayBuffer> }[] = [];
    for (const item of items as unknown[]) {
      const request = parseBatchItem(item);
      if ('error' in request) return c.json(request, 400);
      requests.push(request);
    }
    // Validate every item before publishing any, so a bad item cannot half-apply the batch.
    try {
      for (const { headers } of requests) parsePublishHeaders(headers, 0);
    } catch (error) {
      return c.json({ error: errorMessage(error) }, 400);
    }
    const results: PublishResult[] = [];
    for (const { destination, headers, body } of requests) {
      results.push(await deps.publish(destination, headers, body));
    }
    return c.json(results);
  });

  app.get('/v2/messages/:id', (c) => {
    const message = deps.store.get(c.req.param('id'));
    if (!isActive(message)) return c.json({ error: 'message not found' }, 404);
    return c.json(messagePayload(message));
  });

  app.delete('/v2/messages/:id', (c) => {
    const message = deps.store.get(c.req.param('id'));
    if (!message || !deps.cancel(message)) return c.json({ error: 'message not found' }, 404);
    return c.json({ cancelled: 1 });
  });

  app.delete('/v2/messages', async (c) => {
    const url = new URL(c.req.url);
    const messageIds = url.searchParams.getAll('messageIds');
    // Older clients sent the ids as a JSON body instead of the query string.
    const legacyBody = await c.req.text();
    if (legacyBody) {
      try {
        const parsed: unknown = JSON.parse(legacyBody);
        if (isRecord(parsed) && Array.isArray(parsed.messageIds)) {
          messageIds.push(...parsed.messageIds.map(String));
        }
      } catch {
        return c.json({ error: 'body must be JSON' }, 400);
      }
    }
    let targets: StoredMessage[];
    if (messageIds.length > 0) {
      targets = messageIds.flatMap((id) => deps.store.get(id) ?? []);
    } else {
      const matches = messageFilter(url.searchParams, MESSAGE_FILTERS);
      if (typeof matches === 'string') return c.json({ error: matches }, 400);
      targets = [...deps.store.values()].filter(matches);
    }
    const cancelled = targets.filter((message) => deps.cancel(message)).length;
    return c.json({ cancelled });
  });

  app.get('/v2/dlq', (c) => {
    const params = new URL(c.req.url).searchParams;
    const dlqIds = params.getAll('dlqIds');
    params.delete('dlqIds');
    const matches = messageFilter(params, DLQ_FILTERS);
    if (typeof matches === 'string') return c.json({ error: matches }, 400);
    const messages = [...deps.store.values()]
      .filter((message) => message.state === 'dlq')
      .filter((message) => dlqIds.length === 0 || dlqIds.includes(message.dlqId ?? ''))
      .filter(matches)
      .sort((a, b) => a.seq - b.seq)
      .map(dlqPayload);
    return c.json({ messages });
  });

  return app;
}

interface PublishSpec {
  method: string;
  notBefore?: number;
  deduplicationId?: string;
  contentBasedDeduplication: boolean;
  retries?: number;
  retryDelay?: RetryDelayExpression;
  callback?: string;
  failureCallback?: string;
  timeoutMs?: number;
  flowControl?: { key: string; parallelism?: number; rate?: number; periodMs: number };
  label?: string;
  forwardHeaders: Headers;
  callbackHeaders: Headers;
  failureCallbackHeaders: Headers;
}

/** Reads the Upstash-* publish headers; throws an Error whose message suits a 400. */
function parsePublishHeaders(headers: Headers, now: number): PublishSpec {
  const get = (name: string) => headers.get(name) ?? undefined;
  const method = (get('upstash-method') ?? 'POST').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new Error(`invalid Upstash-Method: ${method}`);

  let notBefore: number | undefined;
  const delay = get('upstash-delay');
  if (delay !== undefined) notBefore = now + parseDurationMs(delay, 'Upstash-Delay');
  const notBeforeHeader = get('upstash-not-before');
  if (notBeforeHeader !== undefined) {
    if (!/^\d+$/.test(notBeforeHeader)) {
      throw new Error(`invalid Upstash-Not-Before (unix seconds expected): ${notBeforeHeader}`);
    }
    notBefore = Number(notBeforeHeader) * 1000;
  }

  const retriesHeader = get('upstash-retries');
  if (retriesHeader !== undefined && !/^\d+$/.test(retriesHeader)) {
    throw new Error(`invalid Upstash-Retries: ${retriesHeader}`);
  }
  const retryDelayHeader = get('upstash-retry-delay');
  const timeout = get('upstash-timeout');

  const forwardHeaders = new Headers();
  const callbackHeaders = new Headers();
  const failureCallbackHeaders = new Headers();
  for (const [name, value] of headers) {
    // Headers iterates lower-case names.
    if (name.startsWith('upstash-forward-')) {
      forwardHeaders.set(name.slice('upstash-forward-'.length), value);
    } else if (name.startsWith('upstash-callback-forward-')) {
      callbackHeaders.set(name.slice('upstash-callback-forward-'.length), value);
    } else if (name.startsWith('upstash-failure-callback-forward-')) {
      failureCallbackHeaders.set(name.slice('upstash-failure-callback-forward-'.length), value);
    }
  }
  const contentType = get('content-type');
  if (contentType !== undefined) forwardHeaders.set('content-type', contentType);

  return {
    method,
    notBefore,
    deduplicationId: get('upstash-deduplication-id'),
    contentBasedDeduplication: get('upstash-content-based-deduplication') === 'true',
    retries: retriesHeader === undefined ? undefined : Number(retriesHeader),
    retryDelay: retryDelayHeader === undefined ? undefined : parseRetryDelay(retryDelayHeader),
    callback: optionalHttpUrl(get('upstash-callback'), 'Upstash-Callback'),
    failureCallback: optionalHttpUrl(get('upstash-failure-callback'), 'Upstash-Failure-Callback'),
    timeoutMs: timeout === undefined ? undefined : parseDurationMs(timeout, 'Upstash-Timeout'),
    flowControl: parseFlowControl(
      get('upstash-flow-control-key'),
      get('upstash-flow-control-value'),
    ),
    label: get('upstash-label'),
    forwardHeaders,
    callbackHeaders,
    failureCallbackHeaders,
  };
}

const DURATION_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: ONE_DAY_MS,
};

/** `30s`, `2m`, `1h`, `1d`, `1h30m`; a bare number means seconds, as in QStash. */
function parseDurationMs(value: string, header: string): number {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^(?:\d+(?:ms|s|m|h|d))+$/.test(trimmed)) throw new Error(`invalid ${header}: ${value}`);
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(amount) * DURATION_UNIT_MS[unit!]!;
  }
  return total;
}

function parseFlowControl(
  key: string | undefined,
  value: string | undefined,
): PublishSpec['flowControl'] {
  if (key === undefined && value === undefined) return undefined;
  if (!key || !value) {
    throw new Error('Upstash-Flow-Control-Key and Upstash-Flow-Control-Value go together');
  }
  const flowControl: NonNullable<PublishSpec['flowControl']> = { key, periodMs: 1000 };
  for (const part of value.split(',')) {
    const [name, setting] = part.split('=').map((text) => text.trim());
    if (!setting) throw new Error(`invalid Upstash-Flow-Control-Value: ${value}`);
    if (name === 'parallelism' || name === 'rate') {
      if (!/^\d+$/.test(setting) || Number(setting) < 1) {
        throw new Error(`invalid ${name} in Upstash-Flow-Control-Value: ${setting}`);
      }
      flowControl[name] = Number(setting);
    } else if (name === 'period') {
      flowControl.periodMs = parseDurationMs(setting, 'flow control period');
    } else {
      throw new Error(`unknown setting in Upstash-Flow-Control-Value: ${name}`);
    }
  }
  if (flowControl.parallelism === undefined && flowControl.rate === undefined) {
    throw new Error('Upstash-Flow-Control-Value needs parallelism and/or rate');
  }
  return flowControl;
}

function optionalHttpUrl(value: string | undefined, header: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isHttpUrl(value)) throw new Error(`${header} must be an http(s) URL: ${value}`);
  return value;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The destination is everything after /v2/publish/, including the query string. */
function destinationFromUrl(requestUrl: string): string | { error: string } {
  const at = requestUrl.indexOf(PUBLISH_PREFIX);
  let destination = requestUrl.slice(at + PUBLISH_PREFIX.length);
  // Accept a percent-encoded destination too, as QStash does.
  if (/^https?%3A/i.test(destination)) destination = decodeURIComponent(destination);
  if (!isHttpUrl(destination)) {
    return {
      error: `invalid destination: ${destination} (this stand-in delivers to http(s) URLs only; URL groups and APIs are not supported)`,
    };
  }
  return destination;
}

function parseBatchItem(
  item: unknown,
): { destination: string; headers: Headers; body: Uint8Array<ArrayBuffer> } | { error: string } {
  if (!isRecord(item) || typeof item.destination !== 'string') {
    return { error: 'every batch item needs a string destination' };
  }
  if (!isHttpUrl(item.destination)) {
    return { error: `invalid destination: ${item.destination} (http(s) URLs only)` };
  }
  const headers = new Headers();
  if (item.headers !== undefined) {
    if (!isRecord(item.headers)) return { error: 'batch item headers must be an object' };
    for (const [name, value] of Object.entries(item.headers)) headers.set(name, String(value));
  }
  if (item.body !== undefined && typeof item.body !== 'string') {
    return { error: 'batch item body must be a string' };
  }
  return {
    destination: item.destination,
    headers,
    body: new TextEncoder().encode(item.body ?? ''),
  };
}

type FilterField = (message: StoredMessage) => string | number | undefined;

const COMMON_FILTERS: Record<string, FilterField> = {
  url: (message) => message.url,
  label: (message) => message.label,
  flowControlKey: (message) => message.flowControlKey,
  callerIp: () => CALLER_IP,
  // URL groups, queues and schedules do not exist here, so these never match.
  topicName: () => undefined,
  queueName: () => undefined,
  scheduleId: () => undefined,
};

const MESSAGE_FILTERS: Record<string, FilterField> = {
  ...COMMON_FILTERS,
  host: (message) => new URL(message.url).host,
  path: (message) => new URL(message.url).pathname,
};

const DLQ_FILTERS: Record<string, FilterField> = {
  ...COMMON_FILTERS,
  responseStatus: (message) => message.lastResponse?.status,
};

/**
 * Builds a predicate from filter query parameters (repeated = any of, different = all of).
 * Unknown parameters are rejected rather than ignored: ignoring one would widen the filter,
 * and for a cancel that could mean cancelling everything.
 */
function messageFilter(
  params: URLSearchParams,
  fields: Record<string, FilterField>,
): ((message: StoredMessage) => boolean) | string {
  const checks: ((message: StoredMessage) => boolean)[] = [];
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    if (name === 'count' || name === 'cursor') continue;
    if (name === 'fromDate' || name === 'toDate') {
      const bound = Number(values[0]);
      if (!Number.isFinite(bound)) return `invalid ${name}: ${values[0]}`;
      checks.push((message) =>
        name === 'fromDate' ? message.createdAt >= bound : message.createdAt <= bound,
      );
      continue;
    }
    const field = fields[name];
    if (!field) return `unsupported filter: ${name}`;
    checks.push((message) => {
      const actual = field(message);
      return actual !== undefined && values.includes(String(actual));
    });
  }
  return (message) => checks.every((check) => check(message));
}

function messagePayload(message: StoredMessage) {
  const text = utf8OrUndefined(message.body);
  return {
    messageId: message.id,
    url: message.url,
    method: message.method,
    header: headersToLists(message.headers),
    ...(text === undefined
      ? { bodyBase64: Buffer.from(message.body).toString('base64') }
      : { body: text }),
    maxRetries: message.maxRetries,
    retryDelayExpression: message.retryDelay?.source,
    notBefore: message.notBefore,
    createdAt: message.createdAt,
    callback: message.callback,
    failureCallback: message.failureCallback,
    callerIp: CALLER_IP,
    flowControlKey: message.flowControlKey,
    parallelism: message.flowControl?.parallelism,
    rate: message.flowControl?.rate,
    period:
      message.flowControl === undefined
        ? undefined
        : Math.round(message.flowControl.periodMs / 1000),
    label: message.label,
    labels: message.label === undefined ? undefined : message.label.split(','),
  };
}

function dlqPayload(message: StoredMessage) {
  const response = message.lastResponse;
  const responseText = response === undefined ? undefined : utf8OrUndefined(response.body);
  return {
    ...messagePayload(message),
    dlqId: message.dlqId,
    responseStatus: response?.status,
    responseHeader: response === undefined ? undefined : headersToLists(response.headers),
    ...(response === undefined
      ? {}
      : responseText === undefined
        ? { responseBodyBase64: Buffer.from(response.body).toString('base64') }
        : { responseBody: responseText }),
  };
}

function snapshot(message: StoredMessage): MessageState {
  const response = message.lastResponse;
  return {
    id: message.id,
    url: message.url,
    method: message.method,
    body: new TextDecoder().decode(message.body),
    headers: Object.fromEntries(message.headers),
    notBefore: message.notBefore,
    createdAt: message.createdAt,
    state: message.state,
    inFlight: message.inFlight,
    attempts: message.attempts,
    maxRetries: message.maxRetries,
    retryDelay: message.retryDelay?.source,
    deduplicationId: message.deduplicationId,
    flowControlKey: message.flowControlKey,
    flowControl: message.flowControl,
    label: message.label,
    callback: message.callback,
    failureCallback: message.failureCallback,
    callbackFor: message.callbackFor,
    dlqId: message.dlqId,
    lastResponse:
      response === undefined
        ? undefined
        : {
            status: response.status,
            headers: Object.fromEntries(response.headers),
            body: new TextDecoder().decode(response.body),
          },
    lastError: message.lastError,
  };
}

function defaultBackoffMs(retried: number): number {
  return Math.min(86_400, Math.exp(2.5 * (retried + 1))) * 1000;
}

/** Content-based deduplication: same destination, body and forwarded headers = duplicate. */
function contentHash(destination: string, body: Uint8Array, headers: Headers): string {
  const hash = createHash('sha256').update(destination).update('\0').update(body);
  for (const [name, value] of [...headers].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`\0${name}:${value}`);
  }
  return `content:${hash.digest('hex')}`;
}

function headersToLists(headers: Headers): Record<string, string[]> {
  const lists: Record<string, string[]> = {};
  for (const [name, value] of headers) {
    // Set-Cookie is the one header Headers iterates once per value instead of joining.
    lists[name] = [...(lists[name] ?? []), value];
  }
  return lists;
}

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
