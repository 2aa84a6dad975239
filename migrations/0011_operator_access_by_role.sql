DROP POLICY "agent_media_notes: members" ON "agent_media_notes" CASCADE;--> statement-breakpoint
DROP POLICY "channel_accounts: members" ON "channel_accounts" CASCADE;--> statement-breakpoint
DROP POLICY "agent_runs: members" ON "agent_runs" CASCADE;--> statement-breakpoint
DROP POLICY "message_status_events: members" ON "message_status_events" CASCADE;--> statement-breakpoint
DROP POLICY "job_outbox: members" ON "job_outbox" CASCADE;--> statement-breakpoint
DROP POLICY "knowledge_articles: members" ON "knowledge_articles" CASCADE;--> statement-breakpoint
DROP POLICY "conversation_lock_events: members" ON "conversation_lock_events" CASCADE;--> statement-breakpoint
DROP POLICY "send_attempts: members" ON "send_attempts" CASCADE;--> statement-breakpoint
DROP POLICY "opt_ins: members" ON "opt_ins" CASCADE;--> statement-breakpoint
DROP POLICY "tenant_settings: members" ON "tenant_settings" CASCADE;--> statement-breakpoint
CREATE POLICY "agent_media_notes: members read" ON "agent_media_notes" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("agent_media_notes"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "channel_accounts: members read" ON "channel_accounts" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("channel_accounts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "channel_accounts: admins write" ON "channel_accounts" AS PERMISSIVE FOR ALL TO "authenticated" USING ("channel_accounts"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("channel_accounts"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "agent_runs: members read" ON "agent_runs" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("agent_runs"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "message_status_events: members read" ON "message_status_events" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("message_status_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "job_outbox: members read" ON "job_outbox" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("job_outbox"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "job_outbox: members append" ON "job_outbox" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("job_outbox"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "knowledge_articles: members read" ON "knowledge_articles" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("knowledge_articles"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "knowledge_articles: admins write" ON "knowledge_articles" AS PERMISSIVE FOR ALL TO "authenticated" USING ("knowledge_articles"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("knowledge_articles"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));--> statement-breakpoint
CREATE POLICY "conversation_lock_events: members read" ON "conversation_lock_events" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("conversation_lock_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "conversation_lock_events: members append" ON "conversation_lock_events" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("conversation_lock_events"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "send_attempts: members read" ON "send_attempts" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("send_attempts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "send_attempts: members append" ON "send_attempts" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("send_attempts"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "opt_ins: members read" ON "opt_ins" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("opt_ins"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "opt_ins: members append" ON "opt_ins" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("opt_ins"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "tenant_settings: members read" ON "tenant_settings" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("tenant_settings"."tenant_id" in (select app.member_tenant_ids()));--> statement-breakpoint
CREATE POLICY "tenant_settings: admins write" ON "tenant_settings" AS PERMISSIVE FOR ALL TO "authenticated" USING ("tenant_settings"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin']))) WITH CHECK ("tenant_settings"."tenant_id" in (select app.tenant_ids_with_role(array['owner', 'admin'])));