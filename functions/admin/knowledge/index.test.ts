import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import type { TenantFixture } from '../../../test/fixtures';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

async function foreignArticle(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const [row] = await sql`insert into knowledge_articles (tenant_id, title, body, language)
    values (${b.tenantId}, 'B only', 'Secret of tenant B', 'en') returning id`;
  return row?.id as string;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/knowledge' });
describeOperatorSecurity({ method: 'GET', path: '/admin/knowledge/search?q=hours' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/knowledge',
  body: { title: 'Hours', body: 'We open at 9.' },
});
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/knowledge/:foreignId',
  foreignId: foreignArticle,
});
describeOperatorSecurity({
  method: 'PATCH',
  path: '/admin/knowledge/:foreignId',
  body: { title: 'Changed' },
  foreignId: foreignArticle,
});
describeOperatorSecurity({
  method: 'DELETE',
  path: '/admin/knowledge/:foreignId',
  foreignId: foreignArticle,
});

type Article = {
  id: string;
  title: string;
  body: string;
  language: string;
  tags: string[];
  published: boolean;
};

describe('/admin/knowledge', () => {
  const json = (body: unknown) => ({ body: JSON.stringify(body) });

  it('creates, reads, updates, lists, searches and deletes articles', async ({
    harness: h,
    sql,
    tenant: a,
  }) => {
    const created = await h.asUser(a.owner, '/admin/knowledge', {
      method: 'POST',
      ...json({
        title: 'Horario',
        body: 'Abrimos de lunes a viernes de 9:00 a 20:00.',
        language: 'es',
        tags: ['abrís', 'hora'],
      }),
    });
    expect(created.status).toBe(201);
    const article = (await created.json()) as Article;
    expect(article).toMatchObject({
      title: 'Horario',
      language: 'es',
      tags: ['abrís', 'hora'],
      published: true,
    });
    const [stored] =
      await sql`select tenant_id, title from knowledge_articles where id = ${article.id}`;
    expect(stored).toEqual({ tenant_id: a.tenantId, title: 'Horario' });

    const patched = await h.asUser(a.owner, `/admin/knowledge/${article.id}`, {
      method: 'PATCH',
      ...json({ body: 'Abrimos de lunes a sábado de 9:00 a 20:00.' }),
    });
    expect(((await patched.json()) as Article).body).toBe(
      'Abrimos de lunes a sábado de 9:00 a 20:00.',
    );

    const search = await h.asUser(
      a.agent,
      `/admin/knowledge/search?q=${encodeURIComponent('¿A qué hora ABRIS el sabado?')}`,
    );
    expect(((await search.json()) as { items: unknown[] }).items).toEqual([
      {
        article_id: article.id,
        title: 'Horario',
        language: 'es',
        snippet: 'Abrimos de lunes a sábado de 9:00 a 20:00.',
        score: expect.any(Number),
      },
    ]);

    const list = await h.asUser(a.agent, '/admin/knowledge');
    expect(((await list.json()) as { items: Article[] }).items.map((x) => x.id)).toEqual([
      article.id,
    ]);

    const deleted = await h.asUser(a.owner, `/admin/knowledge/${article.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await sql`select id from knowledge_articles where id = ${article.id}`).toHaveLength(0);
    const gone = await h.asUser(a.owner, `/admin/knowledge/${article.id}`);
    expect(gone.status).toBe(404);
  });

  it('pages the list with an opaque cursor', async ({ harness: h, newTenant }) => {
    const tenant = await newTenant('Paging');
    for (let i = 0; i < 5; i++) {
      await h.asUser(tenant.owner, '/admin/knowledge', {
        method: 'POST',
        ...json({ title: `Article ${i}`, body: `Body ${i}` }),
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.asUser(
        tenant.agent,
        `/admin/knowledge?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const page = (await res.json()) as { items: Article[]; next_cursor: string | null };
      seen.push(...page.items.map((x) => x.title));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['Article 4', 'Article 3', 'Article 2', 'Article 1', 'Article 0']);
  });

  it('lets agents read but only owners and admins write', async ({ harness: h, tenant: a }) => {
    const res = await h.asUser(a.agent, '/admin/knowledge', {
      method: 'POST',
      ...json({ title: 'x', body: 'y' }),
    });
    expect(res.status).toBe(403);
  });

  it("never lists or finds another tenant's articles", async ({
    harness: h,
    sql,
    tenant: a,
    otherTenant: b,
  }) => {
    await foreignArticle(sql, b);
    const list = await h.asUser(a.owner, '/admin/knowledge?q=secret');
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
    const search = await h.asUser(a.owner, '/admin/knowledge/search?q=secret');
    expect(((await search.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('names the field and the rule when input is invalid', async ({ harness: h, tenant: a }) => {
    const res = await h.asUser(a.owner, '/admin/knowledge', {
      method: 'POST',
      ...json({ title: '', body: 'y', language: 'spanish' }),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toContain('title');
    expect(error.message).toContain('language: must be a two-letter ISO 639-1 code');
  });
});
