-- Table privileges. Supabase grants everything in `public` to anon/authenticated/service_role by
-- default privileges; we grant the same here so local databases behave like Supabase and row-level
-- security, not missing grants, is what keeps tenants (and anon) out. Tests rely on that.
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role, switchboard_worker;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
  TO anon, authenticated, service_role, switchboard_worker;
--> statement-breakpoint
-- Secrets: the `private` schema is not exposed by Supabase's data API, and anon/authenticated get
-- no USAGE on it at all. Only the tenant handle reads it, under its tenant policy.
REVOKE ALL ON SCHEMA private FROM PUBLIC, anon, authenticated;
--> statement-breakpoint
GRANT USAGE ON SCHEMA private TO switchboard_worker;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON private.channel_credentials TO switchboard_worker;
--> statement-breakpoint
-- The one unscoped read: which channel account (hence tenant) an inbound webhook is for. Runs as
-- its owner so the worker can call it before a tenant is bound; returns only routing columns.
CREATE OR REPLACE FUNCTION app.resolve_channel_account(p_channel public.channel, p_external_id text)
RETURNS TABLE (channel_account_id uuid, tenant_id uuid, waba_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT a.id, a.tenant_id, a.waba_id FROM public.channel_accounts a
  WHERE a.channel = p_channel AND a.external_id = p_external_id
$$;
--> statement-breakpoint
-- Webhook bodies are stored before their tenant is known: append-only intake, no read-back.
CREATE OR REPLACE FUNCTION app.record_webhook_event(p_id uuid, p_provider text, p_object text, p_raw_body text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO public.webhook_events (id, provider, object, raw_body)
  VALUES (p_id, p_provider, p_object, p_raw_body)
  ON CONFLICT (id) DO NOTHING
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app.settle_webhook_event(
  p_id uuid, p_outcome public.webhook_outcome, p_reason text, p_tenant_id uuid)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  UPDATE public.webhook_events
  SET outcome = p_outcome, reason = p_reason, tenant_id = coalesce(p_tenant_id, tenant_id),
      processed_at = now(), attempts = attempts + 1
  WHERE id = p_id
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.resolve_channel_account(public.channel, text),
  app.record_webhook_event(uuid, text, text, text),
  app.settle_webhook_event(uuid, public.webhook_outcome, text, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.resolve_channel_account(public.channel, text),
  app.record_webhook_event(uuid, text, text, text),
  app.settle_webhook_event(uuid, public.webhook_outcome, text, uuid) TO switchboard_worker;
