-- Tables created from here on get the same grants as those in 0002 (as Supabase's defaults do),
-- so a new table is protected by its RLS policies, not by a forgotten GRANT.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO anon, authenticated, service_role, switchboard_worker;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON public.job_outbox TO anon, authenticated, service_role, switchboard_worker;
--> statement-breakpoint
-- The outbox sweeper's view across tenants: ids and tenant ids of jobs still pending after a grace
-- period (publishing right after commit normally succeeds first). Each job is then loaded and
-- published under its own tenant handle.
CREATE OR REPLACE FUNCTION app.stale_outbox_jobs(p_older_than_seconds integer, p_limit integer)
RETURNS TABLE (id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT j.id, j.tenant_id FROM public.job_outbox j
  WHERE j.status = 'pending' AND j.created_at < now() - make_interval(secs => p_older_than_seconds)
  ORDER BY j.created_at
  LIMIT p_limit
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.stale_outbox_jobs(integer, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.stale_outbox_jobs(integer, integer) TO switchboard_worker;
