import { tool } from 'ai';
import { z } from 'zod';
import { asTenant } from '../../../db/client';
import { searchKnowledge } from '../../../db/knowledge';
import { embedQuestion } from '../../lib/embeddings';
import type { AgentToolFactory } from './index';

/** What the model (and the trace) sees of a search: cited snippets with their article ids. */
export type KnowledgeSearchOutput = {
  results: Array<{ article_id: string; title: string; language: string; snippet: string }>;
  note?: string;
};

/**
 * `knowledge_search`: the tenant's published knowledge articles, best first, as snippets the
 * model must cite by article id: found by words and, with an embeddings endpoint, by meaning
 * (db/knowledge.ts searchKnowledge, one statement). Runs under the tenant handle, so another tenant's articles are
 * unreachable even to a wrong query.
 */
export const knowledgeSearchTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      "Search the business's knowledge base (opening hours, prices, services, policies, " +
      'addresses, FAQs). Use it before stating any fact about the business. Returns snippets ' +
      'with article ids; answer only from them and never invent what they do not say.',
    inputSchema: z.object({
      query: z
        .string()
        .min(1)
        .max(300)
        .describe("The customer's question or its key words, in any language"),
    }),
    execute: async ({ query }): Promise<KnowledgeSearchOutput> => {
      // By meaning too when an embeddings endpoint answers in time (an English question then
      // finds a Spanish article); by words alone otherwise, never an error to the customer.
      const meaning = await embedQuestion(ctx.embeddings?.embedder ?? null, query, ctx.logger);
      const hits = await asTenant(ctx.db, ctx.tenantId, (tenant) =>
        searchKnowledge(
          tenant,
          query,
          3,
          meaning && { ...meaning, minSimilarity: ctx.embeddings?.minSimilarity ?? 1 },
        ),
      );
      return {
        results: hits.map((hit) => ({
          article_id: hit.articleId,
          title: hit.title,
          language: hit.language,
          snippet: hit.snippet,
        })),
        ...(hits.length === 0
          ? {
              note: 'No article matches. Say you do not have that information and offer a person; do not guess.',
            }
          : {}),
      };
    },
  });
