import { describe, expect } from 'vitest';
import { it } from '../../test/it';
import { encodeCursor } from './paging';

/**
 * Text in a path or a query reaches SQL as a parameter, and Postgres text cannot hold NUL: such a
 * value used to fail in the database as a 500. Every text parameter shares one schema refusing
 * NUL and other control characters, so each is a 400 naming the field, before any query.
 */
describe('control characters in path and query parameters', () => {
  const id = crypto.randomUUID();
  const nulCursor = encodeCursor({ p: 'a\u0000b', id });
  const cases: Array<[path: string, field: string]> = [
    ['/admin/logs/ai/%00', 'correlation_id'],
    ['/admin/logs/ai/turn-%01-x', 'correlation_id'],
    ['/admin/chats/summary?q=%00', 'q'],
    ['/admin/chats/summary?q=ab%1Bcd', 'q'],
    ['/admin/chats/summary?label=vip%00', 'label'],
    ['/admin/chats/summary?cursor=%00', 'cursor'],
    [`/admin/chats/summary?cursor=${nulCursor}`, 'cursor'],
    [`/admin/chats/${id}/messages?after=%00`, 'after'],
    [`/admin/chats/${id}/messages?before=${nulCursor}`, 'before'],
    ['/admin/knowledge?q=%00', 'q'],
    ['/admin/knowledge/search?q=%00', 'q'],
    ['/admin/templates?status=%7F', 'status'],
    ['/admin/drafts?cursor=%00', 'cursor'],
  ];

  for (const [path, field] of cases) {
    it(`GET ${path} → 400 naming ${field}`, async ({ harness: h, tenant: t }) => {
      const res = await h.asUser(t.owner, path);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message).toContain(field);
    });
  }

  it('still accepts ordinary text, accents and right-to-left script included', async ({
    harness: h,
    tenant: t,
  }) => {
    for (const path of [
      '/admin/chats/summary?q=luc%C3%ADa',
      '/admin/chats/summary?q=%D9%85%D8%B1%D8%AD%D8%A8%D8%A7',
      '/admin/knowledge?q=opening%20hours',
    ]) {
      expect((await h.asUser(t.owner, path)).status).toBe(200);
    }
  });
});

describe('NUL in JSON bodies', () => {
  const json = (method: string, body: unknown): RequestInit => ({
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  it('is a 400 naming the field, wherever it is (Postgres text and jsonb cannot hold it)', async ({
    harness: h,
    tenant: t,
  }) => {
    const cases: Array<[path: string, init: RequestInit, field: string]> = [
      ['/admin/canned-replies', json('POST', { title: 'Hours', text: 'a\u0000b' }), 'text'],
      ['/admin/canned-replies', json('POST', { title: 'Ho\u0000urs', text: 'ok' }), 'title'],
      [
        '/admin/knowledge',
        json('POST', { title: 'Hours', body: 'We open at 9', language: 'en', tags: ['a\u0000'] }),
        'tags.0',
      ],
    ];
    for (const [path, init, field] of cases) {
      const res = await h.asUser(t.owner, path, init);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message).toContain(`${field}: must not contain NUL`);
    }
  });

  it('keeps tabs and line breaks, which people do type', async ({ harness: h, tenant: t }) => {
    const res = await h.asUser(
      t.owner,
      '/admin/canned-replies',
      json('POST', { title: 'Hours', text: 'Mon–Fri:\t9–20\nSat:\t10–14' }),
    );
    expect(res.status).toBe(201);
  });
});
