CREATE SCHEMA "private";
--> statement-breakpoint
CREATE TYPE "public"."channel" AS ENUM('whatsapp', 'messenger', 'instagram');--> statement-breakpoint
CREATE TYPE "public"."lock_source" AS ENUM('operator', 'echo', 'escalation', 'keyword');--> statement-breakpoint
CREATE TYPE "public"."message_direction" AS ENUM('inbound', 'outbound');--> statement-breakpoint
CREATE TYPE "public"."message_sender" AS ENUM('user', 'agent', 'operator', 'system');--> statement-breakpoint
CREATE TYPE "public"."message_status" AS ENUM('received', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."agent_outcome" AS ENUM('running', 'replied', 'superseded', 'locked', 'handed_off', 'failed');--> statement-breakpoint
CREATE TYPE "public"."webhook_outcome" AS ENUM('received', 'processed', 'dead');--> statement-breakpoint
CREATE TYPE "public"."opt_in_action" AS ENUM('opt_in', 'opt_out');--> statement-breakpoint
CREATE TYPE "public"."member_role" AS ENUM('owner', 'admin', 'agent');--> statement-breakpoint
CREATE TYPE "public"."reply_mode" AS ENUM('auto', 'approval', 'off');--> statement-breakpoint
CREATE TABLE "channel_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"external_id" text NOT NULL,
	"waba_id" text,
	"display_name" text NOT NULL,
	"display_phone_number" text,
	"throughput_per_second" integer DEFAULT 80 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_accounts_external" UNIQUE("channel","external_id")
);
--> statement-breakpoint
ALTER TABLE "channel_accounts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "private"."channel_credentials" (
	"channel_account_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"access_token" text NOT NULL,
	"app_secret" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "private"."channel_credentials" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "contacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"external_user_id" text NOT NULL,
	"phone" text,
	"bsuid" text,
	"name" text,
	"username" text,
	"opted_out_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contacts_external" UNIQUE("tenant_id","channel","external_user_id")
);
--> statement-breakpoint
ALTER TABLE "contacts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"channel_account_id" uuid NOT NULL,
	"is_locked" boolean DEFAULT false NOT NULL,
	"locked_by" "lock_source",
	"locked_by_user_id" uuid,
	"locked_at" timestamp with time zone,
	"lock_reason" text,
	"last_inbound_at" timestamp with time zone,
	"last_message_preview" text,
	"last_message_at" timestamp with time zone,
	"unread_count" integer DEFAULT 0 NOT NULL,
	"latest_inbound_message_id" uuid,
	"next_send_at" timestamp with time zone,
	"bot_enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_thread" UNIQUE("channel_account_id","contact_id")
);
--> statement-breakpoint
ALTER TABLE "conversations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"channel_account_id" uuid NOT NULL,
	"direction" "message_direction" NOT NULL,
	"sender" "message_sender" NOT NULL,
	"type" text NOT NULL,
	"content" text,
	"attachments" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"provider_message_id" text,
	"provider_timestamp" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status" "message_status" NOT NULL,
	"error_code" text,
	"error_reason" text,
	"correlation_id" text,
	"reply_to_provider_message_id" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_provider_id" UNIQUE("channel_account_id","provider_message_id")
);
--> statement-breakpoint
ALTER TABLE "messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agent_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"correlation_id" text NOT NULL,
	"trigger_message_id" uuid,
	"model" text NOT NULL,
	"steps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"usage" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"latency_ms" integer,
	"outcome" "agent_outcome" DEFAULT 'running' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "agent_runs_correlation_id_unique" UNIQUE("correlation_id")
);
--> statement-breakpoint
ALTER TABLE "agent_runs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid,
	"provider" text DEFAULT 'meta' NOT NULL,
	"object" text,
	"raw_body" text NOT NULL,
	"outcome" "webhook_outcome" DEFAULT 'received' NOT NULL,
	"reason" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "webhook_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "opt_ins" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"scope" text NOT NULL,
	"action" "opt_in_action" NOT NULL,
	"source" text NOT NULL,
	"recorded_by_user_id" uuid,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "opt_ins" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "templates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel_account_id" uuid NOT NULL,
	"waba_id" text NOT NULL,
	"provider_template_id" text NOT NULL,
	"name" text NOT NULL,
	"language" text NOT NULL,
	"status" text NOT NULL,
	"category" text NOT NULL,
	"parameter_format" text DEFAULT 'POSITIONAL' NOT NULL,
	"components" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "templates_provider" UNIQUE("tenant_id","waba_id","name","language")
);
--> statement-breakpoint
ALTER TABLE "templates" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_members" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" "member_role" DEFAULT 'agent' NOT NULL,
	"display_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_members_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "tenant_members" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"business_description" text DEFAULT '' NOT NULL,
	"persona" text DEFAULT '' NOT NULL,
	"agent_instructions" text DEFAULT '' NOT NULL,
	"business_hours" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"debounce_seconds" integer DEFAULT 10 NOT NULL,
	"reply_mode" "reply_mode" DEFAULT 'auto' NOT NULL,
	"send_spacing_seconds" integer DEFAULT 4 NOT NULL,
	"lock_on_operator_reply" boolean DEFAULT true NOT NULL,
	"escalation_contacts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tenant_settings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "channel_accounts" ADD CONSTRAINT "channel_accounts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "private"."channel_credentials" ADD CONSTRAINT "channel_credentials_channel_account_id_channel_accounts_id_fk" FOREIGN KEY ("channel_account_id") REFERENCES "public"."channel_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "private"."channel_credentials" ADD CONSTRAINT "channel_credentials_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_channel_account_id_channel_accounts_id_fk" FOREIGN KEY ("channel_account_id") REFERENCES "public"."channel_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_channel_account_id_channel_accounts_id_fk" FOREIGN KEY ("channel_account_id") REFERENCES "public"."channel_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_runs" ADD CONSTRAINT "agent_runs_trigger_message_id_messages_id_fk" FOREIGN KEY ("trigger_message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opt_ins" ADD CONSTRAINT "opt_ins_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "opt_ins" ADD CONSTRAINT "opt_ins_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "templates" ADD CONSTRAINT "templates_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "templates" ADD CONSTRAINT "templates_channel_account_id_channel_accounts_id_fk" FOREIGN KEY ("channel_account_id") REFERENCES "public"."channel_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_members" ADD CONSTRAINT "tenant_members_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_members" ADD CONSTRAINT "tenant_members_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD CONSTRAINT "tenant_settings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversations_tenant_recent" ON "conversations" USING btree ("tenant_id","last_message_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "messages_conversation_time" ON "messages" USING btree ("conversation_id","provider_timestamp","id");--> statement-breakpoint
