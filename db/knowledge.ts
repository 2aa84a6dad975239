import { and, desc, eq, getTableColumns, type SQL, sql } from 'drizzle-orm';
import { NotFoundError } from '../core/errors';
import { wordsOf } from '../core/text';
import type { IntakeContext, TenantContext } from './client';
import { enqueueJob, type OutboxJob } from './outbox';
import { knowledgeArticles } from './schema';

export type KnowledgeArticle = Omit<
  typeof knowledgeArticles.$inferSelect,
  'searchVector' | 'embedding' | 'embeddingModel' | 'embeddingHash'
>;

export type KnowledgeInput = {
  title: string;
  body: string;
  language: string;
  tags: string[];
  published: boolean;
};

/** Every column but the search vector and the embedding (internal; never returned). */
const {
  searchVector: _vector,
  embedding: _embedding,
  embeddingModel: _model,
  embeddingHash: _hash,
  ...articleColumns
} = getTableColumns(knowledgeArticles);

export async function createArticle(
  { tx, tenantId }: TenantContext,
  input: KnowledgeInput,
): Promise<KnowledgeArticle> {
  const [row] = await tx
    .insert(knowledgeArticles)
    .values({ tenantId, ...input })
    .returning(articleColumns);
  if (!row) throw new Error('knowledge article insert returned nothing');
  return row;
}

/**
 * Every query names the tenant as well: RLS already limits rows to the caller's tenants, but an
 * operator of several tenants acts on one per request.
 */
const ofTenant = (tenantId: string) => eq(knowledgeArticles.tenantId, tenantId);
const theArticle = (tenantId: string, id: string) =>
  and(ofTenant(tenantId), eq(knowledgeArticles.id, id));

