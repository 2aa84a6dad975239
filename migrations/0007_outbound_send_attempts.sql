CREATE TYPE "public"."send_attempt_outcome" AS ENUM('sending', 'sent', 'simulated', 'retry', 'failed', 'abandoned');--> statement-breakpoint
CREATE TABLE "conversation_lock_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"locked" boolean NOT NULL,
	"source" "lock_source" NOT NULL,
	"user_id" uuid,
	"reason" text,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversation_lock_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "send_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" "send_attempt_outcome" DEFAULT 'sending' NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"error_code" text,
	"error_reason" text,
	"http_status" integer,
	"provider_message_id" text,
	"messaging_type" text,
	"retry_at" timestamp with time zone,
	"request" jsonb,
	CONSTRAINT "send_attempts_number" UNIQUE("message_id","attempt")
);
--> statement-breakpoint
ALTER TABLE "send_attempts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "conversation_lock_events" ADD CONSTRAINT "conversation_lock_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_lock_events" ADD CONSTRAINT "conversation_lock_events_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "send_attempts" ADD CONSTRAINT "send_attempts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "send_attempts" ADD CONSTRAINT "send_attempts_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversation_lock_events_conversation" ON "conversation_lock_events" USING btree ("conversation_id","at");--> statement-breakpoint
CREATE INDEX "send_attempts_tenant" ON "send_attempts" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE POLICY "conversation_lock_events: members" ON "conversation_lock_events" AS PERMISSIVE FOR ALL TO "authenticated" USING ("conversation_lock_events"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("conversation_lock_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "conversation_lock_events: worker of tenant" ON "conversation_lock_events" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("conversation_lock_events"."tenant_id" = app.current_tenant_id()) WITH CHECK ("conversation_lock_events"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "send_attempts: members" ON "send_attempts" AS PERMISSIVE FOR ALL TO "authenticated" USING ("send_attempts"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("send_attempts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "send_attempts: worker of tenant" ON "send_attempts" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("send_attempts"."tenant_id" = app.current_tenant_id()) WITH CHECK ("send_attempts"."tenant_id" = app.current_tenant_id());