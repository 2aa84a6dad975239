-- A large webhook body is stored `received` and processed by the `webhook-event` job after the
-- 200 (functions/webhooks/index.ts). The job reads the stored body by its id, only while it is
-- still `received`: once processed (or dead) there is nothing left to do.
CREATE OR REPLACE FUNCTION app.received_webhook_event(p_id uuid)
RETURNS TABLE (id uuid, raw_body text, signed_for uuid[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT e.id, e.raw_body, e.signed_for FROM public.webhook_events e
  WHERE e.id = p_id AND e.outcome = 'received'
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.received_webhook_event(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.received_webhook_event(uuid) TO switchboard_worker;
