import { generateText } from 'ai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testBindings } from '../../test/harness';
import { parseEnv } from '../env';
import { defaultModelResolver } from './models';

/** Answers one chat completion and records where it was sent and with which key. */
function fakeOpenAI() {
  const calls: Array<{ url: string; authorization: string | null }> = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    calls.push({ url: request.url, authorization: request.headers.get('authorization') });
    return Response.json({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 0,
      model: 'gpt-test',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'hola' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
  return calls;
}

const env = (overrides: Record<string, string>) => parseEnv(testBindings(overrides));

describe('model choice', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers with the offline demo model when no key is configured anywhere', () => {
    const models = defaultModelResolver({ env: env({}), tenantModel: null, tenantApiKey: null });
    expect(models.offline).toBe(true);
    expect(models.label).toBe('offline-demo');
  });

  it("uses the deployment's OpenAI-compatible server with the deployment's key", async () => {
    const calls = fakeOpenAI();
    const models = defaultModelResolver({
      env: env({ OPENAI_API_KEY: 'sk-deployment', OPENAI_BASE_URL: 'http://llm.internal:8000/v1' }),
      tenantModel: null,
      tenantApiKey: null,
    });
    await generateText({ model: models.chat, prompt: 'hola' });
    expect(calls).toEqual([
      {
        url: 'http://llm.internal:8000/v1/chat/completions',
        authorization: 'Bearer sk-deployment',
      },
    ]);
    expect(models.label).toBe('openai-compatible(llm.internal:8000):gpt-4.1-mini');
  });

  it("sends a tenant's own key to OpenAI itself, never to the deployment's server", async () => {
    const calls = fakeOpenAI();
    const models = defaultModelResolver({
      env: env({ OPENAI_API_KEY: 'sk-deployment', OPENAI_BASE_URL: 'http://llm.internal:8000/v1' }),
      tenantModel: 'gpt-4.1',
      tenantApiKey: 'sk-tenant',
    });
    await generateText({ model: models.chat, prompt: 'hola' });
    expect(calls).toEqual([
      { url: 'https://api.openai.com/v1/chat/completions', authorization: 'Bearer sk-tenant' },
    ]);
    expect(models.label).toBe('openai:gpt-4.1');
  });
});
