import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { asIntake } from '../../../db/client';
import { rollUpDashboards } from '../../../db/dashboard';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

describeOperatorSecurity({ method: 'GET', path: '/admin/dashboard?days=7' });

/**
 * Days of a business in New York (UTC−5 in January) with known answers: the figures below are
 * worked out by hand from the rows `seedDays` writes. 23:30 on the 5th is 04:30Z on the 6th: a
 * dashboard counting UTC days would put that wait on the wrong day.
 */
const ZONE = 'America/New_York';
const local = (day: number, time: string) => new Date(`2026-01-0${day}T${time}-05:00`);

type Msg = {
  direction: 'inbound' | 'outbound';
  sender: 'user' | 'agent' | 'operator' | 'system';
  at: Date;
  type?: string;
  status?: string;
  errorCode?: string;
  errorReason?: string;
  userId?: string;
};

async function message(sql: postgres.Sql, t: TenantFixture, conv: Conv, m: Msg) {
  const payload = m.userId ? { requested_by_user_id: m.userId } : {};
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_timestamp, received_at, status, error_code, error_reason, payload)
    values (${t.tenantId}, ${conv.id}, ${conv.accountId}, ${m.direction}, ${m.sender},
      ${m.type ?? 'text'}, 'x', ${m.at}, ${m.at}, ${m.status ?? (m.direction === 'inbound' ? 'received' : 'delivered')},
      ${m.errorCode ?? null}, ${m.errorReason ?? null}, ${sql.json(payload)})`;
}

type Conv = { id: string; accountId: string };

async function conversation(
  sql: postgres.Sql,
  t: TenantFixture,
  channel: 'whatsapp' | 'messenger' | 'instagram',
): Promise<Conv> {
  const c = await createConversation(sql, t, { channel, lastInboundAt: null });
  return { id: c.conversationId, accountId: t.accounts[channel].id };
}

async function run(
  sql: postgres.Sql,
  t: TenantFixture,
  conv: Conv,
  at: Date,
  usage: { inputTokens: number; outputTokens: number },
  cost: number | null,
  outcome = 'replied',
) {
  await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, usage, cost_usd,
      outcome, started_at, finished_at)
    values (${t.tenantId}, ${conv.id}, ${crypto.randomUUID()}, 'gpt-test', ${sql.json(usage)}, ${cost},
      ${outcome}, ${at}, ${at})`;
}

async function lock(
  sql: postgres.Sql,
  t: TenantFixture,
  conv: Conv,
  at: Date,
  source: 'escalation' | 'keyword' | 'operator',
  reason: string,
  locked = true,
) {
  await sql`insert into conversation_lock_events (tenant_id, conversation_id, locked, source, reason, at)
    values (${t.tenantId}, ${conv.id}, ${locked}, ${source}, ${reason}, ${at})`;
}

