import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asTenant } from '../../db/client';
import { pendingJobs } from '../../db/outbox';
import { type EmbeddingsStandIn, startEmbeddingsStandIn } from '../../dev/stand-ins/embeddings';
import {
  callTool,
  conversationOf,
  customerWrites,
  replyWith,
  runsOf,
  scriptedModels,
} from '../../test/agent';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { customerPhone } from '../../test/meta-webhooks';
import type { AgentModelResolver } from '../agent/models';
import { parseEnv } from '../env';
import { publishJobs } from '../lib/jobs';
import { createServices } from '../services';
import { agentTurnJob } from './agent-turn';
import { queueKnowledgeEmbeddings } from './knowledge-embedding';

/**
 * Knowledge search by meaning end to end: an owner saves articles through /admin/knowledge, the
 * `knowledge-embedding` job (QStash stand-in) embeds them through the embeddings stand-in after the
 * request, and both the operator's search and the agent's knowledge_search then find a Spanish
 * article from an English question. Without an endpoint, or with it down, search is by words only
 * and still answers.
 */
let h: Harness;
let plain: Harness;
let sql: postgres.Sql;
let t: TenantFixture;
let standIn: EmbeddingsStandIn;
let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);

beforeAll(async () => {
  standIn = await startEmbeddingsStandIn({ apiKey: 'embeddings-test-key' });
  h = await createHarness({
    jobs: [agentTurnJob({ models })],
    bindings: {
      EMBEDDINGS_BASE_URL: standIn.baseUrl,
      EMBEDDINGS_API_KEY: 'embeddings-test-key',
      EMBEDDINGS_MODEL: standIn.model,
    },
  });
  // The offline demo's configuration: no embeddings endpoint at all.
  plain = await createHarness();
  sql = adminSql();
  t = await createTenant(sql, 'Clínica Dental Sonrisa');
  h.registerTenant(t);
  plain.registerTenant(t);
  await sql`update tenant_settings set reply_mode = 'auto' where tenant_id = ${t.tenantId}`;
});
afterAll(async () => {
  await sql.end();
  await Promise.all([h.close(), plain.close()]);
  await standIn.close();
});

type Article = { id: string; title: string; body: string };
type Hit = { article_id: string; title: string; snippet: string };

async function save(
  harness: Harness,
  method: 'POST' | 'PATCH',
  path: string,
  body: Record<string, unknown>,
): Promise<Article> {
  const res = await harness.asUser(t.owner, path, { method, body: JSON.stringify(body) });
  expect(res.status).toBe(method === 'POST' ? 201 : 200);
  return (await res.json()) as Article;
}

