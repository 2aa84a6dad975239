import { useEffect, useMemo } from 'preact/hooks';
import { language, type MessageKey, t, usd } from '../i18n/i18n';
import { Chart, count, type Series } from './Chart';
import {
  type DashboardData,
  dashboard,
  dashboardError,
  loadDashboard,
  PERIODS,
  period,
} from './state';

/**
 * The dashboard (docs/observability.md "Dashboard"): the business's days as charts — traffic,
 * replies, time to first reply, handoffs and their reasons, delivery failures, tokens and cost —
 * then per channel and per team member. Every member sees it; GET /admin/dashboard answers it.
 */

// Colours that tell apart on white and in grey, each with a 3:1 contrast or more.
const BLUE = '#1d4ed8';
const GREEN = '#15803d';
const ORANGE = '#c2410c';
const PURPLE = '#7e22ce';
const TEAL = '#0f766e';
const RED = '#b91c1c';
const PALETTE = [BLUE, ORANGE, GREEN, PURPLE, TEAL, RED];

const REASONS: Record<string, MessageKey> = {
  customer_asked: 'dashboardReasonCustomerAsked',
  agent_decided: 'dashboardReasonAgentDecided',
  ai_failed: 'dashboardReasonAiFailed',
  not_sendable: 'dashboardReasonNotSendable',
  budget_spent: 'dashboardReasonBudgetSpent',
};
/** Each channel's name, as the dashboard and the settings' channel list show it. */
export const CHANNELS: Record<string, MessageKey> = {
  whatsapp: 'dashboardChannelWhatsapp',
  messenger: 'dashboardChannelMessenger',
  instagram: 'dashboardChannelInstagram',
  web: 'dashboardChannelWeb',
};

/** Seconds as "45 s", "3.5 min" or "2.1 h". */
export function duration(seconds: number): string {
  const n = (v: number) =>
    new Intl.NumberFormat(language.value, { maximumFractionDigits: 1 }).format(v);
  if (seconds < 90) return t('dashboardSeconds', { n: n(seconds) });
  if (seconds < 5400) return t('dashboardMinutes', { n: n(seconds / 60) });
  return t('dashboardHours', { n: n(seconds / 3600) });
}
const minutes = (seconds: number | null) => (seconds === null ? null : seconds / 60);
const tokens = (v: number) =>
  new Intl.NumberFormat(language.value, { notation: 'compact', maximumFractionDigits: 1 }).format(
    v,
  );

export function Dashboard() {
  useEffect(() => {
    void loadDashboard();
  }, []);
  const data = dashboard.value;
  return (
    <main class="dashboard" id="dashboard" aria-labelledby="dashboard-title">
      <div class="dashboard-body">
        <div class="dashboard-controls">
          <h1 id="dashboard-title">{t('dashboard')}</h1>
          <select
            id="dashboard-period"
            aria-label={t('dashboardPeriod')}
            value={period.value}
            onChange={(e) => {
              period.value = Number(e.currentTarget.value) as (typeof PERIODS)[number];
              void loadDashboard();
            }}
          >
            {PERIODS.map((n) => (
              <option key={n} value={n}>
                {t('dashboardLastDays', { n })}
              </option>
            ))}
          </select>
        </div>
        <p id="dashboard-error" role="alert">
          {dashboardError.value}
        </p>
        {data ? (
          <Charts data={data} />
        ) : (
          !dashboardError.value && <p class="muted">{t('dashboardLoading')}</p>
        )}
      </div>
    </main>
  );
}

