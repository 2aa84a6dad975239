import { and, desc, eq, getTableColumns, type SQL, sql } from 'drizzle-orm';
import { NotFoundError } from '../core/errors';
import { wordsOf } from '../core/text';
import type { TenantContext } from './client';
import { knowledgeArticles } from './schema';

export type KnowledgeArticle = Omit<typeof knowledgeArticles.$inferSelect, 'searchVector'>;

export type KnowledgeInput = {
  title: string;
  body: string;
  language: string;
  tags: string[];
  published: boolean;
};

/** Every column but the search vector (internal; never returned). */
const { searchVector: _internal, ...articleColumns } = getTableColumns(knowledgeArticles);

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

/**
 * Full-text search over the tenant's published articles (RLS: only ever the bound tenant's), best
 * first. Accent- and case-insensitive, Spanish/English/Arabic stemming, prefix matching; see
 * app.knowledge_query in migrations/0008 for how a question becomes a query.
 */
export async function searchKnowledge(
  { tx, tenantId }: TenantContext,
  query: string,
  limit = 3,
): Promise<KnowledgeHit[]> {
  const rank = sql<number>`ts_rank_cd(${knowledgeArticles.searchVector}, app.knowledge_query(${query}))`;
  const rows = await tx
    .select({
      id: knowledgeArticles.id,
      title: knowledgeArticles.title,
      body: knowledgeArticles.body,
      language: knowledgeArticles.language,
      score: rank,
    })
    .from(knowledgeArticles)
    .where(
      and(
        ofTenant(tenantId),
        eq(knowledgeArticles.published, true),
        sql`${knowledgeArticles.searchVector} @@ app.knowledge_query(${query})`,
      ),
    )
    .orderBy(desc(rank), desc(knowledgeArticles.updatedAt))
    .limit(limit);
  return rows.map((row) => ({
    articleId: row.id,
    title: row.title,
    language: row.language,
    snippet: bestSnippet(row.body, query),
    score: Number(row.score),
  }));
}

/** Lowercase, accent-free, Arabic-normalised words (the JS twin of app.search_normalize). */
function searchWords(text: string): string[] {
  return wordsOf(text).filter((w) => w.length >= 3);
}

/**
 * The sentences of `body` that share the most words (by their first four letters, a poor man's
 * stem) with the question, kept in their original order, up to SNIPPET_MAX characters. The agent
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
  const ranked = [...scored].sort((a, b) => b.score - a.score || a.index - b.index);
  const chosen: typeof scored = [];
  let length = 0;
  for (const candidate of ranked) {
    if (
      chosen.length > 0 &&
      (candidate.score === 0 || length + candidate.sentence.length > SNIPPET_MAX)
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
