CREATE TABLE "dashboard_days" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"time_zone" text NOT NULL,
	"facts" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dashboard_days_tenant_id_day_pk" PRIMARY KEY("tenant_id","day")
);
--> statement-breakpoint
ALTER TABLE "dashboard_days" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "dashboard_days" ADD CONSTRAINT "dashboard_days_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_tenant_time" ON "messages" USING btree ("tenant_id","provider_timestamp");--> statement-breakpoint
CREATE INDEX "conversation_lock_events_tenant_at" ON "conversation_lock_events" USING btree ("tenant_id","at");--> statement-breakpoint
CREATE POLICY "dashboard_days: members read" ON "dashboard_days" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("dashboard_days"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "dashboard_days: worker of tenant" ON "dashboard_days" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("dashboard_days"."tenant_id" = app.current_tenant_id()) WITH CHECK ("dashboard_days"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
-- Hand-written from here (issue 14, part 3: the dashboard; docs/observability.md "Dashboard").
-- A business's days from p_from to p_to (local dates in p_zone) as facts: one row per figure, per
-- day and breakdown (`all`, `channel`, `staff`, `handoff_reason`, `failure_reason`); a figure that
-- is zero is left out. Security invoker: an operator reads through it under RLS (the dashboard's
-- days not yet rolled up), and app.roll_up_dashboards stores closed days with it.
--
-- A customer's wait starts at their message when the one before it in the conversation (notes,
-- automatic messages and failed sends aside) was ours, or there was none;
-- it ends at the next reply of the AI (sender agent) or a person (operator), whichever came first,
-- and is counted on the day it started. A handoff is the bot handing a conversation to a person
-- (lock source escalation or keyword); its reason's category comes from the texts the agent writes
-- (functions/agent/turn.ts, functions/agent/intake.ts). The bounds are written out where they are used
-- (not a CTE) so the planner estimates the rows of a few days as a few days; JIT is off because its
-- compilation (hundreds of milliseconds) costs more than this query on days' worth of rows.
CREATE OR REPLACE FUNCTION app.dashboard_facts(p_tenant uuid, p_zone text, p_from date, p_to date)
RETURNS TABLE (day date, dim text, key text, label text, metric text, value double precision)
LANGUAGE plpgsql STABLE SET search_path = '' SET jit = off AS $fn$
BEGIN
  -- EXECUTE … USING: planned for these values (a few days' rows), not as a generic plan.
  RETURN QUERY EXECUTE $q$
  WITH accounts AS (
    SELECT a.id, a.channel::text AS channel FROM public.channel_accounts a WHERE a.tenant_id = $1
  ), msgs AS (
    SELECT m.conversation_id, m.direction, m.sender, m.status, m.error_code, m.error_reason, a.channel,
      (m.provider_timestamp AT TIME ZONE $2)::date AS day,
      m.payload->>'requested_by_user_id' AS user_id
    FROM public.messages m JOIN accounts a ON a.id = m.channel_account_id
    WHERE m.tenant_id = $1 AND m.provider_timestamp >= ($3::timestamp AT TIME ZONE $2) AND m.provider_timestamp < (($4 + 1)::timestamp AT TIME ZONE $2)
      AND m.type <> 'note'
  ), stream AS (
    SELECT m.conversation_id, m.channel_account_id, m.direction, m.provider_timestamp AS at,
      lag(m.direction) OVER (PARTITION BY m.conversation_id
        ORDER BY m.provider_timestamp, m.received_at, m.id) AS prev
    FROM public.messages m
    WHERE m.tenant_id = $1 AND m.provider_timestamp >= ($3::timestamp AT TIME ZONE $2)
      AND m.provider_timestamp < (($4 + 1)::timestamp AT TIME ZONE $2) AND m.type <> 'note'
      AND m.sender IN ('user', 'agent', 'operator') AND m.status NOT IN ('failed', 'cancelled')
  ), waits AS (
    SELECT (s.at AT TIME ZONE $2)::date AS day, a.channel,
      CASE r.sender WHEN 'agent' THEN 'ai' ELSE 'human' END AS who, r.user_id,
      extract(epoch FROM r.at - s.at)::double precision AS secs
    FROM stream s
    JOIN accounts a ON a.id = s.channel_account_id
    CROSS JOIN LATERAL (
      SELECT m.provider_timestamp AS at, m.sender, m.payload->>'requested_by_user_id' AS user_id
      FROM public.messages m
      WHERE m.conversation_id = s.conversation_id AND m.provider_timestamp >= s.at
        AND m.direction = 'outbound' AND m.sender IN ('agent', 'operator')
        AND m.type <> 'note' AND m.status NOT IN ('failed', 'cancelled')
      ORDER BY m.provider_timestamp LIMIT 1
    ) r
    WHERE s.direction = 'inbound' AND coalesce(s.prev, (
      -- The conversation's first message of the period: the one before it, however long ago.
      SELECT m.direction FROM public.messages m
      WHERE m.conversation_id = s.conversation_id AND m.provider_timestamp < s.at
        AND m.type <> 'note' AND m.sender IN ('user', 'agent', 'operator')
        AND m.status NOT IN ('failed', 'cancelled')
      ORDER BY m.provider_timestamp DESC LIMIT 1
    )) IS DISTINCT FROM 'inbound'
  ), runs AS (
    SELECT (r.started_at AT TIME ZONE $2)::date AS day, a.channel, r.outcome::text AS outcome,
      coalesce((r.usage->>'inputTokens')::double precision, 0) AS input_tokens,
      coalesce((r.usage->>'outputTokens')::double precision, 0) AS output_tokens, r.cost_usd
    FROM public.agent_runs r
    JOIN public.conversations c ON c.id = r.conversation_id
    JOIN accounts a ON a.id = c.channel_account_id
    WHERE r.tenant_id = $1 AND r.started_at >= ($3::timestamp AT TIME ZONE $2) AND r.started_at < (($4 + 1)::timestamp AT TIME ZONE $2)
  ), handoffs AS (
    SELECT (e.at AT TIME ZONE $2)::date AS day, a.channel,
      CASE WHEN e.source = 'keyword' THEN 'customer_asked'
        WHEN e.reason LIKE 'This month''s AI budget%' THEN 'budget_spent'
        WHEN e.reason LIKE 'The AI could not answer%' OR e.reason LIKE 'The AI agent could not answer%'
          THEN 'ai_failed'
        WHEN e.reason LIKE 'The AI produced no reply%' OR e.reason LIKE 'The AI''s reply could not be sent%'
          THEN 'not_sendable'
        ELSE 'agent_decided' END AS reason
    FROM public.conversation_lock_events e
    JOIN public.conversations c ON c.id = e.conversation_id
    JOIN accounts a ON a.id = c.channel_account_id
    WHERE e.tenant_id = $1 AND e.at >= ($3::timestamp AT TIME ZONE $2) AND e.at < (($4 + 1)::timestamp AT TIME ZONE $2) AND e.locked
      AND e.source IN ('escalation', 'keyword')
  ), message_counts AS (
    SELECT g.day, CASE WHEN grouping(g.channel) = 1 THEN 'all' ELSE 'channel' END AS dim,
      coalesce(g.channel, '') AS key,
      count(DISTINCT g.conversation_id) FILTER (WHERE g.sender IN ('user', 'agent', 'operator')) AS conversations,
      count(*) FILTER (WHERE g.direction = 'inbound') AS messages_in,
      count(*) FILTER (WHERE g.direction = 'outbound') AS messages_out,
      count(*) FILTER (WHERE g.direction = 'outbound' AND g.sender = 'agent') AS ai_replies,
      count(*) FILTER (WHERE g.direction = 'outbound' AND g.sender = 'operator') AS human_replies,
      count(*) FILTER (WHERE g.direction = 'outbound' AND g.status = 'failed') AS delivery_failures
    FROM msgs g GROUP BY GROUPING SETS ((g.day), (g.day, g.channel))
  ), run_counts AS (
    SELECT g.day, CASE WHEN grouping(g.channel) = 1 THEN 'all' ELSE 'channel' END AS dim,
      coalesce(g.channel, '') AS key, count(*) AS runs,
      sum(g.input_tokens) AS input_tokens, sum(g.output_tokens) AS output_tokens,
      coalesce(sum(g.cost_usd), 0) AS cost_usd,
      count(*) FILTER (WHERE g.outcome <> 'superseded' AND g.outcome <> 'locked' AND g.cost_usd IS NULL
        AND (g.input_tokens > 0 OR g.output_tokens > 0)) AS unpriced_runs
    FROM runs g GROUP BY GROUPING SETS ((g.day), (g.day, g.channel))
  ), wait_stats AS (
    SELECT g.day, CASE WHEN grouping(g.channel) = 1 THEN 'all' ELSE 'channel' END AS dim,
      coalesce(g.channel, '') AS key, g.who, count(*) AS n, sum(g.secs) AS total,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY g.secs) AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY g.secs) AS p95
    FROM waits g GROUP BY GROUPING SETS ((g.day, g.who), (g.day, g.who, g.channel))
  )
  SELECT c.day, c.dim, c.key, NULL::text, x.metric, x.value::double precision
  FROM message_counts c CROSS JOIN LATERAL (VALUES ('conversations', c.conversations),
    ('messages_in', c.messages_in), ('messages_out', c.messages_out), ('ai_replies', c.ai_replies),
    ('human_replies', c.human_replies), ('delivery_failures', c.delivery_failures)) x(metric, value)
  WHERE x.value <> 0
  UNION ALL
  SELECT c.day, c.dim, c.key, NULL, x.metric, x.value
  FROM run_counts c CROSS JOIN LATERAL (VALUES ('runs', c.runs::double precision),
    ('input_tokens', c.input_tokens), ('output_tokens', c.output_tokens), ('cost_usd', c.cost_usd),
    ('unpriced_runs', c.unpriced_runs::double precision)) x(metric, value)
  WHERE x.value <> 0
  UNION ALL
  SELECT w.day, w.dim, w.key, NULL, 'first_reply_' || w.who || '_' || x.metric, x.value
  FROM wait_stats w CROSS JOIN LATERAL (VALUES ('n', w.n::double precision), ('total', w.total),
    ('p50', w.p50), ('p95', w.p95)) x(metric, value)
  UNION ALL
  SELECT h.day, CASE WHEN grouping(h.channel) = 1 THEN 'all' ELSE 'channel' END,
    coalesce(h.channel, ''), NULL, 'handoffs', count(*)::double precision
  FROM handoffs h GROUP BY GROUPING SETS ((h.day), (h.day, h.channel))
  UNION ALL
  SELECT h.day, 'handoff_reason', h.reason, NULL, 'handoffs', count(*)::double precision
  FROM handoffs h GROUP BY h.day, h.reason
  UNION ALL
  SELECT g.day, 'failure_reason', coalesce(g.error_code, 'unknown'), max(g.error_reason),
    'delivery_failures', count(*)::double precision
  FROM msgs g WHERE g.direction = 'outbound' AND g.status = 'failed'
  GROUP BY g.day, coalesce(g.error_code, 'unknown')
  UNION ALL
  SELECT g.day, 'staff', g.user_id, NULL, 'replies', count(*)::double precision
  FROM msgs g WHERE g.direction = 'outbound' AND g.sender = 'operator' AND g.user_id IS NOT NULL
  GROUP BY g.day, g.user_id
  UNION ALL
  SELECT w.day, 'staff', w.user_id, NULL, 'first_reply_' || x.metric, x.value
  FROM (SELECT g.day, g.user_id, count(*)::double precision AS n, sum(g.secs) AS total
        FROM waits g WHERE g.who = 'human' AND g.user_id IS NOT NULL GROUP BY g.day, g.user_id) w
  CROSS JOIN LATERAL (VALUES ('n', w.n), ('total', w.total)) x(metric, value)
  $q$ USING p_tenant, p_zone, p_from, p_to;
