import { z } from '@hono/zod-openapi';
import {
  COUNT_METRICS,
  type CountMetric,
  DASHBOARD_DEFAULT_DAYS,
  DASHBOARD_MAX_DAYS,
  type Dashboard,
  type FirstReplyTotal,
  HANDOFF_REASONS,
  readDashboard,
} from '../../../db/dashboard';
import { channel } from '../../../db/schema';
import type { App } from '../../app';
import { readAsCurrentOperator } from '../../middleware/operator-auth';
import { checkDateRange, EXAMPLE_ID, field, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/dashboard`: a business's days as series for the operator page's charts (issue 14,
 * part 3; docs/observability.md "Dashboard"). One read, one round trip (db/dashboard.ts).
 */

const route = operatorRoutes('dashboard');

const COUNT_DESCRIPTIONS: Record<CountMetric, [string, number]> = {
  conversations: ['Conversations with a message that day (the customer’s or ours)', 12],
  messages_in: ['Messages from customers', 40],
  messages_out: ['Messages to customers (the AI’s, people’s and automatic ones; notes aside)', 38],
  ai_replies: ['Messages the AI sent', 30],
  human_replies: ['Messages people sent (from this page or the phone’s app)', 6],
  handoffs: ['Times the AI handed a conversation to a person', 2],
  delivery_failures: ['Messages to customers that failed to be delivered', 1],
  runs: ['Agent runs (turns) started', 25],
  input_tokens: ['Input tokens the agent’s model calls read', 52000],
  output_tokens: ['Output tokens the agent’s model calls wrote', 3100],
  cost_usd: [
    'What the agent’s runs cost at list price, in US dollars (runs of a known price)',
    0.042,
  ],
  unpriced_runs: [
    'Runs that called a model without a list price (their cost is not in cost_usd)',
    0,
  ],
};

const perDay = (description: string, example: number[]) =>
  z.array(z.number()).openapi({ description: `${description}, one value per day`, example });
const nullablePerDay = (description: string, example: Array<number | null>) =>
  z
    .array(z.number().nullable())
    .openapi({ description: `${description}, one value per day (null: none that day)`, example });

const seriesExample = Object.fromEntries(
  COUNT_METRICS.map((m) => [m, [COUNT_DESCRIPTIONS[m][1], 0]]),
) as Record<CountMetric, number[]>;
const totalsExample = Object.fromEntries(
  COUNT_METRICS.map((m) => [m, COUNT_DESCRIPTIONS[m][1]]),
) as Record<CountMetric, number>;

const countSeries = z
  .object(
    Object.fromEntries(
      COUNT_METRICS.map((m) => {
        const [description, example] = COUNT_DESCRIPTIONS[m];
        return [m, perDay(description, [example, 0])];
      }),
    ) as Record<CountMetric, z.ZodArray<z.ZodNumber>>,
  )
  .openapi('DashboardCountSeries', {
    description: 'Counts and sums per day',
    example: seriesExample,
  });

const countTotals = z
  .object(
    Object.fromEntries(
      COUNT_METRICS.map((m) => {
        const [description, example] = COUNT_DESCRIPTIONS[m];
        return [m, z.number().openapi({ description: `${description}, in the period`, example })];
      }),
    ) as Record<CountMetric, z.ZodNumber>,
  )
  .openapi('DashboardCountTotals', {
    description: 'The period’s totals of the counts and sums',
    example: totalsExample,
  });

const firstReplySeries = (who: string) =>
  z
    .object({
      median_seconds: nullablePerDay(
        `The median time to the first reply by ${who}, in seconds, of the waits that began that day`,
        [42, null],
      ),
      p95_seconds: nullablePerDay(`The 95th percentile of the same, in seconds`, [180, null]),
      count: perDay(`How many waits ${who} ended`, [20, 0]),
    })
    .openapi({
      description: `Time to first reply by ${who}, per day`,
      example: { median_seconds: [42, null], p95_seconds: [180, null], count: [20, 0] },
    });

const firstReplyTotal = (who: string) =>
  z
    .object({
      count: z
        .number()
        .int()
        .openapi({ description: `Waits ${who} ended in the period`, example: 20 }),
      average_seconds: z.number().nullable().openapi({
        description: `Their average time to the first reply, in seconds (null: none)`,
        example: 63.5,
      }),
    })
    .openapi({
      description: `Time to first reply by ${who} in the period`,
      example: { count: 20, average_seconds: 63.5 },
    });

const dashboard = z
  .object({
    from: field.date('The period’s first day, in the business time zone', '2027-03-01'),
    to: field.date('Its last day (today when days was asked)', '2027-03-30'),
    time_zone: field.string('The business time zone the days are counted in', 'Europe/Madrid'),
    days: z.array(z.string()).openapi({
      description: 'The period’s dates, oldest first: every series has one value per date',
      example: ['2027-03-29', '2027-03-30'],
    }),
    series: countSeries
      .extend({
        first_reply_ai: firstReplySeries('the AI'),
        first_reply_human: firstReplySeries('a person'),
      })
      .openapi({
        description: 'The series: one value per day of `days`',
        example: {
          ...seriesExample,
          first_reply_ai: { median_seconds: [42, 30], p95_seconds: [180, 95], count: [20, 12] },
          first_reply_human: {
            median_seconds: [300, null],
            p95_seconds: [900, null],
            count: [3, 0],
          },
        },
      }),
    totals: countTotals
      .extend({
        first_reply_ai: firstReplyTotal('the AI'),
        first_reply_human: firstReplyTotal('a person'),
      })
      .openapi({
        description:
          'The period’s totals (conversations: the days’ counts summed, so a conversation of three days counts three times)',
        example: {
          ...totalsExample,
          first_reply_ai: { count: 32, average_seconds: 51.2 },
          first_reply_human: { count: 3, average_seconds: 420 },
        },
      }),
    handoff_reasons: z
      .array(
        z.object({
          reason: z.enum(HANDOFF_REASONS).openapi({
            description:
              'Why: customer_asked (an escalation word), agent_decided (the AI chose to), ai_failed (the model failed), not_sendable (the AI’s reply could not be sent), budget_spent (the monthly AI budget’s hard stop)',
            example: 'agent_decided',
          }),
          total: z.number().int().openapi({ description: 'Handoffs in the period', example: 3 }),
          per_day: perDay('Handoffs for this reason', [1, 2]),
        }),
      )
      .openapi({
        description: 'Handoffs by reason, most first (reasons with none left out)',
        example: [{ reason: 'agent_decided', total: 3, per_day: [1, 2] }],
      }),
    failure_reasons: z
      .array(
        z.object({
          code: field.string('The error code (Meta’s, or ours such as window_closed)', '131047'),
          reason: field.nullableString(
            'The error’s text as Meta or the send path gave it',
            'Re-engagement message',
          ),
          total: z.number().int().openapi({ description: 'Failures in the period', example: 1 }),
          per_day: perDay('Failures with this code', [0, 1]),
        }),
      )
      .openapi({
        description: 'Delivery failures by error code, most first',
        example: [{ code: '131047', reason: 'Re-engagement message', total: 1, per_day: [0, 1] }],
      }),
    channels: z
      .array(
        z.object({
          channel: z
            .enum(channel.enumValues)
            .openapi({ description: 'The channel', example: 'whatsapp' }),
          conversations_per_day: perDay('Conversations on this channel', [9, 0]),
          totals: countTotals,
          first_reply_ai: firstReplyTotal('the AI'),
          first_reply_human: firstReplyTotal('a person'),
        }),
      )
      .openapi({
        description: 'Per channel the business is on (or had messages on)',
        example: [
          {
            channel: 'whatsapp',
            conversations_per_day: [9, 7],
            totals: totalsExample,
            first_reply_ai: { count: 20, average_seconds: 48 },
            first_reply_human: { count: 2, average_seconds: 360 },
          },
        ],
      }),
    staff: z
      .array(
        z.object({
          user_id: z
            .string()
            .openapi({ description: 'The operator’s user id', example: EXAMPLE_ID }),
          name: field.string('Their display name, else their sign-in email', 'ana@example.com'),
          replies: z.number().int().openapi({
            description: 'Messages they sent from this page in the period',
            example: 14,
          }),
          first_replies: z
            .number()
            .int()
            .openapi({ description: 'Customers’ waits their reply ended', example: 5 }),
          first_reply_average_seconds: z.number().nullable().openapi({
            description: 'Their average time to the first reply, in seconds (null: none)',
            example: 240,
          }),
        }),
      )
      .openapi({
        description: 'Per operator who replied in the period, most replies first',
        example: [
          {
            user_id: EXAMPLE_ID,
            name: 'ana@example.com',
            replies: 14,
            first_replies: 5,
            first_reply_average_seconds: 240,
          },
        ],
      }),
  })
  .openapi('Dashboard', {
    description: 'A business’s days as series, in its own time zone, for the dashboard’s charts',
  });

const query = z
  .object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(DASHBOARD_MAX_DAYS)
      .optional()
      .openapi({
        description: `The last this many days, today included (1–${DASHBOARD_MAX_DAYS}; ${DASHBOARD_DEFAULT_DAYS} when neither days nor from/to is given)`,
        example: DASHBOARD_DEFAULT_DAYS,
      }),
    from: field.date('First day, in the business time zone (with to)', '2027-03-01').optional(),
    to: field.date('Last day, inclusive (with from)', '2027-03-30').optional(),
  })
  .superRefine((q, ctx) => {
    if ((q.from === undefined) !== (q.to === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [q.from ? 'to' : 'from'],
        message: 'give both from and to',
      });
    } else if (q.from && q.to) {
      if (q.days !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['days'], message: 'give days or from/to, not both' });
      } else {
        checkDateRange({ from: q.from, to: q.to }, ctx, DASHBOARD_MAX_DAYS, 'a period');
      }
    }
  });

const dashboardRoute = route('get', '/dashboard', {
  operationId: 'getDashboard',
  summary:
    'The dashboard: a business’s days as series (conversations, messages, AI, handoffs, first replies, failures, cost), per channel and per operator',
  description: `Days are local dates in the business time zone. Either days (the last days up to today) or from and to (at most ${DASHBOARD_MAX_DAYS} days); without either, the last ${DASHBOARD_DEFAULT_DAYS}. A customer’s wait starts at their message after one of ours (or their first) and ends at the next reply of the AI or a person; it is counted on the day it began.`,
  request: { query },
  responses: { 200: jsonResponse('The dashboard', dashboard) },
});

const toTotal = (t: FirstReplyTotal) => ({ count: t.count, average_seconds: t.averageSeconds });

function toView(d: Dashboard): z.infer<typeof dashboard> {
  const { firstReplyAi, firstReplyHuman, ...counts } = d.series;
  const { firstReplyAi: ai, firstReplyHuman: human, ...totals } = d.totals;
  const replySeries = (s: typeof firstReplyAi) => ({
    median_seconds: s.median,
    p95_seconds: s.p95,
    count: s.count,
  });
  return {
    from: d.from,
    to: d.to,
    time_zone: d.timeZone,
    days: d.days,
    series: {
      ...counts,
      first_reply_ai: replySeries(firstReplyAi),
      first_reply_human: replySeries(firstReplyHuman),
    },
    totals: { ...totals, first_reply_ai: toTotal(ai), first_reply_human: toTotal(human) },
    handoff_reasons: d.handoffReasons.map((r) => ({
      reason: r.reason,
      total: r.total,
      per_day: r.perDay,
    })),
    failure_reasons: d.failureReasons.map((r) => ({
      code: r.code,
      reason: r.reason,
      total: r.total,
      per_day: r.perDay,
    })),
    channels: d.channels.map((c) => ({
      channel: c.channel,
      conversations_per_day: c.conversationsPerDay,
      totals: c.totals,
      first_reply_ai: toTotal(c.firstReplyAi),
      first_reply_human: toTotal(c.firstReplyHuman),
    })),
    staff: d.staff.map((s) => ({
      user_id: s.userId,
      name: s.name,
      replies: s.replies,
      first_replies: s.firstReplies,
      first_reply_average_seconds: s.firstReplyAverageSeconds,
    })),
  };
}

export function registerDashboard(app: App) {
  app.openapi(dashboardRoute, async (c) => {
    const q = c.req.valid('query');
    const period =
      q.from && q.to ? { from: q.from, to: q.to } : { days: q.days ?? DASHBOARD_DEFAULT_DAYS };
    const result = await readAsCurrentOperator(c, (ctx) => readDashboard(ctx, period));
    return c.json(toView(result), 200);
  });
}
