CREATE TABLE "platform_operators" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "platform_operators" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "signed_for" uuid[];--> statement-breakpoint
CREATE INDEX "messages_in_flight" ON "messages" USING btree ("updated_at") WHERE "messages"."direction" = 'outbound' and "messages"."status" in ('queued', 'sending');--> statement-breakpoint
CREATE INDEX "job_outbox_send_message" ON "job_outbox" USING btree ("tenant_id",("payload"->>'messageId')) WHERE "job_outbox"."kind" = 'send';--> statement-breakpoint
CREATE POLICY "webhook_events: platform operators read unattributed" ON "webhook_events" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("webhook_events"."tenant_id" is null and exists (select 1 from public.platform_operators p where p.user_id = auth.uid()));--> statement-breakpoint
CREATE POLICY "platform_operators: self read" ON "platform_operators" AS PERMISSIVE FOR SELECT TO "authenticated" USING (user_id = auth.uid());
--> statement-breakpoint
-- The stuck-send sweeper's view across tenants (functions/lib/sweepers.ts): outbound messages
-- still `queued` or `sending` whose last change and every send job are older than the grace period,
-- i.e. no delivery is due any more (QStash gave up while the database was down, say). `sweeps`
-- counts the sweeper's earlier recoveries of the message (their jobs' dedupe keys), so it can give
-- up with a reason instead of trying forever.
CREATE OR REPLACE FUNCTION app.stuck_sends(p_older_than_seconds integer, p_limit integer)
RETURNS TABLE (message_id uuid, tenant_id uuid, conversation_id uuid, status public.message_status, sweeps integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT m.id, m.tenant_id, m.conversation_id, m.status,
    (SELECT count(*)::integer FROM public.job_outbox j
      WHERE j.tenant_id = m.tenant_id AND j.kind = 'send' AND (j.payload->>'messageId') = m.id::text
        AND j.dedupe_key LIKE 'sweep-send:%')
  FROM public.messages m
  WHERE m.direction = 'outbound' AND m.status IN ('queued', 'sending')
    AND m.updated_at < now() - make_interval(secs => p_older_than_seconds)
    AND NOT EXISTS (
      SELECT 1 FROM public.job_outbox j
      WHERE j.tenant_id = m.tenant_id AND j.kind = 'send' AND (j.payload->>'messageId') = m.id::text
        AND greatest(j.created_at, j.not_before) > now() - make_interval(secs => p_older_than_seconds))
  ORDER BY m.updated_at
  LIMIT p_limit
$$;
--> statement-breakpoint
-- Bodies a failed processing left `received` (Meta retries them too, for days): the sweeper
-- replays those older than the grace period, each at most p_max_attempts times.
CREATE OR REPLACE FUNCTION app.stale_received_events(
  p_older_than_seconds integer, p_max_attempts integer, p_limit integer)
RETURNS TABLE (id uuid, raw_body text, signed_for uuid[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT e.id, e.raw_body, e.signed_for FROM public.webhook_events e
  WHERE e.outcome = 'received' AND e.attempts < p_max_attempts
    AND e.received_at < now() - make_interval(secs => p_older_than_seconds)
  ORDER BY e.received_at
  LIMIT p_limit
$$;
--> statement-breakpoint
-- A replay by the sweeper that failed again: counted, with why; the last allowed one leaves the
-- event `dead` with its reason (an operator can still replay it).
CREATE OR REPLACE FUNCTION app.note_failed_replay(p_id uuid, p_reason text, p_max_attempts integer)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  UPDATE public.webhook_events
  SET attempts = attempts + 1,
      reason = p_reason,
      outcome = CASE WHEN attempts + 1 >= p_max_attempts THEN 'dead'::public.webhook_outcome ELSE outcome END
  WHERE id = p_id AND outcome = 'received'
$$;
--> statement-breakpoint
-- A body kept `received` remembers which accounts signed it (null: Meta's app secret).
DROP FUNCTION app.record_webhook_event(uuid, text, text, text);
--> statement-breakpoint
CREATE FUNCTION app.record_webhook_event(
  p_id uuid, p_provider text, p_object text, p_raw_body text, p_signed_for uuid[])
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO public.webhook_events (id, provider, object, raw_body, signed_for)
  VALUES (p_id, p_provider, p_object, p_raw_body, p_signed_for)
  ON CONFLICT (id) DO NOTHING
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.stuck_sends(integer, integer),
  app.stale_received_events(integer, integer, integer),
  app.note_failed_replay(uuid, text, integer),
  app.record_webhook_event(uuid, text, text, text, uuid[]) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.stuck_sends(integer, integer),
  app.stale_received_events(integer, integer, integer),
  app.note_failed_replay(uuid, text, integer),
  app.record_webhook_event(uuid, text, text, text, uuid[]) TO switchboard_worker;
--> statement-breakpoint
-- The platform operator binding, as app.bind_operator_to is for a business: the role
-- `authenticated` and the verified claims, then the check that the user is a platform operator
-- (SQLSTATE 28000 if not, so the statements sent with it fail and nothing is read).
-- Not SECURITY DEFINER: it may only switch to a role the caller may already switch to.
CREATE OR REPLACE FUNCTION app.bind_platform_operator(p_claims text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
BEGIN
  PERFORM set_config('role', 'authenticated', true),
    set_config('request.jwt.claims', p_claims, true),
    set_config('request.jwt.claim.sub', p_claims::jsonb ->> 'sub', true);
  IF NOT EXISTS (SELECT 1 FROM public.platform_operators p WHERE p.user_id = auth.uid()) THEN
    RAISE EXCEPTION 'not a platform operator' USING ERRCODE = '28000';
  END IF;
END $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.bind_platform_operator(text) FROM PUBLIC;
