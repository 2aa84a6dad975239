CREATE TYPE "public"."opportunity_kind" AS ENUM('price_no_booking', 'recall_due', 'no_show_or_cancelled', 'quiet_after_handoff');--> statement-breakpoint
CREATE TYPE "public"."opportunity_status" AS ENUM('open', 'accepted', 'skipped', 'drafted', 'sent', 'expired');--> statement-breakpoint
CREATE TABLE "opportunities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"conversation_id" uuid,
	"kind" "opportunity_kind" NOT NULL,
	"evidence_id" uuid NOT NULL,
	"evidence_text" text NOT NULL,
	"suggested_action" text NOT NULL,
	"status" "opportunity_status" DEFAULT 'open' NOT NULL,
	"decided_by_user_id" uuid,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "opportunities" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "recall_after_days" integer;--> statement-breakpoint
ALTER TABLE "opportunities" ADD CONSTRAINT "opportunities_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opportunities" ADD CONSTRAINT "opportunities_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opportunities" ADD CONSTRAINT "opportunities_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "opportunities_evidence" ON "opportunities" USING btree ("tenant_id","kind","evidence_id");--> statement-breakpoint
CREATE INDEX "opportunities_tenant_recent" ON "opportunities" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "opportunities_contact_open" ON "opportunities" USING btree ("contact_id","kind") WHERE "opportunities"."status" = 'open';--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_recall_after_days" CHECK ("services"."recall_after_days" is null or "services"."recall_after_days" between 1 and 3650);--> statement-breakpoint
CREATE POLICY "opportunities: members" ON "opportunities" AS PERMISSIVE FOR ALL TO "authenticated" USING ("opportunities"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("opportunities"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "opportunities: worker of tenant" ON "opportunities" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("opportunities"."tenant_id" = app.current_tenant_id()) WITH CHECK ("opportunities"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
-- The daily opportunities scan of every business at p_local_hour in its own time zone: one pending
-- outbox row per business and local date (the dedupe key), due at the next such hour, which the
-- sweeper publishes to QStash with that not-before. The Worker's cron calls it every minute, so a
-- new business or a changed time zone is picked up within a minute; once a day's row exists the
-- calls insert nothing. Cross-tenant, hence SECURITY DEFINER; it hands out nothing but a count.
CREATE OR REPLACE FUNCTION app.schedule_opportunity_scans(p_local_hour integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  WITH local_now AS (
    SELECT t.id AS tenant_id, z.zone, date_trunc('day', now() AT TIME ZONE z.zone) AS today,
      now() AT TIME ZONE z.zone AS now_local
    FROM public.tenants t
    LEFT JOIN public.tenant_settings s ON s.tenant_id = t.id
    CROSS JOIN LATERAL (SELECT coalesce(s.time_zone, 'UTC') AS zone) z
  ), next_run AS (
    SELECT tenant_id, zone,
      CASE WHEN today + make_interval(hours => p_local_hour) > now_local
        THEN today + make_interval(hours => p_local_hour)
        ELSE today + make_interval(days => 1, hours => p_local_hour) END AS local_at
    FROM local_now
  ), inserted AS (
    INSERT INTO public.job_outbox (tenant_id, kind, payload, not_before, dedupe_key)
    SELECT tenant_id, 'opportunities-scan', jsonb_build_object('localDate', local_at::date::text),
      local_at AT TIME ZONE zone, 'opportunities-scan:' || local_at::date::text
    FROM next_run
    ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int FROM inserted
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.schedule_opportunity_scans(integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.schedule_opportunity_scans(integer) TO switchboard_worker;
