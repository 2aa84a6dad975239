CREATE TYPE "public"."whatsapp_provider" AS ENUM('meta', 'gupshup', 'ycloud');--> statement-breakpoint
ALTER TABLE "channel_accounts" ADD COLUMN "provider" "whatsapp_provider" DEFAULT 'meta' NOT NULL;--> statement-breakpoint
ALTER TABLE "private"."channel_credentials" ADD COLUMN "webhook_secret" text;--> statement-breakpoint
ALTER TABLE "private"."channel_credentials" ADD COLUMN "previous_webhook_secret" text;--> statement-breakpoint
ALTER TABLE "private"."channel_credentials" ADD COLUMN "previous_secret_until" timestamp with time zone;--> statement-breakpoint
-- A provider's callback names our account by id in its URL: the account (hence tenant) and its
-- sealed callback secrets in one read, before any tenant is known (the intake role cannot read
-- channel_accounts or private.*; this function is all it gets). Only provider-carried numbers.
CREATE FUNCTION app.provider_callback_account(p_id uuid, p_provider public.whatsapp_provider)
RETURNS TABLE (tenant_id uuid, external_id text, display_phone_number text, waba_id text,
  webhook_secret text, previous_webhook_secret text, previous_secret_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT a.tenant_id, a.external_id, a.display_phone_number, a.waba_id,
    c.webhook_secret, c.previous_webhook_secret, c.previous_secret_until
  FROM public.channel_accounts a
  LEFT JOIN private.channel_credentials c ON c.channel_account_id = a.id
  WHERE a.id = p_id AND a.provider = p_provider AND a.channel = 'whatsapp'
$$;
--> statement-breakpoint
-- A provider's body is stored with its provider and the account it authenticated for, so a replay
-- parses it with the right adapter and writes to that account only.
DROP FUNCTION app.store_webhook_event(uuid, text, text, text, public.webhook_outcome, text, uuid);
--> statement-breakpoint
CREATE FUNCTION app.store_webhook_event(
  p_id uuid, p_provider text, p_object text, p_raw_body text,
  p_outcome public.webhook_outcome, p_reason text, p_tenant_id uuid, p_signed_for uuid[])
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.webhook_events AS e
      (id, provider, object, raw_body, outcome, reason, tenant_id, signed_for, processed_at, attempts)
    VALUES (p_id, p_provider, p_object, p_raw_body, p_outcome, p_reason, p_tenant_id, p_signed_for, now(), 1)
    ON CONFLICT (id) DO UPDATE
      SET outcome = excluded.outcome, reason = excluded.reason,
          tenant_id = coalesce(excluded.tenant_id, e.tenant_id),
          processed_at = now(), attempts = e.attempts + 1;
END $$;
--> statement-breakpoint
DROP FUNCTION app.received_webhook_event(uuid);
--> statement-breakpoint
CREATE FUNCTION app.received_webhook_event(p_id uuid)
RETURNS TABLE (id uuid, provider text, raw_body text, signed_for uuid[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT e.id, e.provider, e.raw_body, e.signed_for FROM public.webhook_events e
  WHERE e.id = p_id AND e.outcome = 'received'
$$;
--> statement-breakpoint
DROP FUNCTION app.stale_received_events(integer, integer, integer);
--> statement-breakpoint
CREATE FUNCTION app.stale_received_events(
  p_older_than_seconds integer, p_max_attempts integer, p_limit integer)
RETURNS TABLE (id uuid, provider text, raw_body text, signed_for uuid[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT e.id, e.provider, e.raw_body, e.signed_for FROM public.webhook_events e
  WHERE e.outcome = 'received' AND e.attempts < p_max_attempts
    AND e.received_at < now() - make_interval(secs => p_older_than_seconds)
  ORDER BY e.received_at
  LIMIT p_limit
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.provider_callback_account(uuid, public.whatsapp_provider),
  app.store_webhook_event(uuid, text, text, text, public.webhook_outcome, text, uuid, uuid[]),
  app.received_webhook_event(uuid),
  app.stale_received_events(integer, integer, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.provider_callback_account(uuid, public.whatsapp_provider),
  app.store_webhook_event(uuid, text, text, text, public.webhook_outcome, text, uuid, uuid[]),
  app.received_webhook_event(uuid),
  app.stale_received_events(integer, integer, integer) TO switchboard_worker;
