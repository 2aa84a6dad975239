import { describe, expect } from 'vitest';
import type { TenantFixture } from '../test/fixtures';
import { it } from '../test/it';
import { asTenant, type Database } from './client';
import { bestSnippet, createArticle, searchKnowledge } from './knowledge';

describe('knowledge search (multilingual, accent-insensitive, tenant-scoped)', () => {
  const ids: Record<string, string> = {};

  it.beforeAll(async ({ db, tenant: a, otherTenant: b }) => {
    const add = (t: TenantFixture, key: string, input: Parameters<typeof createArticle>[1]) =>
      asTenant(db, t.tenantId, async (ctx) => {
        ids[key] = (await createArticle(ctx, input)).id;
      });
    await add(a, 'hours', {
      title: 'Horario de apertura',
      body: 'Abrimos de lunes a viernes de 9:00 a 20:00. Los sábados, de 10:00 a 14:00. Domingos cerrado.',
      language: 'es',
      tags: ['horario', 'abrís'],
      published: true,
    });
    await add(a, 'parking', {
      title: 'Parking',
      body: 'There is free parking behind the clinic. Street parking is limited.',
      language: 'en',
      tags: [],
      published: true,
    });
    await add(a, 'arabic', {
      title: 'مواعيد العمل',
      body: 'نفتح من الساعة التاسعة صباحاً حتى الثامنة مساءً من الاثنين إلى الجمعة.',
      language: 'ar',
      tags: ['ساعات'],
      published: true,
    });
    await add(a, 'draft', {
      title: 'Precios ortodoncia (borrador)',
      body: 'La ortodoncia invisible cuesta 3.000 euros.',
      language: 'es',
      tags: [],
      published: false,
    });
    await add(b, 'foreign', {
      title: 'Horario de apertura de B',
      body: 'En B abrimos a las 7:00 todos los días.',
      language: 'es',
      tags: ['horario'],
      published: true,
    });
  });
  const search = (db: Database, t: TenantFixture, q: string) =>
    asTenant(db, t.tenantId, (ctx) => searchKnowledge(ctx, q, 3));

  it.for<[query: string, key: string]>([
    ['Hola, ¿a qué hora abrís?', 'hours'],
    ['a que hora ABRIS', 'hours'],
    ['horarios del sábado', 'hours'],
    ['Is there parking?', 'parking'],
    ['ما هي مواعيد العمل؟', 'arabic'],
    ['مواعيد', 'arabic'],
  ])('"%s" finds the %s article first', async ([query, key], { db, tenant: a }) => {
    const hits = await search(db, a, query);
    expect(hits[0]?.articleId).toBe(ids[key]);
  });

  it("never returns another tenant's articles, nor unpublished ones", async ({
    db,
    tenant: a,
    otherTenant: b,
  }) => {
    const hits = await search(db, a, 'horario apertura abrimos');
    expect(hits.map((h) => h.articleId)).not.toContain(ids.foreign);
    expect(await search(db, a, 'ortodoncia invisible')).toEqual([]);
    const fromB = await search(db, b, 'horario apertura abrimos');
    expect(fromB.map((h) => h.articleId)).toEqual([ids.foreign]);
  });

  it('finds nothing for stop words alone or noise', async ({ db, tenant: a }) => {
    expect(await search(db, a, '¿que?')).toEqual([]);
    expect(await search(db, a, 'the and of')).toEqual([]);
    expect(await search(db, a, '🙂')).toEqual([]);
  });

  it('cites the sentences that match, in the article’s own words', async ({ db, tenant: a }) => {
    const [hit] = await search(db, a, '¿abrís los sábados?');
    expect(hit?.snippet).toContain('Los sábados, de 10:00 a 14:00.');
    expect(hit?.title).toBe('Horario de apertura');
    expect(bestSnippet('Uno. Dos tres. Cuatro.', 'tres')).toBe('Dos tres.');
    // Found by meaning, no word shared: the opening, as much as fits, not just its first sentence.
    expect(bestSnippet('Uno. Dos tres. Cuatro.', 'teeth cost')).toBe('Uno. Dos tres. Cuatro.');
    const long = `${'Una frase larga de relleno. '.repeat(20)}Final.`;
    expect(bestSnippet(long, 'teeth cost').length).toBeLessThanOrEqual(400);
  });
});
