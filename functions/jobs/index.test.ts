import { SignJWT } from 'jose';
import { describe, expect, vi } from 'vitest';
import { z } from 'zod';
import { asTenant } from '../../db/client';
import { createArticle } from '../../db/knowledge';
import { enqueueJob } from '../../db/outbox';
import { PERSONAL } from '../../test/failed-query';
import { qstashSignature, TEST_PUBLIC_BASE_URL, testBindings } from '../../test/harness';
import { it as base, must } from '../../test/it';
import { parseEnv } from '../env';
import { JOB_RETRIES, JOB_RETRY_DELAY, publishJobs, sweepOutbox } from '../lib/jobs';
import { createServices } from '../services';
import { defineJob } from './define';

type Seen = { tenantId: string; value: string; retried: number };
const seen: Seen[] = [];
let failuresLeft = 0;

const echoJob = defineJob({
  kind: 'test-echo',
  payload: z.object({ value: z.string() }),
  async handle(ctx, payload) {
    if (failuresLeft > 0) {
      failuresLeft--;
      throw new Error('transient');
    }
    seen.push({ tenantId: ctx.tenantId, value: payload.value, retried: ctx.retried });
    return payload.value === 'poison'
      ? { status: 'dead', detail: 'cannot be done' }
      : { status: 'done' };
  },
});

/**
 * Fails the way a real query does (drizzle's error message lists the parameters): an article
 * written for another tenant than the one bound, which row-level security refuses.
 */
const leakyJob = defineJob({
  kind: 'test-leak',
  payload: z.object({}),
  async handle(ctx) {
    await asTenant(ctx.services.db, ctx.tenantId, (scoped) =>
      createArticle(
        { tx: scoped.tx, tenantId: crypto.randomUUID() },
        { title: PERSONAL.name, body: PERSONAL.text, language: 'es', tags: [], published: true },
      ),
    );
    return { status: 'done' };
  },
});

const signingKey = () => must(testBindings().QSTASH_CURRENT_SIGNING_KEY, 'the QStash signing key');

const it = base
  /** Enqueues a test-echo job for the tenant and publishes it, with the harness's bindings or others. */
  .extend('enqueueAndPublish', { scope: 'file' }, ({ harness: h, db, tenant: t }) => {
    return async (value: string, bindings = h.bindings, kind = 'test-echo') => {
      const env = parseEnv(bindings);
      const { services, close } = createServices(env);
      const job = must(
        await asTenant(db, t.tenantId, (ctx) =>
          enqueueJob(ctx, { kind, payload: kind === 'test-echo' ? { value } : {} }),
        ),
        'the enqueued job',
      );
      await publishJobs(services, env, [job]);
      await close();
      return job;
    };
  });
it.override('harnessOptions', { jobs: [echoJob, leakyJob] });

