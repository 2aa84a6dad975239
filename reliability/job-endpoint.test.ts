import { SignJWT } from 'jose';
import { describe, expect } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../functions/jobs/define';
import { jobHandlers } from '../functions/jobs/registry';
import { qstashSignature, TEST_PUBLIC_BASE_URL, testBindings } from '../test/harness';
import { it } from '../test/it';
import { inBatches, secondsSince, summary, Tally } from './report';
import { captureLogs, leaksIn } from './secrets';
import { CONCURRENCY, size } from './sizes';

/**
 * Issue 15, the job endpoint: `POST /jobs/:kind` runs work only for QStash. Every way to get a
 * job run without QStash's signature over this body and this URL — unsigned, forged with another
 * key, a real signature replayed with another body or at another kind's URL, expired, without
 * `exp`, `alg: none` — is refused with a 401, and the job never runs. Probed on every registered
 * kind plus a counting one, with well-formed envelopes (so only the signature stands in the way).
 */
let runs = 0;
const countingJob = defineJob({
  kind: 'reliability-count',
  payload: z.object({}).loose(),
  async handle() {
    runs++;
    return { status: 'done' };
  },
});
it.override('harnessOptions', { jobs: [countingJob] });
const logs = captureLogs();

const keys = () => {
  const b = testBindings();
  return {
    current: b.QSTASH_CURRENT_SIGNING_KEY as string,
    next: b.QSTASH_NEXT_SIGNING_KEY as string,
  };
};

/** A QStash-shaped signature with every claim chosen by the caller. */
async function signature(
  body: string,
  kind: string,
  o: { key?: string; exp?: number | null; nbf?: number; sub?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const hash = Buffer.from(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
  ).toString('base64url');
  const jwt = new SignJWT({ body: hash })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Upstash')
    .setSubject(o.sub ?? `${TEST_PUBLIC_BASE_URL}/jobs/${kind}`)
    .setIssuedAt(now - 3600)
    .setNotBefore(o.nbf ?? now - 3600);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? now + 300);
  return jwt.sign(new TextEncoder().encode(o.key ?? keys().current));
}

/** The right claims for this body and URL, but `alg: none` and no signature at all. */
async function unsignedJwt(body: string, kind: string) {
  const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const hash = Buffer.from(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
  ).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({
    iss: 'Upstash',
    sub: `${TEST_PUBLIC_BASE_URL}/jobs/${kind}`,
    body: hash,
    exp: now + 300,
    nbf: now - 10,
  })}.`;
}

describe('reliability: the job endpoint', () => {
  it('unsigned, forged, replayed for another body or URL, expired: refused, nothing runs', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const started = performance.now();
    const kinds = [...jobHandlers.map((j) => j.kind), countingJob.kind];
    const envelope = (n: number) =>
      JSON.stringify({
        outboxId: crypto.randomUUID(),
        tenantId: t.tenantId,
        payload: { conversationId: crypto.randomUUID(), messageId: crypto.randomUUID(), n },
      });
    const now = Math.floor(Date.now() / 1000);
    type Attack = [string, (body: string, kind: string) => Promise<string | null>, string?];
    const attacks: Attack[] = [
      ['unsigned', async () => null],
      ['garbage', async () => 'not-a-jwt'],
      ['forged-key', (body, kind) => signature(body, kind, { key: 'sig_attacker_key' })],
      ['other-body', (body, kind) => qstashSignature(`${body} `, kind)],
      ['other-url', (body) => qstashSignature(body, 'reliability-elsewhere')],
      [
        'other-host',
        (body, kind) => signature(body, kind, { sub: `https://evil.example/jobs/${kind}` }),
      ],
      ['expired', (body, kind) => signature(body, kind, { exp: now - 60 })],
      [
        'not-yet-valid',
        (body, kind) => signature(body, kind, { nbf: now + 3600, exp: now + 7200 }),
      ],
      ['no-exp', (body, kind) => signature(body, kind, { exp: null })],
      ['alg-none', (body, kind) => unsignedJwt(body, kind)],
    ];
    const [before] = await sql`select
      (select count(*) from job_outbox)::int as jobs,
      (select count(*) from messages)::int as messages,
      (select count(*) from agent_runs)::int as runs`;
    const answers = new Tally();
    const leaks: string[] = [];
    const probes = Array.from({ length: size.operatorRounds }, () =>
      kinds.flatMap((kind) => attacks.map((attack) => ({ kind, attack }))),
    ).flat();
    let refused = 0;
    await inBatches(probes, CONCURRENCY, async ({ kind, attack: [name, sign] }, i) => {
      const body = envelope(i);
      const sig = await sign(body, kind);
      const res = await h.request(`${TEST_PUBLIC_BASE_URL}/jobs/${kind}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(sig ? { 'upstash-signature': sig } : {}),
        },
        body,
      });
      const text = await res.text();
      leaks.push(...leaksIn(text));
      answers.add(`${name}-${res.status}`);
      if (res.status === 401) refused++;
    });
    // The control: the same envelope correctly signed does run (so the refusals are the signature's).
    const body = envelope(-1);
    const control = await h.request(`${TEST_PUBLIC_BASE_URL}/jobs/${countingJob.kind}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'upstash-signature': await qstashSignature(body, countingJob.kind),
      },
      body,
    });
    const [after] = await sql`select
      (select count(*) from job_outbox)::int as jobs,
      (select count(*) from messages)::int as messages,
      (select count(*) from agent_runs)::int as runs`;
    const logLeaks = logs.leaks();
    summary('job-endpoint', {
      sent: probes.length,
      kinds: kinds.length,
      attacks: attacks.length,
      refused401: refused,
      answers: answers.toString(),
      ran: runs - (control.status === 200 ? 1 : 0),
      rowsChanged:
        Number(before?.jobs !== after?.jobs) +
        Number(before?.messages !== after?.messages) +
        Number(before?.runs !== after?.runs),
      controlStatus: control.status,
      leaks: leaks.length + logLeaks.size,
      seconds: secondsSince(started),
    });
    expect(refused).toBe(probes.length);
    expect(control.status).toBe(200);
    expect(runs).toBe(1);
    expect(after).toEqual(before);
    expect(leaks).toEqual([]);
    expect([...logLeaks.keys()]).toEqual([]);
  });
});