END
$fn$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.dashboard_facts(uuid, text, date, date) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.dashboard_facts(uuid, text, date, date) TO authenticated, switchboard_worker;
--> statement-breakpoint
-- The daily rollup, for every business: its closed days (before today, in its own time zone) from
-- the day after its last rolled-up one (or its first message's), at most p_max_days per business
-- per call, so a backfill is spread over the Worker's cron minutes; and, at most hourly, the two
-- days before today again, so a late delivery failure or a reply after midnight still counts
-- (later changes to older days are not counted). A business whose time zone changed has its rows
-- recomputed. Cross-tenant, hence SECURITY DEFINER; it hands out a count.
CREATE OR REPLACE FUNCTION app.roll_up_dashboards(p_max_days integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  t record;
  v_start date;
  v_end date;
  v_n integer;
  v_total integer := 0;
BEGIN
  FOR t IN
    SELECT te.id, z.zone, (now() AT TIME ZONE z.zone)::date AS today
    FROM public.tenants te
    LEFT JOIN public.tenant_settings s ON s.tenant_id = te.id
    CROSS JOIN LATERAL (SELECT coalesce(s.time_zone, 'UTC') AS zone) z
  LOOP
    DELETE FROM public.dashboard_days d WHERE d.tenant_id = t.id AND d.time_zone <> t.zone;
    SELECT max(d.day) + 1 INTO v_start FROM public.dashboard_days d WHERE d.tenant_id = t.id;
    -- The last two closed days again, hourly: a late delivery failure or reply still counts.
    SELECT least(v_start, min(d.day)) INTO v_start FROM public.dashboard_days d
    WHERE d.tenant_id = t.id AND d.day >= t.today - 2 AND d.computed_at < now() - interval '1 hour';
    IF v_start IS NULL THEN
      SELECT (min(m.provider_timestamp) AT TIME ZONE t.zone)::date INTO v_start
      FROM public.messages m WHERE m.tenant_id = t.id;
    END IF;
    CONTINUE WHEN v_start IS NULL;
    v_end := least(t.today - 1, v_start + p_max_days - 1);
    CONTINUE WHEN v_end < v_start;
    INSERT INTO public.dashboard_days (tenant_id, day, time_zone, facts)
    SELECT t.id, g.day::date, t.zone, coalesce(f.facts, '[]'::jsonb)
    FROM generate_series(v_start::timestamp, v_end::timestamp, interval '1 day') g(day)
    LEFT JOIN (
      SELECT x.day, jsonb_agg(jsonb_build_object('dim', x.dim, 'key', x.key, 'label', x.label,
        'metric', x.metric, 'value', x.value)) AS facts
      FROM app.dashboard_facts(t.id, t.zone, v_start, v_end) x GROUP BY x.day
    ) f ON f.day = g.day::date
    ON CONFLICT (tenant_id, day) DO UPDATE
      SET facts = excluded.facts, time_zone = excluded.time_zone, computed_at = now();
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
  END LOOP;
  RETURN v_total;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.roll_up_dashboards(integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.roll_up_dashboards(integer) TO switchboard_worker;