async function searchAs(harness: Harness, q: string): Promise<Hit[]> {
  const res = await harness.asUser(t.owner, `/admin/knowledge/search?q=${encodeURIComponent(q)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Hit[] }).items;
}

const embeddingOf = async (id: string) => {
  const [row] = await sql`select embedding is not null as embedded, embedding_model, embedding_hash
    from knowledge_articles where id = ${id}`;
  return row as {
    embedded: boolean;
    embedding_model: string | null;
    embedding_hash: string | null;
  };
};
const embeddingJobsFor = (harness: Harness, id: string) =>
  (harness.qstash?.messages() ?? []).filter(
    (m) =>
      m.url.endsWith('/jobs/knowledge-embedding') && JSON.parse(m.body).payload.articleId === id,
  );
/** The texts the embeddings stand-in was asked for that mention `needle`. */
const embeddedTexts = (needle: string) =>
  standIn.requests.flat().filter((text) => text.includes(needle));

const PRICE = {
  title: 'Limpieza dental: precio',
  body: 'La limpieza dental cuesta 60 euros e incluye revisión. Se paga en recepción.',
  language: 'es',
};

describe('embedding articles after they are saved', () => {
  let price: Article;

  it('embeds a new article in a job after the response, then finds it from an English question', async () => {
    const asked = standIn.requests.length;
    price = await save(h, 'POST', '/admin/knowledge', PRICE);
    // The request itself asked the endpoint nothing: the embedding is the job's.
    expect(standIn.requests.length).toBe(asked);
    expect(embeddingJobsFor(h, price.id)).toHaveLength(1);
    await h.settle();
    expect(await embeddingOf(price.id)).toMatchObject({
      embedded: true,
      embedding_model: standIn.model,
    });
    expect(embeddedTexts('60 euros')).toEqual([`${PRICE.title}\n\n${PRICE.body}`]);

    const hits = await searchAs(h, 'teeth cleaning cost');
    expect(hits.map((hit) => hit.article_id)).toEqual([price.id]);
    expect(hits[0]?.snippet).toContain('60 euros');
    // The same question by words alone (no endpoint): the bug this fixes.
    expect(await searchAs(plain, 'teeth cleaning cost')).toEqual([]);
  });

  it('does not embed again a save that changed nothing it embeds; does when the body changes', async () => {
    const before = await embeddingOf(price.id);
    await save(h, 'PATCH', `/admin/knowledge/${price.id}`, { body: PRICE.body, tags: ['precio'] });
    await h.settle();
    expect(embeddingJobsFor(h, price.id)).toHaveLength(2);
    expect(embeddedTexts('60 euros')).toHaveLength(1);
    expect(await embeddingOf(price.id)).toEqual(before);

    const body = 'La limpieza dental cuesta 65 euros e incluye revisión.';
    await save(h, 'PATCH', `/admin/knowledge/${price.id}`, { body });
    await h.settle();
    expect(embeddedTexts('65 euros')).toEqual([`${PRICE.title}\n\n${body}`]);
    const after = await embeddingOf(price.id);
    expect(after.embedded).toBe(true);
    expect(after.embedding_hash).not.toBe(before.embedding_hash);
    const [hit] = await searchAs(h, 'teeth cleaning cost');
    expect(hit?.snippet).toContain('65 euros');
  });

  it('without an embeddings endpoint queues nothing and searches by words, as before', async () => {
    const hours = await save(plain, 'POST', '/admin/knowledge', {
      title: 'Horario',
      body: 'Abrimos de lunes a viernes de 9:00 a 20:00.',
      language: 'es',
    });
    expect(embeddingJobsFor(plain, hours.id)).toEqual([]);
    const [queued] = await sql`select count(*)::int as n from job_outbox
      where kind = 'knowledge-embedding' and payload->>'articleId' = ${hours.id}`;
    expect(queued?.n).toBe(0);
    expect(await embeddingOf(hours.id)).toMatchObject({ embedded: false });
    expect((await searchAs(plain, 'horario')).map((hit) => hit.article_id)).toEqual([hours.id]);
  });

  it('with the endpoint down, the search still answers by words', async () => {
    standIn.down = true;
    try {
      expect(await searchAs(h, 'teeth cleaning cost')).toEqual([]);
      const [hit] = await searchAs(h, 'precio limpieza');
      expect(hit?.title).toBe(PRICE.title);
    } finally {
      standIn.down = false;
    }
  });
});

describe("the agent's knowledge_search", () => {
  const question = 'How much is a teeth cleaning? teeth cleaning cost';
  const turn = async () => {
    script = scriptedModels([
      callTool('knowledge_search', { query: 'teeth cleaning cost' }, 'ks-meaning'),
      replyWith('A teeth cleaning costs 65 euros.'),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, question);
    await h.settle();
    const [run] = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
    return run as { outcome: string; steps: Array<{ toolResults?: Array<{ output: unknown }> }> };
  };

  it('finds the Spanish price article from an English question', async () => {
    const run = await turn();
    expect(run.outcome).toBe('replied');
    expect(run.steps[0]?.toolResults?.[0]?.output).toMatchObject({
      results: [{ title: PRICE.title, language: 'es' }],
    });
  });

  it('with the endpoint down, searches by words and the turn still answers', async () => {
    standIn.down = true;
    try {
      const run = await turn();
      expect(run.outcome).toBe('replied');
      expect(run.steps[0]?.toolResults?.[0]?.output).toMatchObject({ results: [] });
    } finally {
      standIn.down = false;
    }
  });
});

describe('articles not embedded yet (written before an endpoint, or another model)', () => {
  it('the cron queues each once, the job embeds it, and it is not queued again', async () => {
    const b = await createTenant(sql, 'Backfill Clinic');
    const [old] =
      await sql`insert into knowledge_articles (tenant_id, title, body, language, updated_at)
      values (${b.tenantId}, 'Citas', 'Para pedir cita llámenos o escríbanos por WhatsApp.', 'es',
        now() - interval '1 hour') returning id`;
    const [stale] = await sql`insert into knowledge_articles
        (tenant_id, title, body, language, updated_at, embedding, embedding_model, embedding_hash)
      values (${b.tenantId}, 'Horario', 'Abrimos a las 9.', 'es', now() - interval '1 hour',
        '[1,0,0]', 'an-older-model', 'x') returning id`;
    // Just written: the job its save queued is what embeds it, not the cron.
    await sql`insert into knowledge_articles (tenant_id, title, body, language)
      values (${b.tenantId}, 'Parking', 'Hay parking.', 'es')`;
    const env = parseEnv(h.bindings);
    const { services, close } = createServices(env);
    try {
      expect(await queueKnowledgeEmbeddings(services, env, { tenantId: b.tenantId })).toBe(2);
      const queued = await sql`select id from job_outbox
        where tenant_id = ${b.tenantId} and kind = 'knowledge-embedding' and status = 'pending'`;
      const jobs = await asTenant(services.db, b.tenantId, (ctx) =>
        pendingJobs(
          ctx,
          queued.map((r) => r.id as string),
        ),
      );
      expect(jobs.map((j) => j.payload.articleId).sort()).toEqual([old?.id, stale?.id].sort());
      await publishJobs(services, env, jobs);
      await h.settle();
      for (const id of [old?.id, stale?.id]) {
        expect(await embeddingOf(id as string)).toMatchObject({
          embedded: true,
          embedding_model: standIn.model,
        });
      }
      expect(await queueKnowledgeEmbeddings(services, env, { tenantId: b.tenantId })).toBe(0);
      // Without an endpoint the cron queues nothing at all.
      const offline = parseEnv(plain.bindings);
      await sql`update knowledge_articles set embedding_model = 'yet-another-model'
        where id = ${old?.id}`;
      expect(await queueKnowledgeEmbeddings(services, offline, { tenantId: b.tenantId })).toBe(0);
    } finally {
      await close();
    }
  });
});