export async function getArticle(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<KnowledgeArticle> {
  const [row] = await tx
    .select(articleColumns)
    .from(knowledgeArticles)
    .where(theArticle(tenantId, id));
  if (!row) throw new NotFoundError('Knowledge article', id);
  return row;
}

export async function updateArticle(
  { tx, tenantId }: TenantContext,
  id: string,
  changes: Partial<KnowledgeInput>,
): Promise<KnowledgeArticle> {
  const [row] = await tx
    .update(knowledgeArticles)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(theArticle(tenantId, id))
    .returning(articleColumns);
  if (!row) throw new NotFoundError('Knowledge article', id);
  return row;
}

export async function deleteArticle({ tx, tenantId }: TenantContext, id: string): Promise<void> {
  const deleted = await tx
    .delete(knowledgeArticles)
    .where(theArticle(tenantId, id))
    .returning({ id: knowledgeArticles.id });
  if (deleted.length === 0) throw new NotFoundError('Knowledge article', id);
}

/**
 * The tenant's articles, most recently updated first, optionally filtered by a search (the same
 * query as the agent's). Keyset-paged on (updated_at, id); `after` is the last row's `position`
 * (updated_at as Postgres prints it, full precision) and id.
 */
export async function listArticles(
  { tx, tenantId }: TenantContext,
  options: { query?: string; limit: number; after?: { position: string; id: string } },
): Promise<Array<KnowledgeArticle & { position: string }>> {
  const filters: SQL[] = [ofTenant(tenantId)];
  if (options.query?.trim()) {
    filters.push(sql`${knowledgeArticles.searchVector} @@ app.knowledge_query(${options.query})`);
  }
  if (options.after) {
    filters.push(
      sql`(${knowledgeArticles.updatedAt}, ${knowledgeArticles.id}) < (${options.after.position}::timestamptz, ${options.after.id}::uuid)`,
    );
  }
  return tx
    .select({ ...articleColumns, position: sql<string>`${knowledgeArticles.updatedAt}::text` })
    .from(knowledgeArticles)
    .where(and(...filters))
    .orderBy(desc(knowledgeArticles.updatedAt), desc(knowledgeArticles.id))
    .limit(options.limit);
}

export type KnowledgeHit = {
  articleId: string;
  title: string;
  language: string;
  /** The article's most relevant sentences, at most `SNIPPET_MAX` characters. */
  snippet: string;
  score: number;
};

export const SNIPPET_MAX = 400;

/** The question's embedding, and the model that made it (functions/lib/embeddings.ts). */
export type QuestionMeaning = { model: string; vector: number[] };

/** How many candidates each half of a hybrid search contributes before they are fused. */
const CANDIDATES = 20;
/** Reciprocal rank fusion's constant: ranks matter, a first place does not drown the rest. */
const RRF_K = 60;

/**
 * Search over the tenant's published articles (RLS: only ever the bound tenant's), best first, in
 * ONE statement (the agent turn's round-trip budget):
 *
 * - by words: full-text, accent- and case-insensitive, Spanish/English/Arabic stemming, prefix
 *   matching (app.knowledge_query in migrations/0008 says how a question becomes a query);
 * - by meaning, when the question's embedding is given: the articles embedded by the same model
 *   whose cosine similarity to it is at least `minSimilarity` (pgvector's `<=>`), so "teeth
 *   cleaning cost" finds "Precio de la limpieza dental" although no word is shared;
 *
 * fused by reciprocal rank fusion (each list adds 1 / (60 + rank)), so an article both find comes
 * first. Without an embedding it is the full-text search alone, in its own order.
 */
export async function searchKnowledge(
  { tx, tenantId }: TenantContext,
  query: string,
  limit = 3,
  meaning: (QuestionMeaning & { minSimilarity: number }) | null = null,
): Promise<KnowledgeHit[]> {
  const byWords = sql`
    select a.id, row_number() over (
        order by ts_rank_cd(a.search_vector, q.query) desc, a.updated_at desc, a.id) as rank
      from knowledge_articles a, (select app.knowledge_query(${query}) as query) q
      where a.tenant_id = ${tenantId} and a.published and a.search_vector @@ q.query
      order by rank limit ${CANDIDATES}`;
  // The operator is schema-qualified: the session's search_path need not include `extensions`.
  // Dimensions are compared too, so a model that changed its size can never make `<=>` fail.
  const byMeaning = meaning
    ? sql`
    union all
    select id, rank from (
      select a.id, row_number() over (order by a.embedding operator(extensions.<=>) v.vector, a.id) as rank
        from knowledge_articles a, (select ${JSON.stringify(meaning.vector)}::extensions.vector as vector) v
        where a.tenant_id = ${tenantId} and a.published
          and a.embedding_model = ${meaning.model}
          and extensions.vector_dims(a.embedding) = ${meaning.vector.length}::int
          and a.embedding operator(extensions.<=>) v.vector <= ${1 - meaning.minSimilarity}::float8
        order by rank limit ${CANDIDATES}) nearest`
    : sql``;
  const rows = await tx.execute<{
    id: string;
    title: string;
    body: string;
    language: string;
    score: number | string;
  }>(sql`
    with hits as (select * from (${byWords}) words ${byMeaning})
    select a.id, a.title, a.body, a.language, sum(1.0 / (${RRF_K} + hits.rank))::float8 as score
      from hits join knowledge_articles a on a.id = hits.id
      group by a.id
      order by score desc, a.updated_at desc, a.id
      limit ${limit}`);
  return [...rows].map((row) => ({
    articleId: row.id,
    title: row.title,
    language: row.language,
    snippet: bestSnippet(row.body, query),
    score: Number(row.score),
  }));
}

/**
 * Queues the `knowledge-embedding` job for an article just created or changed, in the caller's
 * transaction (published after commit). The job embeds it only if its text changed since.
 */
export async function queueArticleEmbedding(
  ctx: TenantContext,
  articleId: string,
): Promise<OutboxJob[]> {
  const job = await enqueueJob(ctx, { kind: 'knowledge-embedding', payload: { articleId } });
  return job ? [job] : [];
}

/**
 * Queues the `knowledge-embedding` job for articles not embedded with `model` (written before
 * search by meaning, or before the model changed), at most `limit`, once per article and model
 * (`app.queue_knowledge_embeddings`, migration 0031); the outbox sweeper publishes them. The
 * Worker's cron calls it every minute when an embeddings endpoint is configured. How many it queued.
 */
export async function queueUnembeddedArticles(
  { tx }: IntakeContext,
  options: { model: string; limit: number; tenantId?: string },
): Promise<number> {
  const [row] = await tx.execute<{ queued: number }>(
    sql`select app.queue_knowledge_embeddings(${options.model}, ${options.limit}::int, ${options.tenantId ?? null}::uuid) as queued`,
  );
  return row?.queued ?? 0;
}

/** What the `knowledge-embedding` job needs of an article, or null when it is gone. */
export async function loadArticleForEmbedding(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<{
  title: string;
  body: string;
  embeddingModel: string | null;
  embeddingHash: string | null;
} | null> {
  const [row] = await tx
    .select({
      title: knowledgeArticles.title,
      body: knowledgeArticles.body,
      embeddingModel: knowledgeArticles.embeddingModel,
      embeddingHash: knowledgeArticles.embeddingHash,
    })
    .from(knowledgeArticles)
    .where(theArticle(tenantId, id));
  return row ?? null;
}

/**
 * Stores an article's embedding, only if its title and body are still the ones embedded: a job
 * that embedded an older version, finishing after the newer one's, must not overwrite it. Not an
 * edit: `updated_at` stays. True when stored.
 */
export async function storeArticleEmbedding(
  { tx, tenantId }: TenantContext,
  id: string,
  embedded: { title: string; body: string; model: string; hash: string; vector: number[] },
): Promise<boolean> {
  const stored = await tx
    .update(knowledgeArticles)
    .set({
      embedding: embedded.vector,
      embeddingModel: embedded.model,
      embeddingHash: embedded.hash,
    })
    .where(
      and(
        theArticle(tenantId, id),
        eq(knowledgeArticles.title, embedded.title),
        eq(knowledgeArticles.body, embedded.body),
      ),
    )
    .returning({ id: knowledgeArticles.id });
  return stored.length > 0;
}

/** Lowercase, accent-free, Arabic-normalised words (the JS twin of app.search_normalize). */
function searchWords(text: string): string[] {
  return wordsOf(text).filter((w) => w.length >= 3);
}

/**
 * The sentences of `body` that share the most words (by their first four letters, a poor man's
 * stem) with the question, kept in their original order, up to SNIPPET_MAX characters; the
 * article's opening sentences when none does (found by meaning). The agent
 * quotes from this, so it must be the article's own words.
 */
export function bestSnippet(body: string, query: string): string {
  const sentences = body
    .split(/(?<=[.!?؟\n])\s+/u)
    .map((s) => s.trim())
    .filter(Boolean);
  if (sentences.length === 0) return '';
  const stems = new Set(searchWords(query).map((w) => w.slice(0, 4)));
  const scored = sentences.map((sentence, index) => ({
    sentence,
    index,
    score: searchWords(sentence).filter((w) => stems.has(w.slice(0, 4))).length,
  }));
  // No sentence shares a word with the question (an article found by meaning, in another
  // language): its opening, as much as fits, rather than one sentence chosen by nothing.
  const anyMatch = scored.some((s) => s.score > 0);
  const ranked = anyMatch
    ? [...scored].sort((a, b) => b.score - a.score || a.index - b.index)
    : scored;
  const chosen: typeof scored = [];
  let length = 0;
  for (const candidate of ranked) {
    if (
      chosen.length > 0 &&
      ((anyMatch && candidate.score === 0) || length + candidate.sentence.length > SNIPPET_MAX)
    )
      continue;
    chosen.push(candidate);
    length += candidate.sentence.length + 1;
  }
  const text = chosen
    .sort((a, b) => a.index - b.index)
    .map((c) => c.sentence)
    .join(' ');
  return text.length > SNIPPET_MAX ? `${text.slice(0, SNIPPET_MAX - 1)}…` : text;
}
