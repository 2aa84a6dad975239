CREATE TABLE "message_status_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel_account_id" uuid NOT NULL,
	"provider_message_id" text,
	"recipient_id" text,
	"provider_status" text NOT NULL,
	"status" "message_status" NOT NULL,
	"watermark" timestamp with time zone,
	"provider_timestamp" timestamp with time zone NOT NULL,
	"error_code" text,
	"error_title" text,
	"error_details" text,
	"error_reason" text,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"webhook_event_id" uuid,
	"message_id" uuid,
	"applied_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "message_status_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "message_status_events" ADD CONSTRAINT "message_status_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_status_events" ADD CONSTRAINT "message_status_events_channel_account_id_channel_accounts_id_fk" FOREIGN KEY ("channel_account_id") REFERENCES "public"."channel_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_status_events" ADD CONSTRAINT "message_status_events_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "message_status_events_once" ON "message_status_events" USING btree ("channel_account_id","provider_message_id","provider_status") WHERE "message_status_events"."provider_message_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "message_status_events_watermark_once" ON "message_status_events" USING btree ("channel_account_id","recipient_id","provider_status","watermark") WHERE "message_status_events"."provider_message_id" is null;--> statement-breakpoint
CREATE INDEX "message_status_events_pending" ON "message_status_events" USING btree ("channel_account_id","provider_message_id") WHERE "message_status_events"."applied_at" is null;--> statement-breakpoint
CREATE POLICY "message_status_events: members" ON "message_status_events" AS PERMISSIVE FOR ALL TO "authenticated" USING ("message_status_events"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("message_status_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "message_status_events: worker of tenant" ON "message_status_events" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("message_status_events"."tenant_id" = app.current_tenant_id()) WITH CHECK ("message_status_events"."tenant_id" = app.current_tenant_id());