CREATE INDEX "messages_correlation" ON "messages" USING btree ("tenant_id","correlation_id");--> statement-breakpoint
CREATE INDEX "webhook_events_outcome" ON "webhook_events" USING btree ("outcome","created_at");--> statement-breakpoint
CREATE POLICY "channel_accounts: members" ON "channel_accounts" AS PERMISSIVE FOR ALL TO "authenticated" USING ("channel_accounts"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("channel_accounts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "channel_accounts: worker of tenant" ON "channel_accounts" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("channel_accounts"."tenant_id" = app.current_tenant_id()) WITH CHECK ("channel_accounts"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "channel_credentials: worker of tenant" ON "private"."channel_credentials" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("private"."channel_credentials"."tenant_id" = app.current_tenant_id()) WITH CHECK ("private"."channel_credentials"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "contacts: members" ON "contacts" AS PERMISSIVE FOR ALL TO "authenticated" USING ("contacts"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("contacts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "contacts: worker of tenant" ON "contacts" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("contacts"."tenant_id" = app.current_tenant_id()) WITH CHECK ("contacts"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "conversations: members" ON "conversations" AS PERMISSIVE FOR ALL TO "authenticated" USING ("conversations"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("conversations"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "conversations: worker of tenant" ON "conversations" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("conversations"."tenant_id" = app.current_tenant_id()) WITH CHECK ("conversations"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "messages: members" ON "messages" AS PERMISSIVE FOR ALL TO "authenticated" USING ("messages"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("messages"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "messages: worker of tenant" ON "messages" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("messages"."tenant_id" = app.current_tenant_id()) WITH CHECK ("messages"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "agent_runs: members" ON "agent_runs" AS PERMISSIVE FOR ALL TO "authenticated" USING ("agent_runs"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("agent_runs"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "agent_runs: worker of tenant" ON "agent_runs" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("agent_runs"."tenant_id" = app.current_tenant_id()) WITH CHECK ("agent_runs"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "webhook_events: members read" ON "webhook_events" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("webhook_events"."tenant_id" is not null and "webhook_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "webhook_events: worker of tenant" ON "webhook_events" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("webhook_events"."tenant_id" = app.current_tenant_id()) WITH CHECK ("webhook_events"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "opt_ins: members" ON "opt_ins" AS PERMISSIVE FOR ALL TO "authenticated" USING ("opt_ins"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("opt_ins"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "opt_ins: worker of tenant" ON "opt_ins" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("opt_ins"."tenant_id" = app.current_tenant_id()) WITH CHECK ("opt_ins"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "templates: members" ON "templates" AS PERMISSIVE FOR ALL TO "authenticated" USING ("templates"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("templates"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "templates: worker of tenant" ON "templates" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("templates"."tenant_id" = app.current_tenant_id()) WITH CHECK ("templates"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "tenant_members: members read" ON "tenant_members" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("tenant_members"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "tenant_members: admins write" ON "tenant_members" AS PERMISSIVE FOR ALL TO "authenticated" USING ("tenant_members"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("tenant_members"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "tenant_members: worker of tenant" ON "tenant_members" AS PERMISSIVE FOR SELECT TO "switchboard_worker" USING ("tenant_members"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "tenant_settings: members" ON "tenant_settings" AS PERMISSIVE FOR ALL TO "authenticated" USING ("tenant_settings"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("tenant_settings"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "tenant_settings: worker of tenant" ON "tenant_settings" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("tenant_settings"."tenant_id" = app.current_tenant_id()) WITH CHECK ("tenant_settings"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "tenants: members read" ON "tenants" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("tenants"."id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "tenants: owners rename" ON "tenants" AS PERMISSIVE FOR UPDATE TO "authenticated" USING ("tenants"."id" in (select app.tenant_ids_with_role(array['owner']))) WITH CHECK ("tenants"."id" in (select app.tenant_ids_with_role(array['owner'])));--> statement-breakpoint
CREATE POLICY "tenants: worker of tenant" ON "tenants" AS PERMISSIVE FOR SELECT TO "switchboard_worker" USING ("tenants"."id" = app.current_tenant_id());