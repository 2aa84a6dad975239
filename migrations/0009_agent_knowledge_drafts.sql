CREATE TYPE "public"."draft_status" AS ENUM('pending', 'approved', 'edited', 'cancelled', 'superseded');--> statement-breakpoint
CREATE TABLE "agent_drafts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"run_id" uuid,
	"correlation_id" text NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"message" jsonb NOT NULL,
	"preview" text NOT NULL,
	"status" "draft_status" DEFAULT 'pending' NOT NULL,
	"decided_by_user_id" uuid,
	"decided_via" text,
	"decided_at" timestamp with time zone,
	"edit_requested_in_conversation_id" uuid,
	"edit_requested_at" timestamp with time zone,
	"sent_message_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_drafts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agent_media_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"attachment_index" integer NOT NULL,
	"kind" text NOT NULL,
	"text" text NOT NULL,
	"error" text,
	"model" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_media_notes_attachment" UNIQUE("message_id","attachment_index")
);
--> statement-breakpoint
ALTER TABLE "agent_media_notes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "private"."agent_model_keys" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"api_key" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "private"."agent_model_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "agent_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"model" text,
	"api_key_hint" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_settings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "knowledge_articles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"language" text DEFAULT 'en' NOT NULL,
	"tags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"published" boolean DEFAULT true NOT NULL,
	"search_vector" "tsvector" GENERATED ALWAYS AS (app.knowledge_search_vector("language", "title", "body", "tags")) STORED NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "knowledge_articles" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "agent_drafts" ADD CONSTRAINT "agent_drafts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_drafts" ADD CONSTRAINT "agent_drafts_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_drafts" ADD CONSTRAINT "agent_drafts_run_id_agent_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."agent_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_drafts" ADD CONSTRAINT "agent_drafts_sent_message_id_messages_id_fk" FOREIGN KEY ("sent_message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_media_notes" ADD CONSTRAINT "agent_media_notes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_media_notes" ADD CONSTRAINT "agent_media_notes_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "private"."agent_model_keys" ADD CONSTRAINT "agent_model_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_settings" ADD CONSTRAINT "agent_settings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD CONSTRAINT "knowledge_articles_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_drafts_conversation" ON "agent_drafts" USING btree ("conversation_id","status","created_at");--> statement-breakpoint
CREATE INDEX "agent_drafts_tenant_status" ON "agent_drafts" USING btree ("tenant_id","status","created_at");--> statement-breakpoint
CREATE INDEX "knowledge_articles_search" ON "knowledge_articles" USING gin ("search_vector");--> statement-breakpoint
CREATE INDEX "knowledge_articles_tenant" ON "knowledge_articles" USING btree ("tenant_id","updated_at");--> statement-breakpoint
CREATE POLICY "agent_drafts: members" ON "agent_drafts" AS PERMISSIVE FOR ALL TO "authenticated" USING ("agent_drafts"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("agent_drafts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "agent_drafts: worker of tenant" ON "agent_drafts" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("agent_drafts"."tenant_id" = app.current_tenant_id()) WITH CHECK ("agent_drafts"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "agent_media_notes: members" ON "agent_media_notes" AS PERMISSIVE FOR ALL TO "authenticated" USING ("agent_media_notes"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("agent_media_notes"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "agent_media_notes: worker of tenant" ON "agent_media_notes" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("agent_media_notes"."tenant_id" = app.current_tenant_id()) WITH CHECK ("agent_media_notes"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "agent_model_keys: worker of tenant" ON "private"."agent_model_keys" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("private"."agent_model_keys"."tenant_id" = app.current_tenant_id()) WITH CHECK ("private"."agent_model_keys"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "agent_settings: members read" ON "agent_settings" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("agent_settings"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "agent_settings: admins write" ON "agent_settings" AS PERMISSIVE FOR ALL TO "authenticated" USING ("agent_settings"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("agent_settings"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "agent_settings: worker of tenant" ON "agent_settings" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("agent_settings"."tenant_id" = app.current_tenant_id()) WITH CHECK ("agent_settings"."tenant_id" = app.current_tenant_id());--> statement-breakpoint
CREATE POLICY "knowledge_articles: members" ON "knowledge_articles" AS PERMISSIVE FOR ALL TO "authenticated" USING ("knowledge_articles"."tenant_id" in (select app.member_tenant_ids())) WITH CHECK ("knowledge_articles"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "knowledge_articles: worker of tenant" ON "knowledge_articles" AS PERMISSIVE FOR ALL TO "switchboard_worker" USING ("knowledge_articles"."tenant_id" = app.current_tenant_id()) WITH CHECK ("knowledge_articles"."tenant_id" = app.current_tenant_id());