import { describe, expect } from 'vitest';
import { standInEmbedding } from '../dev/stand-ins/embeddings';
import type { TenantFixture } from '../test/fixtures';
import { it } from '../test/it';
import { asTenant, type Database } from './client';
import {
  createArticle,
  type KnowledgeInput,
  searchKnowledge,
  storeArticleEmbedding,
} from './knowledge';

/**
 * Hybrid knowledge search: full-text plus similarity of embeddings (pgvector), fused in one
 * statement. The embeddings are the deterministic stand-in's (dev/stand-ins/embeddings.ts), which
 * shares meaning across English, Spanish and Arabic for a small vocabulary, as a real model does
 * for all of it. The motivating bug: "teeth cleaning cost" missed the Spanish price article, and
 * the agent answered "I don't have that information".
 */
const MODEL = 'stand-in-embedding';
const meaningOf = (question: string, model = MODEL) => ({
  model,
  vector: standInEmbedding(question),
  minSimilarity: 0.3,
});

describe('knowledge search by meaning (hybrid: words + embeddings, tenant-scoped)', () => {
  const ids: Record<string, string> = {};

  it.beforeAll(async ({ db, tenant: a, otherTenant: b }) => {
    const add = (t: TenantFixture, key: string, input: KnowledgeInput, model = MODEL) =>
      asTenant(db, t.tenantId, async (ctx) => {
        const article = await createArticle(ctx, input);
        ids[key] = article.id;
        await storeArticleEmbedding(ctx, article.id, {
          title: input.title,
          body: input.body,
          model,
          hash: `hash-${key}`,
          vector: standInEmbedding(`${input.title}\n\n${input.body}`),
        });
      });
    const article = (title: string, body: string, language: string, published = true) => ({
      title,
      body,
      language,
      tags: [],
      published,
    });
    await add(
      a,
      'price',
      article(
        'Limpieza dental: precio',
        'La primera visita es gratuita. La limpieza dental cuesta 60 euros e incluye revisión.',
        'es',
      ),
    );
    await add(
      a,
      'parking',
      article(
        'Parking',
        'There is free parking behind the clinic. Street parking is limited.',
        'en',
      ),
    );
    await add(
      a,
      'whitening',
      article('Blanqueamiento', 'El blanqueamiento se hace en dos sesiones de una hora.', 'es'),
    );
    await add(
      a,
      'draft',
      article('Limpieza dental (borrador)', 'La limpieza dental cuesta 45 euros.', 'es', false),
    );
    await add(
      a,
      'other-model',
      article('Tarifas de limpieza dental', 'Precio de la limpieza dental: 50 euros.', 'es'),
      'an-older-model',
    );
    await add(
      b,
      'foreign',
      article('Limpieza dental: precio', 'En B la limpieza dental cuesta 30 euros.', 'es'),
    );
  });

  const search = (db: Database, t: TenantFixture, q: string, meaning = true) =>
    asTenant(db, t.tenantId, (ctx) => searchKnowledge(ctx, q, 3, meaning ? meaningOf(q) : null));

  it('without embeddings "teeth cleaning cost" finds nothing (the bug); with them, the Spanish price article', async ({
    db,
    tenant: a,
  }) => {
    expect(await search(db, a, 'teeth cleaning cost', false)).toEqual([]);
    const hits = await search(db, a, 'teeth cleaning cost');
    expect(hits.map((h) => h.articleId)).toEqual([ids.price]);
    expect(hits[0]?.language).toBe('es');
    expect(hits[0]?.snippet).toContain('60 euros');
  });

  it('finds it from an Arabic question too, and keeps word matches (Parking) first for theirs', async ({
    db,
    tenant: a,
  }) => {
    const arabic = await search(db, a, 'كم سعر تنظيف الأسنان؟');
    expect(arabic[0]?.articleId).toBe(ids.price);
    const parking = await search(db, a, 'Is there parking?');
    expect(parking[0]?.articleId).toBe(ids.parking);
    expect(parking.map((h) => h.articleId)).not.toContain(ids.price);
  });

  it('an article found both by words and by meaning ranks above one found by either alone', async ({
    db,
    tenant: a,
  }) => {
    // "limpieza" is a word of the price article; "whitening" means the Blanqueamiento one.
    const hits = await search(db, a, 'limpieza dental precio');
    expect(hits[0]?.articleId).toBe(ids.price);
    expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? 0);
    const whitening = await search(db, a, 'teeth whitening');
    expect(whitening[0]?.articleId).toBe(ids.whitening);
  });

  it("never returns another tenant's articles (RLS, whatever the query names), nor drafts, nor another model's embeddings", async ({
    db,
    tenant: a,
    otherTenant: b,
  }) => {
    const found = (await search(db, a, 'teeth cleaning cost')).map((h) => h.articleId);
    expect(found).not.toContain(ids.foreign);
    expect(found).not.toContain(ids.draft);
    expect(found).not.toContain(ids['other-model']);
    // Bound to tenant A but asking for B's rows: RLS leaves none to find.
    const smuggled = await asTenant(db, a.tenantId, (ctx) =>
      searchKnowledge(
        { ...ctx, tenantId: b.tenantId },
        'teeth cleaning cost',
        3,
        meaningOf('teeth cleaning cost'),
      ),
    );
    expect(smuggled).toEqual([]);
    const fromB = await search(db, b, 'teeth cleaning cost');
    expect(fromB.map((h) => h.articleId)).toEqual([ids.foreign]);
  });

  it('finds nothing by meaning for unrelated questions or noise (a similarity floor)', async ({
    db,
    tenant: a,
  }) => {
    expect(await search(db, a, 'weather tomorrow')).toEqual([]);
    expect(await search(db, a, '🙂')).toEqual([]);
  });

  it('ignores a question embedding of another size instead of failing', async ({
    db,
    tenant: a,
  }) => {
    const hits = await asTenant(db, a.tenantId, (ctx) =>
      searchKnowledge(ctx, 'parking', 3, { model: MODEL, vector: [1, 0, 0], minSimilarity: 0 }),
    );
    expect(hits.map((h) => h.articleId)).toEqual([ids.parking]);
  });
});
