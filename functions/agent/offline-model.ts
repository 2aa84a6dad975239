import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4GenerateResult,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
} from '@ai-sdk/provider';
import { matchEscalationWord } from '../../core/agent/escalation-words';
import { type AgentLanguage, detectLanguage } from '../../core/agent/language';

/**
 * The offline demo model: a small deterministic stand-in for an LLM, used when no OpenAI key is
 * configured so the local stack answers end to end without any account. It is NOT an AI and says
 * so in every trace (`model: offline-demo`) and in its replies' metadata. It follows the same tool
 * protocol as a real model, so the whole turn (tools, traces, replies) is exercised:
 *
 * - a request for a person ("can I talk to someone?", escalation words) → `escalate_to_human`;
 * - a question (or anything longer than a greeting) → `knowledge_search`, then an answer quoting
 *   the best snippet, or an honest "I don't have that" with the way to reach a person;
 * - a greeting alone → a greeting;
 * always in the language of the customer's latest message (Spanish, English or Arabic).
 */
export const OFFLINE_MODEL_ID = 'offline-demo';

// Word ends are spelled out: \b only knows ASCII letters, and Arabic greetings must match too.
const GREETING =
  /^(hola|buenas|buenos dias|buenas tardes|buenas noches|hi|hello|hey|good (morning|afternoon|evening)|مرحبا|السلام عليكم|اهلا|أهلا)(?=$|[\s\p{P}])/iu;
const WANTS_PERSON =
  /(hablar con (alguien|una persona)|talk to (someone|a person|somebody)|speak (to|with) (someone|a person|somebody)|real person|أريد التحدث مع)/iu;

const TEXT: Record<
  AgentLanguage,
  { greet: string; found: (s: string) => string; notFound: string; hello: string; done: string }
> = {
  es: {
    greet: '¡Hola! Soy el asistente virtual (modo demo). ¿En qué puedo ayudarte?',
    hello: '¡Hola! ',
    found: (snippet) => `Según nuestra información: ${snippet}`,
    notFound:
      'No tengo esa información a mano. Si quieres, escribe «humano» y te paso con una persona del equipo.',
    done: 'Listo.',
  },
  en: {
    greet: "Hi! I'm the virtual assistant (demo mode). How can I help?",
    hello: 'Hi! ',
    found: (snippet) => `Here is what we have: ${snippet}`,
    notFound:
      "I don't have that information at hand. If you like, write “human” and I'll pass you to a person on our team.",
    done: 'Done.',
  },
  ar: {
    greet: 'مرحباً! أنا المساعد الافتراضي (وضع تجريبي). كيف يمكنني مساعدتك؟',
    hello: 'مرحباً! ',
    found: (snippet) => `حسب معلوماتنا: ${snippet}`,
    notFound: 'ليست لدي هذه المعلومة حالياً. إذا أردت، اكتب «موظف» وسأحوّلك إلى أحد أعضاء فريقنا.',
    done: 'تم.',
  },
};

type Decision =
  | { kind: 'text'; text: string }
  | { kind: 'tool'; toolName: string; input: Record<string, unknown> };

function userText(prompt: LanguageModelV4Prompt, index: number): string {
  const message = prompt[index];
  if (message?.role !== 'user') return '';
  return message.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join(' ')
    .trim();
}

/**
 * Texts of the customer's messages this turn answers (the run of user messages before this
 * turn's own tool calls and results), newest last.
 */
function latestCustomerTexts(prompt: LanguageModelV4Prompt): string[] {
  const lastUser = prompt.findLastIndex((m) => m.role === 'user');
  const texts: string[] = [];
  for (let i = lastUser; i >= 0; i--) {
    const message = prompt[i];
    if (!message || message.role === 'assistant' || message.role === 'tool') break;
    if (message.role === 'user') texts.unshift(userText(prompt, i));
  }
  return texts.filter(Boolean);
}

function languageOf(prompt: LanguageModelV4Prompt, texts: string[]): AgentLanguage {
  for (const text of [...texts].reverse()) {
    const detected = detectLanguage(text);
    if (detected) return detected;
  }
  // The turn's instructions name the customer's language ("… in Spanish (es) …").
  const system = prompt.find((m) => m.role === 'system');
  const named = system?.role === 'system' ? /\((es|en|ar)\)/.exec(system.content)?.[1] : undefined;
  return (named as AgentLanguage | undefined) ?? 'en';
}

function lastToolResult(prompt: LanguageModelV4Prompt) {
  const last = prompt.at(-1);
  if (last?.role !== 'tool') return null;
  const part = last.content.findLast((p) => p.type === 'tool-result');
  return part?.type === 'tool-result' ? part : null;
}

