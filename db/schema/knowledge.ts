import { sql } from 'drizzle-orm';
import { boolean, customType, index, jsonb, text } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';
import { tenantTable } from './tenants';

/** Postgres full-text search vector; only ever computed by the database (a generated column). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * pgvector's `vector` (no fixed dimension: it is the embeddings model's). The extension lives in
 * the `extensions` schema, as on Supabase (migrations/0031), so the type is named with it.
 * Values travel as pgvector's text form, `[0.1,0.2,…]`.
 */
const vector = customType<{ data: number[]; driverData: string }>({
  dataType: () => 'extensions.vector',
  toDriver: (value) => JSON.stringify(value),
  fromDriver: (value) => JSON.parse(value) as number[],
});

/**
 * What the AI agent may answer from: the tenant's FAQ / policy articles. `search_vector` is a
 * generated column (app.knowledge_search_vector, migrations/0008): accent-free and Arabic-
 * normalised words, stemmed for Spanish, English and Arabic at once, so a customer finds an
 * article whichever of those languages either side wrote in. Tags are a jsonb array (not text[]:
 * array parameters do not serialise with fetch_types:false).
 */
export const knowledgeArticles = tenantTable(
  'knowledge_articles',
  'admins-write',
  {
    title: text('title').notNull(),
    body: text('body').notNull(),
    /** ISO 639-1 code of the article's language (es, en, ar, …). */
    language: text('language').notNull().default('en'),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    /** Unpublished articles stay editable but are never shown to the agent. */
    published: boolean('published').notNull().default(true),
    searchVector: tsvector('search_vector')
      .notNull()
      .generatedAlwaysAs(sql`app.knowledge_search_vector("language", "title", "body", "tags")`),
    /**
     * The article's meaning as an embedding (title and body), for search by meaning across
     * languages; computed by the `knowledge-embedding` job after a save, never in the request.
     * Null until then, or when no embeddings endpoint is configured (full-text search only).
     */
    embedding: vector('embedding'),
    /** The model that computed `embedding`: only embeddings of the model asked with are compared. */
    embeddingModel: text('embedding_model'),
    /** SHA-256 of the text embedded: an unchanged article is not embedded again. */
    embeddingHash: text('embedding_hash'),
    ...timestamps(),
  },
  (t) => [
    index('knowledge_articles_search').using('gin', t.searchVector),
    index('knowledge_articles_tenant').on(t.tenantId, t.updatedAt),
  ],
);