function Charts({ data }: { data: DashboardData }) {
  const lang = language.value;
  const s = data.series;
  // Series as the charts take them, made again only for new data or another language.
  const charts = useMemo(
    () => ({
      traffic: [
        { label: t('dashboardConversations'), values: s.conversations, color: BLUE },
        { label: t('dashboardMessagesIn'), values: s.messages_in, color: ORANGE },
        { label: t('dashboardMessagesOut'), values: s.messages_out, color: GREEN },
      ],
      replies: [
        { label: t('dashboardAiReplies'), values: s.ai_replies, color: PURPLE, bars: true },
        { label: t('dashboardHumanReplies'), values: s.human_replies, color: TEAL, bars: true },
      ],
      firstReply: [
        {
          label: t('dashboardAiMedian'),
          values: s.first_reply_ai.median_seconds.map(minutes),
          color: PURPLE,
        },
        {
          label: t('dashboardAiP95'),
          values: s.first_reply_ai.p95_seconds.map(minutes),
          color: BLUE,
        },
        {
          label: t('dashboardHumanMedian'),
          values: s.first_reply_human.median_seconds.map(minutes),
          color: TEAL,
        },
        {
          label: t('dashboardHumanP95'),
          values: s.first_reply_human.p95_seconds.map(minutes),
          color: ORANGE,
        },
      ],
      handoffs:
        data.handoff_reasons.length > 0
          ? data.handoff_reasons.map((r, i) => ({
              label: t(REASONS[r.reason] ?? 'dashboardHandoffs'),
              values: r.per_day,
              color: PALETTE[i % PALETTE.length] ?? BLUE,
            }))
          : [{ label: t('dashboardHandoffs'), values: s.handoffs, color: BLUE }],
      failures:
        data.failure_reasons.length > 0
          ? data.failure_reasons.slice(0, 5).map((r, i) => ({
              label: r.reason ? `${r.code}: ${r.reason}` : r.code,
              values: r.per_day,
              color: PALETTE[(i + 5) % PALETTE.length] ?? RED,
            }))
          : [{ label: t('dashboardFailures'), values: s.delivery_failures, color: RED }],
      tokens: [
        { label: t('dashboardInputTokens'), values: s.input_tokens, color: BLUE, bars: true },
        { label: t('dashboardOutputTokens'), values: s.output_tokens, color: ORANGE, bars: true },
      ],
      cost: [{ label: t('dashboardCost'), values: s.cost_usd, color: GREEN, bars: true }],
      channels: data.channels.map((c, i) => ({
        label: t(CHANNELS[c.channel] ?? 'dashboardChannel'),
        values: c.conversations_per_day,
        color: PALETTE[i % PALETTE.length] ?? BLUE,
      })),
    }),
    [data, lang],
  ) satisfies Record<string, Series[]>;
  const totals = data.totals;
  const minutesFormat = (v: number) => duration(v * 60);
  const firstReplySummary = [
    [t('dashboardFirstReplyAi'), totals.first_reply_ai],
    [t('dashboardFirstReplyHuman'), totals.first_reply_human],
  ] as const;
  // The charts in the order the page shows them: what each draws and how its values read.
  const chartList: Array<{
    id: string;
    title: MessageKey;
    series: keyof typeof charts;
    format?: (value: number) => string;
    summary?: string;
  }> = [
    { id: 'traffic', title: 'dashboardChartTraffic', series: 'traffic' },
    { id: 'replies', title: 'dashboardChartReplies', series: 'replies' },
    {
      id: 'first-reply',
      title: 'dashboardChartFirstReply',
      series: 'firstReply',
      format: minutesFormat,
      summary: firstReplySummary
        .map(([label, total]) =>
          total.average_seconds === null
            ? t('dashboardSummaryNone', { series: label })
            : t('dashboardSummaryTime', { series: label, value: duration(total.average_seconds) }),
        )
        .join(' '),
    },
    { id: 'handoffs', title: 'dashboardChartHandoffs', series: 'handoffs' },
    { id: 'failures', title: 'dashboardChartFailures', series: 'failures' },
    { id: 'tokens', title: 'dashboardChartTokens', series: 'tokens', format: tokens },
    { id: 'cost', title: 'dashboardChartCost', series: 'cost', format: usd },
    { id: 'channels', title: 'dashboardChartChannels', series: 'channels' },
  ];
  return (
    <>
      <p id="dashboard-range" class="muted">
        {t('dashboardRange', { from: data.from, to: data.to, zone: data.time_zone })}
      </p>
      <dl id="dashboard-totals" class="dashboard-totals">
        <Total label={t('dashboardConversations')} value={count(totals.conversations)} />
        <Total label={t('dashboardMessagesIn')} value={count(totals.messages_in)} />
        <Total label={t('dashboardMessagesOut')} value={count(totals.messages_out)} />
        <Total label={t('dashboardAiReplies')} value={count(totals.ai_replies)} />
        <Total label={t('dashboardHandoffs')} value={count(totals.handoffs)} />
        {firstReplySummary.map(([label, total]) => (
          <Total
            key={label}
            label={label}
            value={total.average_seconds === null ? '–' : duration(total.average_seconds)}
            note={t('dashboardAverageOf', { n: count(total.count) })}
          />
        ))}
        <Total label={t('dashboardFailures')} value={count(totals.delivery_failures)} />
        <Total
          label={t('dashboardTokens')}
          value={tokens(totals.input_tokens + totals.output_tokens)}
          note={`${tokens(totals.input_tokens)} + ${tokens(totals.output_tokens)}`}
        />
        <Total label={t('dashboardCost')} value={usd(totals.cost_usd)} />
      </dl>
      <div class="dashboard-charts">
        {chartList.map((chart) => (
          <Chart
            key={chart.id}
            id={`chart-${chart.id}`}
            title={t(chart.title)}
            days={data.days}
            series={charts[chart.series]}
            format={chart.format}
            summary={chart.summary}
          />
        ))}
      </div>
      <ByChannel data={data} />
      <ByStaff data={data} />
    </>
  );
}

