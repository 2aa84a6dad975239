import { generateText, isStepCount, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OFFLINE_MODEL_ID, OfflineDemoModel } from './offline-model';

function run(text: string, snippet: string | null) {
  const searched: string[] = [];
  const escalated: string[] = [];
  const tools = {
    knowledge_search: tool({
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => {
        searched.push(query);
        return {
          results: snippet ? [{ article_id: 'a1', title: 'Horario', language: 'es', snippet }] : [],
        };
      },
    }),
    escalate_to_human: tool({
      inputSchema: z.object({ reason: z.string() }),
      execute: async ({ reason }) => {
        escalated.push(reason);
        return { status: 'handed_off' };
      },
    }),
  };
  return generateText({
    model: new OfflineDemoModel(),
    instructions: 'Their latest message is in Spanish (es).',
    messages: [{ role: 'user', content: text }],
    tools,
    stopWhen: isStepCount(4),
  }).then((result) => ({ result, searched, escalated }));
}

describe('offline demo model', () => {
  it('answers a question from the knowledge snippet, in Spanish, after a knowledge_search', async () => {
    const { result, searched } = await run(
      'Hola, ¿a qué hora abrís?',
      'Abrimos de lunes a viernes de 9:00 a 20:00.',
    );
    expect(searched).toEqual(['Hola, ¿a qué hora abrís?']);
    expect(result.text).toBe(
      '¡Hola! Según nuestra información: Abrimos de lunes a viernes de 9:00 a 20:00.',
    );
    expect(result.finalStep.response.modelId).toBe(OFFLINE_MODEL_ID);
    expect(result.finalStep.providerMetadata).toEqual({ switchboard: { offlineDemo: true } });
  });

  it('says it does not know, in English, when nothing matches', async () => {
    const { result } = await run('What is the price of whitening?', null);
    expect(result.text).toContain("I don't have that information");
  });

  it('greets in Arabic and escalates when asked for a person', async () => {
    expect((await run('مرحبا', null)).result.text).toContain('مرحباً');
    const { escalated, result } = await run('Can I talk to someone please?', null);
    expect(escalated).toEqual(['The customer asked to talk to a person.']);
    expect(result.text).toBe('');
  });

  it('is deterministic', async () => {
    const a = await run('¿Tenéis parking?', 'Hay parking gratuito.');
    const b = await run('¿Tenéis parking?', 'Hay parking gratuito.');
    expect(a.result.text).toBe(b.result.text);
  });
});
