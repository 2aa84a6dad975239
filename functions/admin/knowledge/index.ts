import { z } from '@hono/zod-openapi';
import {
  createArticle,
  deleteArticle,
  getArticle,
  type KnowledgeArticle,
  listArticles,
  queueArticleEmbedding,
  searchKnowledge,
  updateArticle,
} from '../../../db/knowledge';
import type { App } from '../../app';
import { embedderFromEnv, embedQuestion } from '../../lib/embeddings';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { registerItemRoutes } from '../item-routes';
import { itemsOf, keysetCursor, operatorPage, pageOf, pageQuery } from '../paging';
import { field, fromRow, jsonResponse, operatorRoutes, textParam } from '../route';

/**
 * `/admin/knowledge`: the tenant's knowledge articles, what the AI agent answers from
 * (knowledge_search). Every member reads them; owners and admins write them, since they change
 * what the AI tells customers.
 */

const route = operatorRoutes('knowledge');

const doc = {
  title: { description: 'The title', example: 'Opening hours' },
  body: {
    description: 'The text the agent answers from',
    example: 'We are open Monday to Friday, 9:00 to 20:00.',
  },
  language: { description: 'Two-letter ISO 639-1 language code', example: 'es' },
  tags: { description: 'Free labels', example: ['hours'] },
  published: { description: 'Only published articles are searched by the agent', example: true },
};

const title = z.string().trim().min(1).max(200).openapi(doc.title);
const body = z.string().trim().min(1).max(20_000).openapi(doc.body);
const language = z
  .string()
  .regex(/^[a-z]{2}$/, 'must be a two-letter ISO 639-1 code, e.g. es, en, ar')
  .openapi(doc.language);
const tags = z.array(z.string().trim().min(1).max(60)).max(30).openapi(doc.tags);
const published = z.boolean().openapi(doc.published);

const articleInput = z
  .object({
    title,
    body,
    language: language.default('en'),
    tags: tags.default([]),
    published: published.default(true),
  })
  .openapi('KnowledgeArticleInput', { description: 'A new knowledge article' });

const articlePatch = z
  .object({ title, body, language, tags, published })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .openapi('KnowledgeArticlePatch', { description: 'The fields to change; the others stay' });

const article = z
  .object({
    id: field.id('The article'),
    title: z.string().openapi(doc.title),
    body: z.string().openapi(doc.body),
    language: z.string().openapi(doc.language),
    tags: z.array(z.string()).openapi(doc.tags),
    published: z.boolean().openapi(doc.published),
    created_at: field.time('When it was written'),
    updated_at: field.time('When it last changed'),
  })
  .openapi('KnowledgeArticle', { description: 'A knowledge article the agent answers from' });

const toArticle = (row: KnowledgeArticle) => fromRow(article, row);

const listRoute = route('get', '/knowledge', {
  operationId: 'listKnowledgeArticles',
  summary: 'Knowledge articles, most recently updated first (optionally matching a search)',
  request: {
    query: z.object({
      q: textParam()
        .max(300)
        .optional()
        .openapi({ description: 'Only articles matching these words', example: 'hours' }),
      ...pageQuery({ default: 50, max: 100 }),
    }),
  },
  responses: {
    200: jsonResponse(
      'A page of articles',
      pageOf(article, 'Articles, most recently updated first'),
    ),
  },
});

const searchHit = z
  .object({
    article_id: field.id('The article'),
    title: z.string().openapi(doc.title),
    language: z.string().openapi(doc.language),
    snippet: field.string(
      'The passage the agent would quote',
      'We are open Monday to Friday, 9:00 to 20:00.',
    ),
    score: z.number().openapi({
      description:
        'Relevance, higher is better: the reciprocal rank fusion of the ranking by words and the ranking by meaning (1 / (60 + rank), summed)',
      example: 0.0328,
    }),
  })
  .openapi('KnowledgeSearchHit', { description: 'An article matching a question' });

const searchRoute = route('get', '/knowledge/search', {
  operationId: 'searchKnowledge',
  summary:
    "What the agent's knowledge_search tool finds for a question (published articles only): by words, and by meaning across languages when an embeddings endpoint is configured",
  request: {
    query: z.object({
      q: textParam()
        .trim()
        .min(1)
        .max(300)
        .openapi({ description: 'The question', example: 'When are you open?' }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(10)
        .default(3)
        .openapi({ description: 'How many matches at most (1–10)', example: 3 }),
    }),
  },
  responses: {
    200: jsonResponse(
      'Best matches first, with the snippet the agent would quote',
      itemsOf(searchHit, 'Matches, best first'),
    ),
  },
});

export function registerKnowledge(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await operatorPage(c, query, {
      cursor: keysetCursor,
      list: (ctx, page) => listArticles(ctx, { query: query.q, ...page }),
      item: toArticle,
    });
    return c.json(page, 200);
  });

  // Registered before /knowledge/{id}, which would otherwise claim the path.
  app.openapi(searchRoute, async (c) => {
    const { q, limit } = c.req.valid('query');
    const { env, services } = c.var;
    // The question's embedding first (no transaction open while the endpoint answers).
    const meaning = await embedQuestion(embedderFromEnv(env), q, services.logger);
    const hits = await asCurrentOperator(c, ({ ctx }) =>
      searchKnowledge(
        ctx,
        q,
        limit,
        meaning && { ...meaning, minSimilarity: env.EMBEDDINGS_MIN_SIMILARITY },
      ),
    );
    return c.json(
      {
        items: hits.map((hit) => fromRow(searchHit, hit)),
      },
      200,
    );
  });

  registerItemRoutes(app, {
    tag: 'knowledge',
    path: '/knowledge',
    operation: 'KnowledgeArticle',
    thing: 'article',
    schemas: { item: article, input: articleInput, patch: articlePatch },
    summaries: {
      get: 'One knowledge article',
      create: 'Add a knowledge article (owners and admins)',
      update: 'Change a knowledge article (owners and admins)',
      delete: 'Delete a knowledge article (owners and admins)',
    },
    toItem: toArticle,
    db: {
      get: (ctx, { id }) => getArticle(ctx, id),
      create: (ctx, body) => createArticle(ctx, body),
      update: (ctx, { id }, body) => updateArticle(ctx, id, body),
      delete: (ctx, { id }) => deleteArticle(ctx, id),
    },
    // Embedded after the save, by a job (functions/jobs/knowledge-embedding.ts), when there is an
    // embeddings endpoint; without one search stays full-text and nothing is queued.
    jobs: (ctx, env, row) =>
      embedderFromEnv(env) ? queueArticleEmbedding(ctx, row.id) : Promise.resolve([]),
  });
}
