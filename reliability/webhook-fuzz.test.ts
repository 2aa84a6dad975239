import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { eventIdOf } from '../functions/webhooks';
import { TEST_APP_SECRET } from '../test/harness';
import { it } from '../test/it';
import { WEBHOOK_URL } from '../test/meta-webhooks';
import { type FuzzCase, fuzzCases } from './bodies';
import { inBatches, secondsSince, summary, Tally } from './report';
import { captureLogs, leaksIn } from './secrets';
import { CONCURRENCY, size } from './sizes';

/**
 * Issue 15, webhook fuzzing: `size.fuzzBodies` bodies from the generator in ./bodies.ts (Meta's
 * shapes, mutated), half posted without a valid signature, half signed with the app secret.
 * Holds: no answer is a 5xx; the unsigned half leaves no row anywhere; every signed body answered
 * 200 is kept (processed, or dead with its reason), every unusable one dead, every valid message
 * stored exactly once and only under the account it names; no log line holds a secret.
 * The seed is on the summary line: `RELIABILITY_SEED=<seed>` replays the same bodies.
 */
it.override('harnessOptions', { bindings: { LOG_LEVEL: 'debug' } });
const logs = captureLogs();

const seed = Number(process.env.RELIABILITY_SEED ?? Date.now() % 2 ** 31);
const TABLES = ['webhook_events', 'messages', 'contacts', 'conversations', 'job_outbox'] as const;

async function rowCounts(sql: postgres.Sql): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const [row] = await sql`select count(*)::int as n from ${sql(table)}`;
    counts[table] = row?.n as number;
  }
  return counts;
}