describe('jobs: outbox → QStash → /jobs/:kind', () => {
  it('delivers a published job once, signed, with its tenant and payload', async ({
    harness: h,
    sql,
    tenant: t,
    enqueueAndPublish,
  }) => {
    seen.length = 0;
    const job = await enqueueAndPublish('hello');
    await h.settle();
    expect(seen).toEqual([{ tenantId: t.tenantId, value: 'hello', retried: 0 }]);
    const [row] =
      await sql`select status, provider_message_id from job_outbox where id = ${job.id}`;
    expect(row?.status).toBe('published');
    expect(row?.provider_message_id).toMatch(/^msg_/);
  });

  it('retries a job whose handler failed, with Upstash-Retried counting', async ({
    harness: h,
    tenant: t,
    enqueueAndPublish,
  }) => {
    seen.length = 0;
    failuresLeft = 1;
    await enqueueAndPublish('again');
    await h.settle();
    expect(seen).toEqual([{ tenantId: t.tenantId, value: 'again', retried: 1 }]);
  });

  it('retries a job failing on a database error with its own bounded backoff, not QStash default hours', async ({
    harness: h,
    enqueueAndPublish,
  }) => {
    const qstash = must(h.qstash, 'the QStash stand-in');
    const job = await enqueueAndPublish('', h.bindings, 'test-leak');
    const message = () =>
      must(
        qstash.messages().find((m) => m.body.includes(job.id)),
        'the published job',
      );
    expect(message()).toMatchObject({ maxRetries: JOB_RETRIES, retryDelay: JOB_RETRY_DELAY });
    // Step through the deliveries on the stand-in clock: each failure schedules the next try.
    const gapsMs: number[] = [];
    let previous = message().createdAt;
    for (let delivery = 0; delivery <= JOB_RETRIES; delivery++) {
      await qstash.deliverDue();
      const m = message();
      if (m.state === 'dlq') break;
      expect(m.state).toBe('failed');
      gapsMs.push(m.notBefore - previous);
      previous = m.notBefore;
      qstash.advanceClockTo(m.notBefore);
    }
    expect(message()).toMatchObject({ state: 'dlq', attempts: JOB_RETRIES + 1 });
    // 5 s, 10 s, 20 s, 40 s, 80 s (plus the few ms each delivery takes): minutes in all, not hours.
    const expected = [5_000, 10_000, 20_000, 40_000, 80_000];
    expect(gapsMs).toHaveLength(expected.length);
    gapsMs.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]!);
      expect(gap).toBeLessThan(expected[i]! + 2_000);
    });
  });

  it('answers 489 non-retryable for a permanent failure, so QStash dead-letters it without retrying', async ({
    harness: h,
    enqueueAndPublish,
  }) => {
    seen.length = 0;
    await enqueueAndPublish('poison');
    await h.settle();
    expect(seen).toHaveLength(1);
    expect(
      must(h.qstash, 'the QStash stand-in')
        .dlq()
        .some((m) => m.body.includes('poison')),
    ).toBe(true);
  });

  it('keeps a job pending when QStash is down, and the sweeper publishes it exactly once later', async ({
    harness: h,
    sql,
    enqueueAndPublish,
  }) => {
    seen.length = 0;
    const down = { ...h.bindings, QSTASH_URL: 'http://127.0.0.1:9' };
    const job = await enqueueAndPublish('while-down', down);
    const [pending] = await sql`select status, last_error from job_outbox where id = ${job.id}`;
    expect(pending?.status).toBe('pending');
    expect(pending?.last_error).toBeTruthy();
    await sql`update job_outbox set created_at = now() - interval '1 minute' where id = ${job.id}`;
    const env = parseEnv(h.bindings);
    const { services, close } = createServices(env);
    expect(await sweepOutbox(services, env)).toBeGreaterThanOrEqual(1);
    // A second sweep (or a crash between publish and marking) must not deliver twice.
    await publishJobs(services, env, [job]);
    await close();
    await h.settle();
    expect(seen.filter((s) => s.value === 'while-down')).toHaveLength(1);
  });

  it('refuses deliveries without a valid Upstash-Signature (401), running nothing', async ({
    harness: h,
    tenant: t,
  }) => {
    seen.length = 0;
    const body = JSON.stringify({
      outboxId: crypto.randomUUID(),
      tenantId: t.tenantId,
      payload: { value: 'forged' },
    });
    const unsigned = await h.request('/jobs/test-echo', { method: 'POST', body });
    expect(unsigned.status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const hash = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
    ).toString('base64url');
    const sign = (key: string, url: string, expires = true) => {
      const jwt = new SignJWT({ body: hash })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer('Upstash')
        .setSubject(url)
        .setIssuedAt(now)
        .setNotBefore(now);
      if (expires) jwt.setExpirationTime(now + 300);
      return jwt.sign(new TextEncoder().encode(key));
    };
    const wrongKey = await sign('not-the-key', `${TEST_PUBLIC_BASE_URL}/jobs/test-echo`);
    const wrongUrl = await sign(signingKey(), `${TEST_PUBLIC_BASE_URL}/jobs/other`);
    // QStash's signatures always expire (after 5 minutes); one that never does is a forgery or a
    // leaked key's work, and would let a captured delivery be replayed forever.
    const neverExpires = await sign(signingKey(), `${TEST_PUBLIC_BASE_URL}/jobs/test-echo`, false);
    for (const signature of [wrongKey, wrongUrl, neverExpires]) {
      const res = await h.request('/jobs/test-echo', {
        method: 'POST',
        body,
        headers: { 'upstash-signature': signature },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    const valid = await sign(signingKey(), `${TEST_PUBLIC_BASE_URL}/jobs/test-echo`);
    const ok = await h.request('/jobs/test-echo', {
      method: 'POST',
      body,
      headers: { 'upstash-signature': valid },
    });
    expect(ok.status).toBe(200);
    // Only the correctly signed delivery ran.
    expect(seen.map((s) => s.value)).toEqual(['forged']);
  });

  it('answers 489 for a signed body that does not match the job schema', async ({
    harness: h,
    tenant: t,
  }) => {
    const body = JSON.stringify({
      outboxId: crypto.randomUUID(),
      tenantId: t.tenantId,
      payload: { value: 42 },
    });
    const now = Math.floor(Date.now() / 1000);
    const hash = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
    ).toString('base64url');
    const signature = await new SignJWT({ body: hash })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('Upstash')
      .setSubject(`${TEST_PUBLIC_BASE_URL}/jobs/test-echo`)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(signingKey()));
    const res = await h.request('/jobs/test-echo', {
      method: 'POST',
      body,
      headers: { 'upstash-signature': signature },
    });
    expect(res.status).toBe(489);
    expect(res.headers.get('upstash-nonretryable-error')).toBe('true');
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'value: Invalid input',
    );
  });

  it('answers a failed query with 503 and a generic message: no parameters in the body or the logs', async ({
    harness: h,
    tenant: t,
  }) => {
    const body = JSON.stringify({
      outboxId: crypto.randomUUID(),
      tenantId: t.tenantId,
      payload: {},
    });
    const lines: string[] = [];
    // The logger writes each level with its own console method (functions/lib/logger.ts).
    const spies = (['log', 'info', 'warn', 'error'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((line: unknown) => {
        lines.push(String(line));
      }),
    );
    let res: Response;
    try {
      res = await h.request('/jobs/test-leak', {
        method: 'POST',
        body,
        headers: { 'upstash-signature': await qstashSignature(body, 'test-leak', signingKey()) },
      });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: 'the job failed (DrizzleQueryError 42501); see the logs',
    });
    const failed = lines.map((l) => JSON.parse(l)).find((e) => e.msg === 'job failed');
    expect(failed).toMatchObject({ error: 'DrizzleQueryError', code: '42501' });
    for (const out of [text, ...lines]) {
      for (const word of [PERSONAL.name, '+34600', 'Llámame', 'params:', 'Failed query']) {
        expect(out).not.toContain(word);
      }
    }
  });
});
