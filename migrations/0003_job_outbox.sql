CREATE TYPE "public"."outbox_status" AS ENUM('pending', 'published');--> statement-breakpoint
CREATE TABLE "job_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"not_before" timestamp with time zone,
	"dedupe_key" text,
	"flow_control_key" text,
	"flow_control_parallelism" integer,
	"status" "outbox_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"provider_message_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "job_outbox_dedupe" UNIQUE("tenant_id","dedupe_key")
);
--> statement-breakpoint
ALTER TABLE "job_outbox" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "job_outbox" ADD CONSTRAINT "job_outbox_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "job_outbox_pending" ON "job_outbox" USING btree ("status","created_at");--> statement-breakpoint
CREATE POLICY "job_outbox: members" ON "job_outbox" AS PERMISSIVE FOR ALL TO "authenticated" USING ("job_outbox"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("job_outbox"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "job_outbox: worker of tenant" ON "job_outbox" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("job_outbox"."tenant_id" = app.current_tenant_id()) WITH CHECK ("job_outbox"."tenant_id" = app.current_tenant_id());