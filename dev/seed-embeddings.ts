import type postgres from 'postgres';
import { articleEmbeddingText, type Embedder, embeddingHash } from '../functions/lib/embeddings';

/**
 * Embeds the articles `npm start` finds without an embedding of `embedder`'s model (the seeded
 * demo articles, which dev/seed.ts writes with SQL, not through the API that queues the
 * `knowledge-embedding` job), so the local demo searches them by meaning from the start. The
 * same text and hash as the job's: the job leaves them alone afterwards. Superuser, all tenants.
 */
export async function embedUnembeddedArticles(
  sql: postgres.Sql,
  embedder: Embedder,
): Promise<number> {
  const rows = await sql<Array<{ id: string; title: string; body: string }>>`
    select id, title, body from knowledge_articles
    where embedding is null or embedding_model is distinct from ${embedder.model}
    order by id`;
  if (rows.length === 0) return 0;
  const texts = rows.map(articleEmbeddingText);
  const vectors = await embedder.embedMany(texts);
  for (const [i, row] of rows.entries()) {
    const text = texts[i] ?? '';
    await sql`update knowledge_articles
      set embedding = ${JSON.stringify(vectors[i])}::extensions.vector,
          embedding_model = ${embedder.model}, embedding_hash = ${await embeddingHash(text)}
      where id = ${row.id} and title = ${row.title} and body = ${row.body}`;
  }
  return rows.length;
}