/** The 5th to the 7th of January 2026 of one business; `staff` sends the person's replies. */
async function seedDays(sql: postgres.Sql, t: TenantFixture, staff: string) {
  await sql`update tenant_settings set time_zone = ${ZONE} where tenant_id = ${t.tenantId}`;
  const a = await conversation(sql, t, 'whatsapp');
  const b = await conversation(sql, t, 'messenger');
  const c = await conversation(sql, t, 'instagram');
  // The 5th, WhatsApp: two messages, one wait of 30 s (the AI); then 120 s (a person); a wait
  // that starts at 23:30 and ends at 00:10 the next day (2400 s, the AI), counted on the 5th.
  await message(sql, t, a, { direction: 'inbound', sender: 'user', at: local(5, '09:00:00') });
  await message(sql, t, a, { direction: 'inbound', sender: 'user', at: local(5, '09:00:10') });
  await message(sql, t, a, { direction: 'outbound', sender: 'agent', at: local(5, '09:00:30') });
  await message(sql, t, a, { direction: 'inbound', sender: 'user', at: local(5, '09:05:00') });
  await message(sql, t, a, {
    direction: 'outbound',
    sender: 'operator',
    at: local(5, '09:07:00'),
    userId: staff,
  });
  await message(sql, t, a, { direction: 'inbound', sender: 'user', at: local(5, '23:30:00') });
  await message(sql, t, a, { direction: 'outbound', sender: 'agent', at: local(6, '00:10:00') });
  // The 6th, Messenger: 60 s (the AI); a reply that failed (not a reply); a note (not a message).
  await message(sql, t, b, { direction: 'inbound', sender: 'user', at: local(6, '10:00:00') });
  await message(sql, t, b, { direction: 'outbound', sender: 'agent', at: local(6, '10:01:00') });
  await message(sql, t, b, {
    direction: 'outbound',
    sender: 'agent',
    at: local(6, '10:02:00'),
    status: 'failed',
    errorCode: '131047',
    errorReason: 'Re-engagement message',
  });
  await message(sql, t, b, {
    direction: 'outbound',
    sender: 'system',
    type: 'note',
    status: 'received',
    at: local(6, '10:03:00'),
  });
  // The 7th, Instagram: 600 s (the AI), then 5 s (a person on the phone's app: no user id).
  await message(sql, t, c, { direction: 'inbound', sender: 'user', at: local(7, '12:00:00') });
  await message(sql, t, c, { direction: 'outbound', sender: 'agent', at: local(7, '12:10:00') });
  await message(sql, t, c, { direction: 'inbound', sender: 'user', at: local(7, '12:20:00') });
  await message(sql, t, c, { direction: 'outbound', sender: 'operator', at: local(7, '12:20:05') });

  await run(sql, t, a, local(5, '09:00:20'), { inputTokens: 1000, outputTokens: 50 }, 0.002);
  await run(sql, t, b, local(6, '10:00:30'), { inputTokens: 2000, outputTokens: 100 }, 0.004);
  await run(
    sql,
    t,
    c,
    local(7, '12:09:00'),
    { inputTokens: 500, outputTokens: 20 },
    null,
    'handed_off',
  );

  await lock(sql, t, b, local(6, '10:05:00'), 'escalation', 'The customer wants a refund');
  await lock(
    sql,
    t,
    c,
    local(7, '12:15:00'),
    'keyword',
    'The customer asked for a person ("humano")',
  );
  await lock(
    sql,
    t,
    a,
    local(7, '08:00:00'),
    'escalation',
    "This month's AI budget (US$5.00) is spent, so the AI did not answer; a person should reply.",
  );
  // Not handoffs: an operator taking over, and an unlock.
  await lock(sql, t, c, local(7, '12:20:05'), 'operator', 'An operator replied');
  await lock(sql, t, b, local(7, '09:00:00'), 'escalation', 'Unlocked', false);
}

type DashboardBody = {
  from: string;
  to: string;
  time_zone: string;
  days: string[];
  series: Record<string, unknown>;
  totals: Record<string, unknown>;
  handoff_reasons: unknown[];
  failure_reasons: unknown[];
  channels: Array<{ channel: string; totals: Record<string, number> } & Record<string, unknown>>;
  staff: unknown[];
};

const PERIOD = '/admin/dashboard?from=2026-01-04&to=2026-01-07';

/** The answer for PERIOD, worked out by hand from seedDays. */
function expected(staff: { id: string; email: string }) {
  return {
    from: '2026-01-04',
    to: '2026-01-07',
    time_zone: ZONE,
    days: ['2026-01-04', '2026-01-05', '2026-01-06', '2026-01-07'],
    series: {
      conversations: [0, 1, 2, 1],
      messages_in: [0, 4, 1, 2],
      messages_out: [0, 2, 3, 2],
      ai_replies: [0, 1, 3, 1],
      human_replies: [0, 1, 0, 1],
      handoffs: [0, 0, 1, 2],
      delivery_failures: [0, 0, 1, 0],
      runs: [0, 1, 1, 1],
      input_tokens: [0, 1000, 2000, 500],
      output_tokens: [0, 50, 100, 20],
      cost_usd: [0, 0.002, 0.004, 0],
      unpriced_runs: [0, 0, 0, 1],
      // Waits of the 5th: 30 s and 2400 s (median 1215, p95 30 + 0.95 × 2370 = 2281.5).
      first_reply_ai: {
        median_seconds: [null, 1215, 60, 600],
        p95_seconds: [null, 2281.5, 60, 600],
        count: [0, 2, 1, 1],
      },
      first_reply_human: {
        median_seconds: [null, 120, null, 5],
        p95_seconds: [null, 120, null, 5],
        count: [0, 1, 0, 1],
      },
    },
    totals: {
      conversations: 4,
      messages_in: 7,
      messages_out: 7,
      ai_replies: 5,
      human_replies: 2,
      handoffs: 3,
      delivery_failures: 1,
      runs: 3,
      input_tokens: 3500,
      output_tokens: 170,
      cost_usd: 0.006,
      unpriced_runs: 1,
      first_reply_ai: { count: 4, average_seconds: 772.5 },
      first_reply_human: { count: 2, average_seconds: 62.5 },
    },
    handoff_reasons: [
      { reason: 'agent_decided', total: 1, per_day: [0, 0, 1, 0] },
      { reason: 'budget_spent', total: 1, per_day: [0, 0, 0, 1] },
      { reason: 'customer_asked', total: 1, per_day: [0, 0, 0, 1] },
    ],
    failure_reasons: [
      { code: '131047', reason: 'Re-engagement message', total: 1, per_day: [0, 0, 1, 0] },
    ],
    channels: [
      expect.objectContaining({
        channel: 'whatsapp',
        conversations_per_day: [0, 1, 1, 0],
        totals: expect.objectContaining({ messages_in: 4, messages_out: 3, handoffs: 1 }),
        first_reply_ai: { count: 2, average_seconds: 1215 },
        first_reply_human: { count: 1, average_seconds: 120 },
      }),
      expect.objectContaining({
        channel: 'messenger',
        conversations_per_day: [0, 0, 1, 0],
        totals: expect.objectContaining({ delivery_failures: 1, cost_usd: 0.004, handoffs: 1 }),
        first_reply_ai: { count: 1, average_seconds: 60 },
        first_reply_human: { count: 0, average_seconds: null },
      }),
      expect.objectContaining({
        channel: 'instagram',
        conversations_per_day: [0, 0, 0, 1],
        totals: expect.objectContaining({ human_replies: 1, unpriced_runs: 1 }),
        first_reply_ai: { count: 1, average_seconds: 600 },
        first_reply_human: { count: 1, average_seconds: 5 },
      }),
    ],
    // The echo from the phone's app has no operator: it counts as a person's reply, not theirs.
    staff: [
      {
        user_id: staff.id,
        name: staff.email,
        replies: 1,
        first_replies: 1,
        first_reply_average_seconds: 120,
      },
    ],
  };
}

