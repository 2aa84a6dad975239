import { createRoute, z } from '@hono/zod-openapi';
import {
  createArticle,
  deleteArticle,
  getArticle,
  type KnowledgeArticle,
  listArticles,
  searchKnowledge,
  updateArticle,
} from '../../../db/knowledge';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';
import { decodeCursor, encodeCursor } from '../chats/view';

/**
 * `/admin/knowledge`: the tenant's knowledge articles, what the AI agent answers from
 * (knowledge_search). Every member reads them; owners and admins write them, since they change
 * what the AI tells customers.
 */

const params = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const language = z
  .string()
  .regex(/^[a-z]{2}$/, 'must be a two-letter ISO 639-1 code, e.g. es, en, ar')
  .openapi({ example: 'es' });
const tags = z.array(z.string().trim().min(1).max(60)).max(30);

const articleInput = z
  .object({
    title: z.string().trim().min(1).max(200),
    body: z.string().trim().min(1).max(20_000),
    language: language.default('en'),
    tags: tags.default([]),
    published: z.boolean().default(true),
  })
  .openapi('KnowledgeArticleInput');

const articlePatch = z
  .object({
    title: z.string().trim().min(1).max(200),
    body: z.string().trim().min(1).max(20_000),
    language,
    tags,
    published: z.boolean(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
  .openapi('KnowledgeArticlePatch');

const article = z
  .object({
    id: z.uuid(),
    title: z.string(),
    body: z.string(),
    language: z.string(),
    tags: z.array(z.string()),
    published: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('KnowledgeArticle');

function toArticle(row: KnowledgeArticle): z.infer<typeof article> {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    language: row.language,
    tags: row.tags,
    published: row.published,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const cursorSchema = z.object({ p: z.string(), id: z.uuid() });

const listRoute = createRoute({
  method: 'get',
  path: '/knowledge',
  tags: ['knowledge'],
  operationId: 'listKnowledgeArticles',
  summary: 'Knowledge articles, most recently updated first (optionally matching a search)',
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      q: z.string().max(300).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().max(500).optional(),
    }),
  },
  responses: {
    200: {
      description: 'A page of articles',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(article), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...errorResponses,
  },
});

const searchHit = z
  .object({
    article_id: z.uuid(),
    title: z.string(),
    language: z.string(),
    snippet: z.string(),
    score: z.number(),
  })
  .openapi('KnowledgeSearchHit');

const searchRoute = createRoute({
  method: 'get',
  path: '/knowledge/search',
  tags: ['knowledge'],
  operationId: 'searchKnowledge',
  summary: "What the agent's knowledge_search tool finds for a question (published articles only)",
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      q: z.string().trim().min(1).max(300),
      limit: z.coerce.number().int().min(1).max(10).default(3),
    }),
  },
  responses: {
    200: {
      description: 'Best matches first, with the snippet the agent would quote',
      content: { 'application/json': { schema: z.object({ items: z.array(searchHit) }) } },
    },
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/knowledge/{id}',
  tags: ['knowledge'],
  operationId: 'getKnowledgeArticle',
  summary: 'One knowledge article',
  security: [{ bearer: [] }],
  request: { params },
  responses: {
    200: { description: 'The article', content: { 'application/json': { schema: article } } },
    ...errorResponses,
  },
});

const createArticleRoute = createRoute({
  method: 'post',
  path: '/knowledge',
  tags: ['knowledge'],
  operationId: 'createKnowledgeArticle',
  summary: 'Add a knowledge article (owners and admins)',
  security: [{ bearer: [] }],
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    body: { content: { 'application/json': { schema: articleInput } }, required: true },
  },
  responses: {
    201: { description: 'The new article', content: { 'application/json': { schema: article } } },
    ...errorResponses,
  },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/knowledge/{id}',
  tags: ['knowledge'],
  operationId: 'updateKnowledgeArticle',
  summary: 'Change a knowledge article (owners and admins)',
  security: [{ bearer: [] }],
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    params,
    body: { content: { 'application/json': { schema: articlePatch } }, required: true },
  },
  responses: {
    200: { description: 'The article', content: { 'application/json': { schema: article } } },
    ...errorResponses,
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/knowledge/{id}',
  tags: ['knowledge'],
  operationId: 'deleteKnowledgeArticle',
  summary: 'Delete a knowledge article (owners and admins)',
  security: [{ bearer: [] }],
  middleware: [requireRole('owner', 'admin')] as const,
  request: { params },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses,
  },
});

export function registerKnowledge(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const after = query.cursor ? decodeCursor(query.cursor, cursorSchema, 'cursor') : undefined;
    const rows = await asCurrentOperator(c, (ctx) =>
      listArticles(ctx, {
        query: query.q,
        limit: query.limit + 1,
        after: after ? { position: after.p, id: after.id } : undefined,
      }),
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map(toArticle),
        next_cursor:
          rows.length > query.limit && last
            ? encodeCursor({ p: last.position, id: last.id })
            : null,
      },
      200,
    );
  });

  // Registered before /knowledge/{id}, which would otherwise claim the path.
  app.openapi(searchRoute, async (c) => {
    const { q, limit } = c.req.valid('query');
    const hits = await asCurrentOperator(c, (ctx) => searchKnowledge(ctx, q, limit));
    return c.json(
      {
        items: hits.map((h) => ({
          article_id: h.articleId,
          title: h.title,
          language: h.language,
          snippet: h.snippet,
          score: h.score,
        })),
      },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await asCurrentOperator(c, (ctx) => getArticle(ctx, id));
    return c.json(toArticle(row), 200);
  });

  app.openapi(createArticleRoute, async (c) => {
    const body = c.req.valid('json');
    const row = await asCurrentOperator(c, (ctx) => createArticle(ctx, body));
    return c.json(toArticle(row), 201);
  });

  app.openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const row = await asCurrentOperator(c, (ctx) => updateArticle(ctx, id, body));
    return c.json(toArticle(row), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    await asCurrentOperator(c, (ctx) => deleteArticle(ctx, id));
    return c.body(null, 204);
  });
}
