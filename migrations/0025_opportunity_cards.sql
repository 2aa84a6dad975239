CREATE TABLE "opportunity_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"opportunity_id" uuid NOT NULL,
	"event" text NOT NULL,
	"actor" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "opportunity_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "opportunities" ADD COLUMN "decided_via" text;--> statement-breakpoint
ALTER TABLE "opportunities" ADD COLUMN "carded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "opportunities" ADD COLUMN "draft_id" uuid;--> statement-breakpoint
ALTER TABLE "opportunities" ADD COLUMN "message_id" uuid;--> statement-breakpoint
ALTER TABLE "opportunity_events" ADD CONSTRAINT "opportunity_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opportunity_events" ADD CONSTRAINT "opportunity_events_opportunity_id_opportunities_id_fk" FOREIGN KEY ("opportunity_id") REFERENCES "public"."opportunities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "opportunity_events_opportunity" ON "opportunity_events" USING btree ("opportunity_id","created_at");--> statement-breakpoint
ALTER TABLE "opportunities" ADD CONSTRAINT "opportunities_draft_id_agent_drafts_id_fk" FOREIGN KEY ("draft_id") REFERENCES "public"."agent_drafts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opportunities" ADD CONSTRAINT "opportunities_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "opportunities_contact_decided" ON "opportunities" USING btree ("contact_id","decided_at");--> statement-breakpoint
CREATE INDEX "opportunities_draft" ON "opportunities" USING btree ("draft_id") WHERE "opportunities"."draft_id" is not null;--> statement-breakpoint
CREATE INDEX "opportunities_message" ON "opportunities" USING btree ("message_id") WHERE "opportunities"."message_id" is not null;--> statement-breakpoint
CREATE INDEX "opportunities_carded" ON "opportunities" USING btree ("tenant_id","carded_at") WHERE "opportunities"."carded_at" is not null;--> statement-breakpoint
CREATE POLICY "opportunity_events: members" ON "opportunity_events" AS PERMISSIVE FOR ALL TO "authenticated" USING ("opportunity_events"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("opportunity_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "opportunity_events: worker of tenant" ON "opportunity_events" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("opportunity_events"."tenant_id" = app.current_tenant_id()) WITH CHECK ("opportunity_events"."tenant_id" = app.current_tenant_id());