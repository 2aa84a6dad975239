-- Inbound webhooks (issue 3): routing by WhatsApp Business Account, and the change stamp the
-- operator inbox syncs on.

-- Template status webhooks (message_template_status_update) name only the WABA, not a phone
-- number: the second unscoped routing read, returning routing columns only, like
-- app.resolve_channel_account in 0002.
CREATE OR REPLACE FUNCTION app.resolve_whatsapp_business_account(p_waba_id text)
RETURNS TABLE (channel_account_id uuid, tenant_id uuid, external_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT a.id, a.tenant_id, a.external_id FROM public.channel_accounts a
  WHERE a.channel = 'whatsapp' AND a.waba_id = p_waba_id
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.resolve_whatsapp_business_account(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.resolve_whatsapp_business_account(text) TO switchboard_worker;
--> statement-breakpoint
-- The inbox asks "which messages of this chat changed since my cursor?" (GET
-- /admin/chats/{id}/messages?after=). That only works if every write stamps updated_at, whoever
-- writes (webhooks, send jobs, operators), so the database does it rather than each caller.
-- clock_timestamp(), not now(): now() is the transaction start, which can be long before commit.
CREATE OR REPLACE FUNCTION app.stamp_message_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER messages_stamp_updated_at BEFORE INSERT OR UPDATE ON public.messages
  FOR EACH ROW EXECUTE FUNCTION app.stamp_message_updated_at();
--> statement-breakpoint
-- Makes the delta query one index range scan, and an empty one when nothing changed.
CREATE INDEX IF NOT EXISTS messages_conversation_changes
  ON public.messages USING btree (conversation_id, updated_at, id);
