import { sql } from 'drizzle-orm';
import { type IntakeContext, type Pipelined, pipelined, type TenantContext } from './client';
import type { Channel } from './schema';
import { tenantTimeZone } from './settings';

/**
 * The operator page's dashboard (issue 14, part 3; docs/observability.md "Dashboard"): a business's
 * days, in its own time zone, as series. Closed days come from the daily rollup (`dashboard_days`,
 * filled by app.roll_up_dashboards from the Worker's cron); the days after the last rolled-up one
 * are computed from the messages, runs and lock history as they are read (app.dashboard_facts,
 * migration 0033). Both through the same SQL, so a day reads the same before and after its rollup.
 */

/** The longest period one read answers: a quarter. */
export const DASHBOARD_MAX_DAYS = 92;
export const DASHBOARD_DEFAULT_DAYS = 30;

/** The categories of a handoff's reason (app.dashboard_facts): the page names each. */
export const HANDOFF_REASONS = [
  'customer_asked',
  'agent_decided',
  'ai_failed',
  'not_sendable',
  'budget_spent',
] as const;
export type HandoffReason = (typeof HANDOFF_REASONS)[number];

/** The per-day counts and sums (additive: a period's total is their sum). */
export const COUNT_METRICS = [
  'conversations',
  'messages_in',
  'messages_out',
  'ai_replies',
  'human_replies',
  'handoffs',
  'delivery_failures',
  'runs',
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'unpriced_runs',
] as const;
export type CountMetric = (typeof COUNT_METRICS)[number];

export type FirstReplySeries = {
  /** Seconds, per day; null on a day without such a reply. */
  median: Array<number | null>;
  p95: Array<number | null>;
  count: number[];
};

export type FirstReplyTotal = { count: number; averageSeconds: number | null };

export type Dashboard = {
  from: string;
  to: string;
  timeZone: string;
  /** The local dates of the period, oldest first: every series has one value per day. */
  days: string[];
  series: Record<CountMetric, number[]> & {
    firstReplyAi: FirstReplySeries;
    firstReplyHuman: FirstReplySeries;
  };
  totals: Record<CountMetric, number> & {
    firstReplyAi: FirstReplyTotal;
    firstReplyHuman: FirstReplyTotal;
  };
  handoffReasons: Array<{ reason: HandoffReason; total: number; perDay: number[] }>;
  failureReasons: Array<{ code: string; reason: string | null; total: number; perDay: number[] }>;
  /**
   * Per channel the business has an account on, the period's totals, conversations per day, and
   * the average first reply (medians do not add up across days).
   */
  channels: Array<{
    channel: Channel;
    conversationsPerDay: number[];
    totals: Record<CountMetric, number>;
    firstReplyAi: FirstReplyTotal;
    firstReplyHuman: FirstReplyTotal;
  }>;
  /** Per operator who replied in the period, most replies first. */
  staff: Array<{
    userId: string;
    name: string;
    replies: number;
    firstReplies: number;
    firstReplyAverageSeconds: number | null;
  }>;
};

export type DashboardPeriod = { from: string; to: string } | { days: number };

type FactRow = {
  /** Null: the period's sum (per channel and per operator). */
  day: string | null;
  dim: string;
  key: string;
  label: string | null;
  metric: string;
  value: number;
};

type PeriodRow = { from_day: string; to_day: string; zone: string };

/**
 * The business's time zone and the period's bounds as local dates: `days` ends today there.
 * Repeated at the head of each statement, which are sent together (one round trip) and so cannot
 * hand each other values.
 */
function periodCte(tenantId: string, period: DashboardPeriod) {
  const from = 'from' in period ? period.from : null;
  const to = 'to' in period ? period.to : null;
  const days = 'days' in period ? period.days : null;
  return sql`zone as (
      select ${tenantTimeZone(tenantId)} as zone
    ), period as (
      select z.zone, coalesce(${to}::date, (now() at time zone z.zone)::date) as to_day from zone z
    ), bounds as (
      select p.zone, coalesce(${from}::date, p.to_day - (${days}::int - 1)) as from_day, p.to_day
      from period p
    )`;
}

/**
 * The dashboard of the period, in one round trip (pipelined): the period itself, the facts of its
 * rolled-up days and of the days after them, and the names of the business's operators.
 */
