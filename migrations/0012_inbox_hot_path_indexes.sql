-- Indexes for the inbox's hot paths (docs/performance.md): customers by each key Meta uses (key
-- before channel, so the lookup can use them under RLS), the chat list's keyset order with its id
-- tie-break (and the locked subset), a thread in conversation order including arrival time.
-- messages_conversation_changes already exists (made by hand in 0006); it is now declared in the
-- schema, hence IF NOT EXISTS. Each migration runs in one transaction: no contact can slip in
-- between dropping contacts_external and adding it back.
ALTER TABLE "contacts" DROP CONSTRAINT "contacts_external";--> statement-breakpoint
DROP INDEX "conversations_tenant_recent";--> statement-breakpoint
DROP INDEX "messages_conversation_time";--> statement-breakpoint
CREATE INDEX "contacts_phone" ON "contacts" USING btree ("tenant_id","phone","channel") WHERE "contacts"."phone" is not null;--> statement-breakpoint
CREATE INDEX "contacts_bsuid" ON "contacts" USING btree ("tenant_id","bsuid","channel") WHERE "contacts"."bsuid" is not null;--> statement-breakpoint
CREATE INDEX "conversations_tenant_recent_locked" ON "conversations" USING btree ("tenant_id","last_message_at" DESC NULLS LAST,"id" DESC NULLS FIRST) WHERE "conversations"."is_locked";--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_conversation_changes" ON "messages" USING btree ("conversation_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "conversations_tenant_recent" ON "conversations" USING btree ("tenant_id","last_message_at" DESC NULLS LAST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "messages_conversation_time" ON "messages" USING btree ("conversation_id","provider_timestamp","received_at","id");--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_external" UNIQUE("tenant_id","external_user_id","channel");