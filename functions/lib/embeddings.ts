import { createOpenAI } from '@ai-sdk/openai';
import { type EmbeddingModel, embed, embedMany } from 'ai';
import type { QuestionMeaning } from '../../db/knowledge';
import type { Env } from '../env';
import { sha256Hex } from './crypto';
import type { Logger } from './logger';
import { safeErrorFields } from './logger';

/**
 * Embeddings for knowledge search by meaning, from any OpenAI-compatible `/embeddings` endpoint
 * (OpenAI itself, a self-hosted server, the local stand-in) through the AI SDK. Configured per
 * deployment by EMBEDDINGS_BASE_URL; without it there is no embedder and search is full-text only.
 */
export type Embedder = {
  /** What `knowledge_articles.embedding_model` records, and the search compares against. */
  model: string;
  embedMany(texts: string[], options?: { abortSignal?: AbortSignal }): Promise<number[][]>;
  embed(text: string, options?: { abortSignal?: AbortSignal }): Promise<number[]>;
};

export function embedderFromEnv(env: Env): Embedder | null {
  if (!env.EMBEDDINGS_BASE_URL) return null;
  const provider = createOpenAI({
    baseURL: env.EMBEDDINGS_BASE_URL,
    // Self-hosted servers often want no key; the SDK insists on one, which they ignore.
    apiKey: env.EMBEDDINGS_API_KEY ?? 'none',
  });
  return embedderOf(provider.embedding(env.EMBEDDINGS_MODEL), env.EMBEDDINGS_MODEL);
}

export function embedderOf(model: EmbeddingModel, name: string): Embedder {
  return {
    model: name,
    async embedMany(texts, options = {}) {
      const { embeddings } = await embedMany({ model, values: texts, maxRetries: 0, ...options });
      return embeddings;
    },
    async embed(text, options = {}) {
      const { embedding } = await embed({ model, value: text, maxRetries: 0, ...options });
      return embedding;
    },
  };
}

/** How long a question may wait for its embedding before the search goes on without it. */
export const QUESTION_EMBEDDING_TIMEOUT_MS = 3000;

/**
 * The embedding of a customer's (or operator's) question, or null: no endpoint configured, the
 * endpoint failing or slow. Never throws, because search by meaning only adds to full-text search:
 * when it is missing the search still answers, from the words alone.
 */
export async function embedQuestion(
  embedder: Embedder | null,
  question: string,
  logger: Pick<Logger, 'warn'>,
  timeoutMs = QUESTION_EMBEDDING_TIMEOUT_MS,
): Promise<QuestionMeaning | null> {
  if (!embedder) return null;
  try {
    const vector = await embedder.embed(question, { abortSignal: AbortSignal.timeout(timeoutMs) });
    return { model: embedder.model, vector };
  } catch (err) {
    logger.warn('question embedding failed; searching by words only', {
      model: embedder.model,
      ...safeErrorFields(err),
    });
    return null;
  }
}

/** What an article's embedding is computed from: its title and body (tags are labels, not meaning). */
export function articleEmbeddingText(article: { title: string; body: string }): string {
  return `${article.title}\n\n${article.body}`;
}

/** SHA-256 (hex) of the text embedded: an unchanged article is not embedded again. */
export const embeddingHash = sha256Hex;