export function readDashboard(
  { tx, tenantId }: TenantContext,
  period: DashboardPeriod,
): Pipelined<Dashboard> {
  const bounds = tx.execute<PeriodRow>(sql`with ${periodCte(tenantId, period)}
    select from_day::text, to_day::text, zone from bounds`);
  // The rolled-up days are a run from the business's first day with data; the days after the last
  // of them (today, once the cron has run) are computed now, from the raw rows, by the same SQL.
  const facts = tx.execute<FactRow>(sql`with ${periodCte(tenantId, period)},
    rolled as (
      select d.day, d.facts from dashboard_days d, bounds b
      where d.tenant_id = ${tenantId} and d.time_zone = b.zone and d.day between b.from_day and b.to_day
    ), live as (
      select b.zone, greatest(b.from_day, coalesce((select max(r.day) + 1 from rolled r), b.from_day)) as from_day,
        b.to_day
      from bounds b
    )
    -- Per day what the charts draw; per channel (but its conversations) and per operator only the
    -- period's sums, which is what the page shows of them: a few thousand rows for a quarter, not
    -- every figure of every day.
    select case when x.dim in ('channel', 'staff') and x.metric <> 'conversations' then null
        else x.day::text end as day,
      x.dim, x.key, max(x.label) as label, x.metric, sum(x.value) as value
    from (
      select r.day, f.dim, f.key, f.label, f.metric, f.value
      from rolled r cross join lateral jsonb_to_recordset(r.facts)
        as f(dim text, key text, label text, metric text, value double precision)
      union all
      select f.day, f.dim, f.key, f.label, f.metric, f.value
      from live l cross join lateral app.dashboard_facts(${tenantId}::uuid, l.zone, l.from_day, l.to_day) f
      where l.from_day <= l.to_day
    ) x
    where x.dim <> 'channel' or (x.metric not like '%\_p50' and x.metric not like '%\_p95')
    group by 1, x.dim, x.key, x.metric`);
  const team = tx.execute<{ user_id: string; name: string | null; channel: Channel | null }>(
    sql`select user_id::text, coalesce(nullif(display_name, ''), email) as name, null::channel as channel
      from app.tenant_team(${tenantId}::uuid)
      union all
      select distinct null, null, a.channel from channel_accounts a where a.tenant_id = ${tenantId}`,
  );
  return pipelined([bounds, facts, team], ([[range], factRows, teamRows]) => {
    if (!range) throw new Error('readDashboard: the period query answered nothing');
    return assembleDashboard(range, [...factRows], [...teamRows]);
  });
}

function localDays(from: string, to: string): string[] {
  const days: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end; t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = make();
  map.set(key, made);
  return made;
}

const zeros = (n: number) => Array.from({ length: n }, () => 0);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** Cost in US dollars to a millionth, tokens and counts whole: no float dust in the answer. */
const tidy = (metric: string, value: number) =>
  metric === 'cost_usd' ? Math.round(value * 1e6) / 1e6 : Math.round(value * 1000) / 1000;

function firstReplyTotal(n: number, total: number): FirstReplyTotal {
  return { count: n, averageSeconds: n > 0 ? Math.round((total / n) * 10) / 10 : null };
}