describe('GET /admin/dashboard', () => {
  it('answers the seeded days with known figures, in the business time zone, counting no other business', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    await seedDays(sql, t, t.agent.id);
    // The same days for another business: nothing of it may be counted for the first.
    await seedDays(sql, other, other.agent.id);
    const res = await h.asUser(t.agent, PERIOD, { headers: { 'x-tenant-id': t.tenantId } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expected(t.agent));
    // And the other business sees its own, the same figures with its own operator.
    const theirs = await h.asUser(other.agent, PERIOD, {
      headers: { 'x-tenant-id': other.tenantId },
    });
    expect(await theirs.json()).toEqual(expected(other.agent));
  });

  it('reads the same from the daily rollup as from the raw rows, and recomputes after a change of time zone', async ({
    harness: h,
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Rolled up');
    await seedDays(sql, t, t.agent.id);
    const read = async () => {
      const res = await h.asUser(t.agent, PERIOD, { headers: { 'x-tenant-id': t.tenantId } });
      expect(res.status).toBe(200);
      return (await res.json()) as DashboardBody;
    };
    const live = await read();
    expect(live).toEqual(expected(t.agent));
    const rolled = await asIntake(db, (ctx) => rollUpDashboards(ctx, 31));
    expect(rolled).toBeGreaterThanOrEqual(31);
    const [row] = await sql<{ n: number; first: string }[]>`
      select count(*)::int as n, min(day)::text as first from dashboard_days where tenant_id = ${t.tenantId}`;
    // From the first day with a message (the 5th), 31 days at a time.
    expect(row).toEqual({ n: 31, first: '2026-01-05' });
    // The rows are what the read uses now: prove it by changing one, then put it back.
    await sql`update dashboard_days set facts = '[{"dim":"all","key":"","label":null,"metric":"messages_in","value":99}]'
      where tenant_id = ${t.tenantId} and day = '2026-01-07'`;
    const tampered = await read();
    expect((tampered.series.messages_in as number[])[3]).toBe(99);
    await sql`delete from dashboard_days where tenant_id = ${t.tenantId}`;
    await asIntake(db, (ctx) => rollUpDashboards(ctx, 31));
    expect(await read()).toEqual(live);

    // In UTC the 23:30 wait of the 5th falls on the 6th: the rolled-up New York days are not used.
    await sql`update tenant_settings set time_zone = 'UTC' where tenant_id = ${t.tenantId}`;
    const utc = await read();
    expect(utc.time_zone).toBe('UTC');
    expect((utc.series.messages_in as number[]).slice(1)).toEqual([3, 2, 2]);
    await asIntake(db, (ctx) => rollUpDashboards(ctx, 31));
    const [zones] = await sql<{ zones: string[] }[]>`
      select array_agg(distinct time_zone) as zones from dashboard_days where tenant_id = ${t.tenantId}`;
    expect(zones?.zones).toEqual(['UTC']);
    expect(await read()).toEqual(utc);
  });

  it('finds the message before the period (a wait that began earlier is not a new one) and the reply after it', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Edges');
    await sql`update tenant_settings set time_zone = ${ZONE} where tenant_id = ${t.tenantId}`;
    const a = await conversation(sql, t, 'whatsapp');
    const at = (day: number, time: string) =>
      new Date(`2026-01-${String(day).padStart(2, '0')}T${time}-05:00`);
    await message(sql, t, a, { direction: 'inbound', sender: 'user', at: at(9, '23:50:00') });
    await message(sql, t, a, { direction: 'inbound', sender: 'user', at: at(10, '00:05:00') });
    await message(sql, t, a, { direction: 'outbound', sender: 'agent', at: at(10, '00:06:00') });
    const read = async (from: string, to: string) => {
      const res = await h.asUser(t.agent, `/admin/dashboard?from=${from}&to=${to}`, {
        headers: { 'x-tenant-id': t.tenantId },
      });
      return ((await res.json()) as DashboardBody).series.first_reply_ai;
    };
    // The 10th alone: its first message continues the wait of the 9th, so no wait begins.
    expect(await read('2026-01-10', '2026-01-10')).toEqual({
      median_seconds: [null],
      p95_seconds: [null],
      count: [0],
    });
    // The 9th alone: its wait ended after the period, 16 minutes later.
    expect(await read('2026-01-09', '2026-01-09')).toEqual({
      median_seconds: [960],
      p95_seconds: [960],
      count: [1],
    });
  });

  it('rolls up the two days before today again, at most hourly, so a late failure still counts', async ({
    harness: h,
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Late news');
    const a = await conversation(sql, t, 'messenger');
    // Yesterday at noon in UTC (the business's zone), and a reply's failure that arrives later.
    // The business's zone is UTC, as the rollup's "today" for it.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const noon = new Date(`${yesterday}T12:00:00Z`);
    await message(sql, t, a, { direction: 'inbound', sender: 'user', at: noon });
    await asIntake(db, (ctx) => rollUpDashboards(ctx, 31));
    const failuresOfYesterday = async () => {
      const res = await h.asUser(t.agent, `/admin/dashboard?from=${yesterday}&to=${yesterday}`, {
        headers: { 'x-tenant-id': t.tenantId },
      });
      return ((await res.json()) as DashboardBody).totals.delivery_failures;
    };
    await message(sql, t, a, {
      direction: 'outbound',
      sender: 'agent',
      at: new Date(noon.getTime() + 60_000),
      status: 'failed',
      errorCode: '10',
      errorReason: 'Outside the allowed window',
    });
    // Rolled up a moment ago: the row stands until an hour has passed.
    await asIntake(db, (ctx) => rollUpDashboards(ctx, 31));
    expect(await failuresOfYesterday()).toBe(0);
    await sql`update dashboard_days set computed_at = now() - interval '2 hours' where tenant_id = ${t.tenantId}`;
    await asIntake(db, (ctx) => rollUpDashboards(ctx, 31));
    expect(await failuresOfYesterday()).toBe(1);
  });

  it('defaults to the last 30 days ending today in the business time zone', async ({
    harness: h,
    tenant: t,
  }) => {
    const res = await h.asUser(t.agent, '/admin/dashboard', {
      headers: { 'x-tenant-id': t.tenantId },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as DashboardBody;
    expect(body.days).toHaveLength(30);
    expect(body.to).toBe(body.days[29]);
    const week = await h.asUser(t.agent, '/admin/dashboard?days=7', {
      headers: { 'x-tenant-id': t.tenantId },
    });
    expect(((await week.json()) as DashboardBody).days).toHaveLength(7);
  });

  it.for([
    ['days=0', 'days'],
    ['days=93', 'days'],
    ['days=seven', 'days'],
    ['from=2026-01-01', 'to'],
    ['to=2026-01-01', 'from'],
    ['from=2026-01-05&to=2026-01-04', 'must not be before from'],
    ['from=2026-01-01&to=2026-04-03', 'at most 92 days'],
    ['from=2026-02-30&to=2026-03-02', 'a date the calendar has'],
    ['from=2026-01-01&to=2026-01-02&days=3', 'not both'],
  ] as const)(
    'refuses %s with a 400 that says why',
    async ([params, says], { harness: h, tenant: t }) => {
      const res = await h.asUser(t.agent, `/admin/dashboard?${params}`, {
        headers: { 'x-tenant-id': t.tenantId },
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message).toContain(says);
    },
  );
});