const sign = (raw: string | Uint8Array, secret = TEST_APP_SECRET) =>
  `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

/** Ways a body arrives without a valid signature. */
const forgeries: Array<[string, (raw: string | Uint8Array) => string | null]> = [
  ['no-header', () => null],
  ['garbage', () => 'not a signature'],
  ['empty', () => ''],
  ['sha1', (raw) => `sha1=${createHmac('sha1', TEST_APP_SECRET).update(raw).digest('hex')}`],
  ['wrong-secret', (raw) => sign(raw, 'another-apps-secret')],
  ['other-body', (raw) => sign(`${typeof raw === 'string' ? raw : 'x'} `)],
  ['truncated', (raw) => sign(raw).slice(0, -2)],
  ['zeros', () => `sha256=${'0'.repeat(64)}`],
];

describe('reliability: webhook fuzzing', () => {
  it(`${size.fuzzBodies} bodies, half unsigned, half signed: no 5xx, no row from unsigned input, nothing lost or doubled`, async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Fuzz A');
    const b = await newTenant('Fuzz B');
    const cases = fc.sample(fuzzCases([a, b]), { numRuns: size.fuzzBodies, seed });
    const half = Math.floor(cases.length / 2);
    const unsigned = cases.slice(0, half);
    const signed = cases.slice(half);
    const started = performance.now();
    const post = (c: FuzzCase, signature: string | null) =>
      h.request(WEBHOOK_URL, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
        },
        body: c.raw as BodyInit,
      });
    const statuses = new Tally();
    const answerLeaks: string[] = [];

    // Unsigned first, alone, so any row it left would show in the counts.
    const before = await rowCounts(sql);
    const unsignedIds: string[] = [];
    await inBatches(unsigned, CONCURRENCY, async (c, i) => {
      const [how, forge] = forgeries[i % forgeries.length] as (typeof forgeries)[number];
      const res = await post(c, forge(c.raw));
      const text = await res.text();
      statuses.add(`unsigned-${res.status}`);
      answerLeaks.push(...leaksIn(text));
      if (res.status !== 401 && res.status !== 413) statuses.add(`unsigned-${how}-${res.status}`);
      unsignedIds.push(
        await eventIdOf(typeof c.raw === 'string' ? new TextEncoder().encode(c.raw) : c.raw),
      );
    });
    const unsignedSeconds = secondsSince(started);
    const afterUnsigned = await rowCounts(sql);
    const storedUnsigned =
      await sql`select id from webhook_events where id = any(${unsignedIds}::uuid[])`;

    // Signed: every answer, then what was stored, checked in bulk.
    const answered: Array<{ c: FuzzCase; status: number; eventId?: string }> = [];
    await inBatches(signed, CONCURRENCY, async (c) => {
      const res = await post(c, sign(c.raw));
      const text = await res.text();
      answerLeaks.push(...leaksIn(text));
      statuses.add(`signed-${res.status}`);
      let eventId: string | undefined;
      if (res.status === 200) eventId = (JSON.parse(text) as { event_id: string }).event_id;
      answered.push({ c, status: res.status, eventId });
    });
    const eventIds = answered.flatMap((x) => (x.eventId ? [x.eventId] : []));
    const events = new Map(
      (
        await sql`select id, outcome, reason from webhook_events where id = any(${eventIds}::uuid[])`
      ).map((r) => [r.id as string, r as { outcome: string; reason: string | null }]),
    );
    const outcomes = new Tally();
    const byKind = new Tally();
    let eventsLost = 0;
    let deadWithoutReason = 0;
    let unusableNotDead = 0;
    let validNotProcessed = 0;
    const expectedIds: string[] = [];
    for (const { c, status, eventId } of answered) {
      if (status !== 200 || !eventId) {
        byKind.add(`${c.kind}->${status}`);
        continue;
      }
      const event = events.get(eventId);
      if (!event) {
        eventsLost++;
        continue;
      }
      outcomes.add(event.outcome);
      byKind.add(`${c.kind}->${event.outcome}`);
      if (event.outcome === 'dead' && !event.reason?.trim()) deadWithoutReason++;
      if (c.expect === 'dead' && event.outcome !== 'dead') unusableNotDead++;
      if (c.expect === 'processed' && event.outcome !== 'processed') validNotProcessed++;
      expectedIds.push(...c.messageIds);
    }
    // Per account: the same provider id under two accounts is two messages (the fuzzer gives
    // several bodies the same injected id); under one account, twice would be a double.
    const stored = await sql`select provider_message_id as id, channel_account_id as account,
        count(*)::int as n from messages
      where tenant_id in (${a.tenantId}, ${b.tenantId}) group by provider_message_id, channel_account_id`;
    const storedIds = new Set(stored.map((r) => r.id as string));
    const storedCount = new Map(stored.map((r) => [`${r.account}:${r.id}`, r.n as number]));
    const lost = expectedIds.filter((id) => !storedIds.has(id));
    const doubledIds = [...storedCount.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    const doubled = doubledIds.length;
    // A mismatched WABA/number pair reaches no business (not even the number's own).
    const mismatchedIds = cases
      .filter((c) => c.kind === 'mismatched-account')
      .map((c) => {
        const match = /wamid\.RELIABILITY\d+/.exec(typeof c.raw === 'string' ? c.raw : '');
        return match?.[0] ?? '';
      });
    const [mismatchedStored] = await sql`select count(*)::int as n from messages
      where provider_message_id = any(${mismatchedIds})`;
    // A provider time years ahead is taken as the receipt time (MAX_CLOCK_SKEW_MS, 5 minutes).
    const [future] = await sql`select count(*)::int as n from messages
      where tenant_id in (${a.tenantId}, ${b.tenantId}) and provider_timestamp > now() + interval '10 minutes'`;
    const logLeaks = logs.leaks();
    const fiveXx = [...statuses.toString().matchAll(/-5\d\d:(\d+)/g)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );

    summary('webhook-fuzz', {
      sent: cases.length,
      unsigned: unsigned.length,
      signed: signed.length,
      seed,
      answers: statuses.toString(),
      outcomes: outcomes.toString(),
      '5xx': fiveXx,
      unsignedRows:
        Object.values(afterUnsigned).reduce((s, n) => s + n, 0) -
        Object.values(before).reduce((s, n) => s + n, 0) +
        storedUnsigned.length,
      eventsLost,
      deadWithoutReason,
      unusableNotDead,
      validNotProcessed,
      messagesExpected: expectedIds.length,
      lost: lost.length,
      doubled,
      mismatchedStored: mismatchedStored?.n as number,
      futureTimestamps: future?.n as number,
      leaks: answerLeaks.length + [...logLeaks.values()].reduce((s, n) => s + n, 0),
      logLines: logs.lines.length,
      unsignedSeconds,
      seconds: secondsSince(started),
    });
    process.stdout.write(`[reliability] webhook-fuzz by kind: ${byKind}\n`);
    if (doubled)
      process.stdout.write(
        `[reliability] webhook-fuzz doubled: ${JSON.stringify(doubledIds.slice(0, 10))}\n`,
      );

    expect(fiveXx).toBe(0);
    // Refused: 401, or 413 for a body over the 1 MiB limit (read before the signature).
    expect(statuses.get('unsigned-401') + statuses.get('unsigned-413')).toBe(unsigned.length);
    expect(afterUnsigned).toEqual(before);
    expect(storedUnsigned).toEqual([]);
    expect(eventsLost).toBe(0);
    expect(deadWithoutReason).toBe(0);
    expect(unusableNotDead).toBe(0);
    expect(validNotProcessed).toBe(0);
    expect(lost).toEqual([]);
    expect(doubled).toBe(0);
    expect(mismatchedStored?.n).toBe(0);
    expect(future?.n).toBe(0);
    expect(answerLeaks).toEqual([]);
    expect([...logLeaks.keys()]).toEqual([]);
    // The generator reaches storage, not only the parser.
    expect(expectedIds.length).toBeGreaterThan(signed.length / 4);
  });
});
