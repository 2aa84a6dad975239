-- Knowledge search by meaning (issue 14): pgvector, and each article's embedding with the model
-- that computed it and a hash of the text embedded (a changed article is embedded again, an
-- unchanged one is not). Supabase ships pgvector and puts extensions in the `extensions` schema
-- (made by migrations/0008), as here; the embedded database loads PGlite's pgvector build, and a
-- plain Postgres server needs pgvector installed (.ci/run builds vendor/pgvector).
-- No index on the embeddings: a tenant's articles are few, the search filters them by tenant
-- first, and embeddings of different models (dimensions) share the column.
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;
--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD COLUMN "embedding" extensions.vector;--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD COLUMN "embedding_model" text;--> statement-breakpoint
ALTER TABLE "knowledge_articles" ADD COLUMN "embedding_hash" text;