function Total(props: { label: string; value: string; note?: string }) {
  return (
    <div class="dashboard-total">
      <dt>{props.label}</dt>
      <dd>
        <strong>{props.value}</strong>
        {props.note && <span class="muted"> {props.note}</span>}
      </dd>
    </div>
  );
}

function ByChannel({ data }: { data: DashboardData }) {
  return (
    <section class="dashboard-table" aria-labelledby="dashboard-channels-title">
      <h2 id="dashboard-channels-title">{t('dashboardByChannel')}</h2>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling table must be reachable by keyboard (axe: scrollable-region-focusable) */}
      <section class="chart-table" tabIndex={0} aria-labelledby="dashboard-channels-title">
        <table id="dashboard-channels">
          <thead>
            <tr>
              <th scope="col">{t('dashboardChannel')}</th>
              <th scope="col">{t('dashboardMessagesIn')}</th>
              <th scope="col">{t('dashboardMessagesOut')}</th>
              <th scope="col">{t('dashboardAiReplies')}</th>
              <th scope="col">{t('dashboardHumanReplies')}</th>
              <th scope="col">{t('dashboardHandoffs')}</th>
              <th scope="col">{t('dashboardFailures')}</th>
              <th scope="col">{t('dashboardFirstReplyAi')}</th>
              <th scope="col">{t('dashboardCost')}</th>
            </tr>
          </thead>
          <tbody>
            {data.channels.map((c) => (
              <tr key={c.channel}>
                <th scope="row">{t(CHANNELS[c.channel] ?? 'dashboardChannel')}</th>
                <td>{count(c.totals.messages_in)}</td>
                <td>{count(c.totals.messages_out)}</td>
                <td>{count(c.totals.ai_replies)}</td>
                <td>{count(c.totals.human_replies)}</td>
                <td>{count(c.totals.handoffs)}</td>
                <td>{count(c.totals.delivery_failures)}</td>
                <td>
                  {c.first_reply_ai.average_seconds === null
                    ? '–'
                    : duration(c.first_reply_ai.average_seconds)}
                </td>
                <td>{usd(c.totals.cost_usd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </section>
  );
}

function ByStaff({ data }: { data: DashboardData }) {
  const most = Math.max(1, ...data.staff.map((s) => s.replies));
  return (
    <section class="dashboard-table" aria-labelledby="dashboard-staff-title">
      <h2 id="dashboard-staff-title">{t('dashboardByStaff')}</h2>
      {data.staff.length === 0 ? (
        <p class="muted">{t('dashboardNoStaff')}</p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling table must be reachable by keyboard (axe: scrollable-region-focusable)
        <section class="chart-table" tabIndex={0} aria-labelledby="dashboard-staff-title">
          <table id="dashboard-staff">
            <thead>
              <tr>
                <th scope="col">{t('dashboardName')}</th>
                <th scope="col">{t('dashboardReplies')}</th>
                <th scope="col">{t('dashboardFirstReplies')}</th>
                <th scope="col">{t('dashboardAverageFirstReply')}</th>
              </tr>
            </thead>
            <tbody>
              {data.staff.map((s) => (
                <tr key={s.user_id}>
                  <th scope="row">
                    <bdi>{s.name}</bdi>
                  </th>
                  <td>
                    <span
                      class="dashboard-bar"
                      style={{ inlineSize: `${(s.replies / most) * 6}em` }}
                    />
                    {count(s.replies)}
                  </td>
                  <td>{count(s.first_replies)}</td>
                  <td>
                    {s.first_reply_average_seconds === null
                      ? '–'
                      : duration(s.first_reply_average_seconds)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}
