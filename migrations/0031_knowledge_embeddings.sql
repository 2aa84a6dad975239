-- Knowledge search by meaning (issue 14): pgvector, and each article's embedding with the model
-- that computed it and a hash of the text embedded (a changed article is embedded again, an
-- unchanged one is not). Supabase ships pgvector and puts extensions in the `extensions` schema
-- (made by migrations/0008), as here; the embedded database loads PGlite's pgvector build, and a
-- plain Postgres server needs pgvector installed (.ci/run builds vendor/pgvector).
-- No index on the embeddings: a tenant's articles are few, the search filters them by tenant
-- first, and embeddings of different models (dimensions) share the column.
-- A database where pgvector was already enabled in another schema (Supabase's dashboard lets one
-- pick `public`) has it moved to `extensions`, where this project names it: columns that use the
-- type keep it (they refer to it, not to its schema).
DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'vector' AND n.nspname <> 'extensions') THEN
    ALTER EXTENSION vector SET SCHEMA extensions;
  END IF;
END $do$;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;
--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD COLUMN "embedding" extensions.vector;--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD COLUMN "embedding_model" text;--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD COLUMN "embedding_hash" text;
--> statement-breakpoint
-- Articles the `knowledge-embedding` job has not embedded with the deployment's model (written
-- before search by meaning existed, or before the model changed): the Worker's cron calls this
-- every minute, when an embeddings endpoint is configured, and it queues one outbox row per such
-- article, which the outbox sweeper publishes. Once per article and model (the dedupe key), so an
-- article whose job gave up is not queued again every minute; recently changed articles are left
-- to the job their save queued. p_tenant_id limits it to one business (tests); null: every one.
-- Cross-tenant, hence SECURITY DEFINER; it hands out nothing but a count.
CREATE OR REPLACE FUNCTION app.queue_knowledge_embeddings(p_model text, p_limit integer, p_tenant_id uuid DEFAULT NULL)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  WITH inserted AS (
    INSERT INTO public.job_outbox (tenant_id, kind, payload, dedupe_key)
    SELECT a.tenant_id, 'knowledge-embedding', jsonb_build_object('articleId', a.id),
      'knowledge-embedding:' || a.id || ':' || p_model
    FROM public.knowledge_articles a
    WHERE a.embedding_model IS DISTINCT FROM p_model
      AND a.updated_at < now() - interval '2 minutes'
      AND (p_tenant_id IS NULL OR a.tenant_id = p_tenant_id)
      AND NOT EXISTS (SELECT 1 FROM public.job_outbox j WHERE j.tenant_id = a.tenant_id
        AND j.dedupe_key = 'knowledge-embedding:' || a.id || ':' || p_model)
    ORDER BY a.updated_at
    LIMIT p_limit
    ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int FROM inserted
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app.queue_knowledge_embeddings(text, integer, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app.queue_knowledge_embeddings(text, integer, uuid) TO switchboard_worker;