/** Facts (one row per figure, day and breakdown) into the page's series. Exported for tests. */
export function assembleDashboard(
  range: PeriodRow,
  facts: FactRow[],
  team: Array<{ user_id: string | null; name: string | null; channel: Channel | null }>,
): Dashboard {
  const days = localDays(range.from_day, range.to_day);
  const index = new Map(days.map((d, i) => [d, i]));
  // dim → key → metric → per day
  const grid = new Map<string, Map<string, Map<string, number[]>>>();
  const labels = new Map<string, string>();
  // dim|key|metric → the period's sum, for the rows without a day.
  const sums = new Map<string, number>();
  for (const f of facts) {
    if (f.label && f.dim === 'failure_reason') labels.set(f.key, f.label);
    if (f.day === null) {
      sums.set(`${f.dim}|${f.key}|${f.metric}`, Number(f.value));
      continue;
    }
    const i = index.get(f.day);
    if (i === undefined) continue;
    const byKey = getOrSet(grid, f.dim, () => new Map<string, Map<string, number[]>>());
    const byMetric = getOrSet(byKey, f.key, () => new Map<string, number[]>());
    const perDay = getOrSet(byMetric, f.metric, () => zeros(days.length));
    perDay[i] = (perDay[i] ?? 0) + Number(f.value);
  }
  const metricOf = (dim: string, key: string, metric: string) =>
    grid.get(dim)?.get(key)?.get(metric) ?? zeros(days.length);
  const countsOf = (dim: string, key: string) =>
    Object.fromEntries(
      COUNT_METRICS.map((m) => [m, metricOf(dim, key, m).map((v) => tidy(m, v))]),
    ) as Record<CountMetric, number[]>;
  const totalsOf = (series: Record<CountMetric, number[]>) =>
    Object.fromEntries(COUNT_METRICS.map((m) => [m, tidy(m, sum(series[m]))])) as Record<
      CountMetric,
      number
    >;
  const firstReply = (who: 'ai' | 'human'): FirstReplySeries => {
    const count = metricOf('all', '', `first_reply_${who}_n`);
    const nullWhenNone = (values: number[]) =>
      values.map((v, i) => ((count[i] ?? 0) > 0 ? Math.round(v * 10) / 10 : null));
    return {
      median: nullWhenNone(metricOf('all', '', `first_reply_${who}_p50`)),
      p95: nullWhenNone(metricOf('all', '', `first_reply_${who}_p95`)),
      count,
    };
  };
  const sumOf = (dim: string, key: string, metric: string) =>
    sums.get(`${dim}|${key}|${metric}`) ?? 0;
  // Per day for the business as a whole; per channel and operator, the period's sums.
  const replyTotal = (dim: string, key: string, prefix: string) =>
    dim === 'all'
      ? firstReplyTotal(
          sum(metricOf(dim, key, `${prefix}_n`)),
          sum(metricOf(dim, key, `${prefix}_total`)),
        )
      : firstReplyTotal(sumOf(dim, key, `${prefix}_n`), sumOf(dim, key, `${prefix}_total`));

  const series = countsOf('all', '');
  const perReason = (dim: string) =>
    [...(grid.get(dim)?.entries() ?? [])]
      .map(([key, metrics]) => {
        const perDay = [...metrics.values()][0] ?? zeros(days.length);
        return { key, perDay, total: sum(perDay) };
      })
      .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));

  const names = new Map<string, string>();
  const channels = new Set<Channel>();
  for (const t of team) {
    if (t.user_id) names.set(t.user_id, t.name ?? t.user_id);
    if (t.channel) channels.add(t.channel);
  }
  // A channel with data but no account any more still shows.
  for (const key of sums.keys()) {
    const [dim, channel] = key.split('|');
    if (dim === 'channel') channels.add(channel as Channel);
  }
  for (const key of grid.get('channel')?.keys() ?? []) channels.add(key as Channel);
  const staffIds = new Set<string>();
  for (const key of sums.keys()) {
    const [dim, userId] = key.split('|');
    if (dim === 'staff' && userId) staffIds.add(userId);
  }
  const channelOrder: Channel[] = ['whatsapp', 'messenger', 'instagram', 'web'];

  return {
    from: range.from_day,
    to: range.to_day,
    timeZone: range.zone,
    days,
    series: { ...series, firstReplyAi: firstReply('ai'), firstReplyHuman: firstReply('human') },
    totals: {
      ...totalsOf(series),
      firstReplyAi: replyTotal('all', '', 'first_reply_ai'),
      firstReplyHuman: replyTotal('all', '', 'first_reply_human'),
    },
    handoffReasons: perReason('handoff_reason').map((r) => ({
      reason: r.key as HandoffReason,
      total: r.total,
      perDay: r.perDay,
    })),
    failureReasons: perReason('failure_reason').map((r) => ({
      code: r.key,
      reason: labels.get(r.key) ?? null,
      total: r.total,
      perDay: r.perDay,
    })),
    channels: channelOrder
      .filter((c) => channels.has(c))
      .map((channel) => {
        const perDay = metricOf('channel', channel, 'conversations');
        return {
          channel,
          conversationsPerDay: perDay,
          totals: Object.fromEntries(
            COUNT_METRICS.map((m) => [
              m,
              tidy(m, m === 'conversations' ? sum(perDay) : sumOf('channel', channel, m)),
            ]),
          ) as Record<CountMetric, number>,
          firstReplyAi: replyTotal('channel', channel, 'first_reply_ai'),
          firstReplyHuman: replyTotal('channel', channel, 'first_reply_human'),
        };
      }),
    staff: [...staffIds]
      .map((userId) => {
        const reply = replyTotal('staff', userId, 'first_reply');
        return {
          userId,
          // An operator who has left the business: their id, as the team route names them.
          name: names.get(userId) ?? userId,
          replies: sumOf('staff', userId, 'replies'),
          firstReplies: reply.count,
          firstReplyAverageSeconds: reply.averageSeconds,
        };
      })
      .sort((a, b) => b.replies - a.replies || a.name.localeCompare(b.name)),
  };
}

/**
 * The daily rollup of every business's closed days, at most `maxDays` each (a backfill spreads
 * over the cron's minutes). Returns the days written.
 */
export async function rollUpDashboards({ tx }: IntakeContext, maxDays = 31): Promise<number> {
  const [row] = await tx.execute<{ days: number }>(
    sql`select app.roll_up_dashboards(${maxDays}::int) as days`,
  );
  return row?.days ?? 0;
}
