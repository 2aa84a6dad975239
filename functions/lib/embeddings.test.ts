import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type EmbeddingsStandIn, startEmbeddingsStandIn } from '../../dev/stand-ins/embeddings';
import { type LoopbackServer, listenOnLoopback } from '../../dev/stand-ins/http-server';
import type { Env } from '../env';
import { articleEmbeddingText, embedderFromEnv, embeddingHash, embedQuestion } from './embeddings';

/** Only what embedderFromEnv reads. */
const envWith = (vars: Partial<Env>) =>
  ({ EMBEDDINGS_MODEL: 'text-embedding-3-small', ...vars }) as Env;

describe('embeddings for knowledge search', () => {
  let standIn: EmbeddingsStandIn;
  let hanging: LoopbackServer;
  beforeAll(async () => {
    standIn = await startEmbeddingsStandIn({ apiKey: 'k' });
    // An endpoint that accepts the request and never answers.
    hanging = await listenOnLoopback(() => new Promise<Response>(() => {}));
  });
  afterAll(async () => {
    await standIn.close();
    await hanging.close().catch(() => {});
  });

  it('without EMBEDDINGS_BASE_URL there is no embedder, and a question gets no embedding', async () => {
    expect(embedderFromEnv(envWith({}))).toBeNull();
    const warn = vi.fn();
    expect(await embedQuestion(null, 'teeth cleaning cost', { warn })).toBeNull();
    expect(warn).not.toHaveBeenCalled();
  });

  it("embeds a question with the configured model's name", async () => {
    const embedder = embedderFromEnv(
      envWith({
        EMBEDDINGS_BASE_URL: standIn.baseUrl,
        EMBEDDINGS_API_KEY: 'k',
        EMBEDDINGS_MODEL: 'm1',
      }),
    );
    const meaning = await embedQuestion(embedder, 'teeth cleaning cost', { warn: vi.fn() });
    expect(meaning?.model).toBe('m1');
    expect(meaning?.vector.length).toBeGreaterThan(0);
  });

  it('a failing or silent endpoint: no embedding, a warning, never a throw', async () => {
    const down = embedderFromEnv(
      envWith({ EMBEDDINGS_BASE_URL: standIn.baseUrl, EMBEDDINGS_API_KEY: 'wrong' }),
    );
    const warn = vi.fn();
    expect(await embedQuestion(down, 'hours', { warn })).toBeNull();
    const silent = embedderFromEnv(envWith({ EMBEDDINGS_BASE_URL: `${hanging.url}/v1` }));
    const started = Date.now();
    expect(await embedQuestion(silent, 'hours', { warn }, 200)).toBeNull();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('hashes the embedded text (title and body) deterministically', async () => {
    const text = articleEmbeddingText({ title: 'Precios', body: 'Una limpieza cuesta 60 €.' });
    expect(text).toBe('Precios\n\nUna limpieza cuesta 60 €.');
    expect(await embeddingHash(text)).toBe(await embeddingHash(text));
    expect(await embeddingHash(text)).toMatch(/^[0-9a-f]{64}$/);
    expect(await embeddingHash(`${text} `)).not.toBe(await embeddingHash(text));
  });
});