function decide(options: LanguageModelV4CallOptions): Decision {
  const prompt = options.prompt;
  const tools = new Set((options.tools ?? []).map((t) => t.name));
  const texts = latestCustomerTexts(prompt);
  const language = languageOf(prompt, texts);
  const say = TEXT[language];
  const latest = texts.join(' ').trim();
  const greeted = texts.some((t) => GREETING.test(t.normalize('NFKD').replace(/\p{M}/gu, '')));

  const result = lastToolResult(prompt);
  if (result) {
    if (result.toolName === 'escalate_to_human') return { kind: 'text', text: '' };
    if (result.toolName === 'knowledge_search') {
      const value = result.output.type === 'json' ? result.output.value : null;
      const results =
        value && typeof value === 'object' ? Reflect.get(value, 'results') : undefined;
      const best: unknown = Array.isArray(results) ? results[0] : undefined;
      const snippet =
        typeof best === 'object' &&
        best !== null &&
        typeof Reflect.get(best, 'snippet') === 'string'
          ? (Reflect.get(best, 'snippet') as string)
          : '';
      const prefix = greeted ? say.hello : '';
      return { kind: 'text', text: snippet ? prefix + say.found(snippet) : prefix + say.notFound };
    }
    return { kind: 'text', text: say.done };
  }

  if (
    tools.has('escalate_to_human') &&
    (WANTS_PERSON.test(latest) || matchEscalationWord(latest))
  ) {
    return {
      kind: 'tool',
      toolName: 'escalate_to_human',
      input: { reason: 'The customer asked to talk to a person.' },
    };
  }
  const onlyGreeting =
    texts.length > 0 &&
    texts.every((t) => {
      const plain = t.normalize('NFKD').replace(/\p{M}/gu, '');
      return GREETING.test(plain) && plain.replace(GREETING, '').replace(/[\p{P}\s]/gu, '') === '';
    });
  if (!latest || onlyGreeting || !tools.has('knowledge_search')) {
    return { kind: 'text', text: say.greet };
  }
  return { kind: 'tool', toolName: 'knowledge_search', input: { query: latest.slice(0, 300) } };
}

/** A rough token count (characters / 4), so traces show a plausible usage for demo runs. */
function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export class OfflineDemoModel implements LanguageModelV4 {
  readonly specificationVersion = 'v4' as const;
  readonly provider = 'switchboard';
  readonly modelId = OFFLINE_MODEL_ID;
  readonly supportedUrls: Record<string, RegExp[]> = {};
  private calls = 0;

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    options.abortSignal?.throwIfAborted();
    const decision = decide(options);
    this.calls++;
    const content: LanguageModelV4Content[] =
      decision.kind === 'text'
        ? decision.text
          ? [{ type: 'text', text: decision.text }]
          : []
        : [
            {
              type: 'tool-call',
              toolCallId: `offline-${this.calls}`,
              toolName: decision.toolName,
              input: JSON.stringify(decision.input),
            },
          ];
    const promptChars = JSON.stringify(options.prompt).length;
    const output = decision.kind === 'text' ? decision.text : JSON.stringify(decision.input);
    return {
      content,
      finishReason: {
        unified: decision.kind === 'tool' ? 'tool-calls' : 'stop',
        raw: undefined,
      },
      usage: {
        inputTokens: {
          total: Math.ceil(promptChars / 4),
          noCache: Math.ceil(promptChars / 4),
          cacheRead: undefined,
          cacheWrite: undefined,
        },
        outputTokens: {
          total: estimateTokens(output),
          text: estimateTokens(output),
          reasoning: undefined,
        },
      },
      providerMetadata: { switchboard: { offlineDemo: true } },
      response: { id: `offline-${this.calls}`, modelId: OFFLINE_MODEL_ID, timestamp: new Date(0) },
      warnings: [],
    };
  }

  /** Streaming is not used by the agent; offered for completeness as one burst of the same result. */
  async doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    const result = await this.doGenerate(options);
    const parts: LanguageModelV4StreamPart[] = [{ type: 'stream-start', warnings: [] }];
    for (const part of result.content) {
      if (part.type === 'text') {
        parts.push(
          { type: 'text-start', id: 't' },
          { type: 'text-delta', id: 't', delta: part.text },
          { type: 'text-end', id: 't' },
        );
      } else if (part.type === 'tool-call') {
        parts.push(part);
      }
    }
    parts.push({ type: 'finish', finishReason: result.finishReason, usage: result.usage });
    return {
      stream: new ReadableStream({
        start(controller) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      }),
    };
  }
}
