import { createOpenAI } from '@ai-sdk/openai';
import { cosineSimilarity, embed, embedMany } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddingsStandIn, STAND_IN_DIMENSIONS, startEmbeddingsStandIn } from './embeddings';

/**
 * The embeddings stand-in, driven by the official client (the AI SDK's OpenAI provider, as the
 * app uses it): OpenAI's wire format, deterministic vectors, and meaning shared across English,
 * Spanish and Arabic for the words of its concept lexicon.
 */
describe('embeddings stand-in (OpenAI POST /v1/embeddings)', () => {
  let standIn: EmbeddingsStandIn;
  const KEY = 'stand-in-test-key';
  beforeAll(async () => {
    standIn = await startEmbeddingsStandIn({ apiKey: KEY });
  });
  afterAll(() => standIn.close());

  const model = () => createOpenAI({ baseURL: standIn.baseUrl, apiKey: KEY }).embedding('any');

  it('answers embedMany with one unit vector per input, in order, the same every time', async () => {
    const values = ['teeth cleaning cost', 'Precio de la limpieza dental', 'Parking'];
    const first = await embedMany({ model: model(), values, maxRetries: 0 });
    const again = await embedMany({ model: model(), values, maxRetries: 0 });
    expect(first.embeddings).toHaveLength(3);
    expect(again.embeddings).toEqual(first.embeddings);
    for (const vector of first.embeddings) {
      expect(vector).toHaveLength(STAND_IN_DIMENSIONS);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 10);
    }
    expect(first.usage.tokens).toBeGreaterThan(0);
    expect(standIn.requests.at(-1)).toEqual(values);
  });

  it('puts a question near an article in another language with the same concepts', async () => {
    const values = [
      'teeth cleaning cost',
      'Limpieza dental: precio. La limpieza dental cuesta 60 euros.',
      'كم سعر تنظيف الأسنان؟',
      'Parking: there is free parking behind the clinic.',
    ];
    const [en, es, ar, parking] = (await embedMany({ model: model(), values, maxRetries: 0 }))
      .embeddings as [number[], number[], number[], number[]];
    expect(cosineSimilarity(en, es)).toBeGreaterThan(0.5);
    expect(cosineSimilarity(ar, es)).toBeGreaterThan(0.5);
    expect(cosineSimilarity(en, parking)).toBeLessThan(0.1);
  });

  it('refuses a wrong key and, while down, answers 503 (the SDK throws)', async () => {
    const wrongKey = createOpenAI({ baseURL: standIn.baseUrl, apiKey: 'wrong' }).embedding('any');
    await expect(embed({ model: wrongKey, value: 'hours', maxRetries: 0 })).rejects.toThrow(
      /Incorrect API key/,
    );
    standIn.down = true;
    try {
      await expect(embed({ model: model(), value: 'hours', maxRetries: 0 })).rejects.toThrow(
        /down/,
      );
    } finally {
      standIn.down = false;
    }
    const { embedding } = await embed({ model: model(), value: 'hours', maxRetries: 0 });
    expect(embedding).toHaveLength(STAND_IN_DIMENSIONS);
  });

  it('never answers a zero vector, even for noise', async () => {
    const { embedding } = await embed({ model: model(), value: '🙂', maxRetries: 0 });
    expect(Math.hypot(...embedding)).toBeCloseTo(1, 10);
  });
});
