import { date, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at } from './columns';
import { tenantPolicies } from './roles';
import { tenantRef } from './tenants';

/**
 * One figure of a business's day as the dashboard counts it (`app.dashboard_facts`, migration
 * 0033): `dim` is what it is broken down by (`all`, `channel`, `staff`, `handoff_reason`,
 * `failure_reason`), `key` the channel, member id, reason or error code ('' for `all`), `label`
 * the error's text for a failure.
 */
export type DashboardFact = {
  dim: string;
  key: string;
  label: string | null;
  metric: string;
  value: number;
};

/**
 * The dashboard's daily rollup: a closed day's facts, computed once from the messages, runs and
 * lock history by `app.roll_up_dashboards` (the Worker's cron) so a dashboard over months reads a
 * row per day instead of every message (docs/observability.md, "Dashboard"). Days are the
 * business's local dates in `time_zone`; after a change of time zone the rows are recomputed.
 * Written only by that function; members read their business's rows.
 */
export const dashboardDays = pgTable(
  'dashboard_days',
  {
    tenantId: tenantRef(),
    day: date('day').notNull(),
    timeZone: text('time_zone').notNull(),
    facts: jsonb('facts').$type<DashboardFact[]>().notNull(),
    computedAt: at('computed_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.day] }),
    ...tenantPolicies('dashboard_days', t.tenantId, 'read-only'),
  ],
).enableRLS();
