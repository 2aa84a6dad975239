import { z } from 'zod';
import { asIntake, asTenant } from '../../db/client';
import {
  loadArticleForEmbedding,
  queueUnembeddedArticles,
  storeArticleEmbedding,
} from '../../db/knowledge';
import type { Services } from '../context';
import type { Env } from '../env';
import { articleEmbeddingText, embedderFromEnv, embeddingHash } from '../lib/embeddings';
import { JOB_RETRIES } from '../lib/jobs';
import { safeErrorFields } from '../lib/logger';
import { defineJob, type JobContext, type JobOutcome } from './define';

export const KNOWLEDGE_EMBEDDING_JOB = 'knowledge-embedding';

/**
 * `knowledge-embedding`: an article's embedding (title and body), computed after it was saved
 * (queued by the knowledge routes, db/knowledge.ts queueArticleEmbedding), never in the
 * operator's request. An article whose text and model are those already embedded is left alone,
 * so a save that changed nothing costs no embeddings call. Until it is embedded, the article is
 * found by its words only.
 */
export const knowledgeEmbeddingJob = defineJob({
  kind: KNOWLEDGE_EMBEDDING_JOB,
  payload: z.object({ articleId: z.uuid() }),
  async handle(job: JobContext, { articleId }): Promise<JobOutcome> {
    const { services, env, tenantId } = job;
    const embedder = embedderFromEnv(env);
    if (!embedder) return { status: 'done', detail: 'skipped: no embeddings endpoint configured' };
    const article = await asTenant(services.db, tenantId, (ctx) =>
      loadArticleForEmbedding(ctx, articleId),
    );
    if (!article) return { status: 'done', detail: 'the article no longer exists' };
    const text = articleEmbeddingText(article);
    const hash = await embeddingHash(text);
    if (article.embeddingHash === hash && article.embeddingModel === embedder.model) {
      return { status: 'done', detail: 'unchanged: already embedded' };
    }
    let vector: number[];
    try {
      [vector = []] = await embedder.embedMany([text], {
        abortSignal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const failure = safeErrorFields(err);
      const reason = `${failure.error}: ${failure.detail}`;
      // The last delivery: the article stays findable by its words (the cron queues it again only
      // for another model).
      if (job.retried >= JOB_RETRIES) {
        return { status: 'dead', detail: `embedding given up after retries: ${reason}` };
      }
      return { status: 'retry', detail: reason };
    }
    if (vector.length === 0)
      return { status: 'dead', detail: 'the endpoint returned no embedding' };
    const stored = await asTenant(services.db, tenantId, (ctx) =>
      storeArticleEmbedding(ctx, articleId, {
        title: article.title,
        body: article.body,
        model: embedder.model,
        hash,
        vector,
      }),
    );
    return {
      status: 'done',
      detail: stored ? 'embedded' : 'changed meanwhile: its own job embeds the new text',
    };
  },
});

/** Articles the cron queues for embedding per minute at most (a backlog drains over minutes). */
export const EMBEDDING_BACKFILL_PER_MINUTE = 100;

/**
 * The cron's part (functions/index.ts): queue the embedding of articles not embedded with the
 * configured model (written before an endpoint was configured, or before the model changed);
 * nothing without an endpoint. The outbox sweeper publishes what it queued.
 */
export async function queueKnowledgeEmbeddings(
  services: Services,
  env: Env,
  options: { tenantId?: string } = {},
): Promise<number> {
  const embedder = embedderFromEnv(env);
  if (!embedder) return 0;
  return asIntake(services.db, (ctx) =>
    queueUnembeddedArticles(ctx, {
      model: embedder.model,
      limit: EMBEDDING_BACKFILL_PER_MINUTE,
      ...options,
    }),
  );
}
