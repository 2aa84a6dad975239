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
import { foldText, wordsOf } from '../../core/text';

/**
 * The offline demo model: a small deterministic stand-in for an LLM, used when no OpenAI key is
 * configured so the local stack answers end to end without any account. It is NOT an AI and says
 * so in every trace (`model: offline-demo`) and in its replies' metadata. It follows the same tool
 * protocol as a real model, so the whole turn (tools, traces, replies) is exercised:
 *
 * - a request for a person ("can I talk to someone?", escalation words) → `escalate_to_human`;
 * - a question (or anything longer than a greeting) → `knowledge_search`, then an answer quoting
 *   the best snippet, or an honest "I don't have that" with the way to reach a person;
 * - a booking request naming a service ("quiero una limpieza el martes por la mañana", "I'd like
 *   a cleaning on Tuesday morning", "أريد تنظيف الأسنان يوم الثلاثاء صباحاً") → `list_services`,
 *   then `check_availability` for the service whose name it mentions, on that weekday and part of
 *   the day: the times go out as buttons, whose tap books without any model;
 * - "cancel my appointment" (es/en/ar) → `my_appointments`, then `cancel_appointment` of the
 *   soonest one, and a sentence saying so;
 * - "I confirm my appointment" → `my_appointments`, then `confirm_appointment` of the soonest
 *   pending one, and a sentence saying so;
 * - "move my appointment to Thursday afternoon" → `my_appointments`, then `check_availability`
 *   with the soonest one's id: times that move it go out as buttons, whose tap moves it;
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
  {
    greet: string;
    found: (s: string) => string;
    notFound: string;
    hello: string;
    done: string;
    whichService: (names: string) => string;
    noSlots: string;
    notBookable: string;
    cancelled: (service: string, when: string) => string;
    confirmed: (service: string, when: string) => string;
    noAppointments: string;
    nothingPending: string;
  }
> = {
  es: {
    greet: '¡Hola! Soy el asistente virtual (modo demo). ¿En qué puedo ayudarte?',
    hello: '¡Hola! ',
    found: (snippet) => `Según nuestra información: ${snippet}`,
    notFound:
      'No tengo esa información a mano. Si quieres, escribe «humano» y te paso con una persona del equipo.',
    done: 'Listo.',
    whichService: (names) => `¿Para qué servicio quieres la cita? Tenemos: ${names}.`,
    noSlots: 'No veo horas libres para esas fechas. ¿Te va bien otro día?',
    notBookable:
      'Ese servicio lo reserva nuestro equipo; escribe «humano» y te paso con una persona.',
    cancelled: (service, when) => `Hecho: tu cita de ${service} del ${when} queda cancelada.`,
    confirmed: (service, when) => `¡Gracias! Tu cita de ${service} del ${when} queda confirmada.`,
    noAppointments: 'No veo ninguna cita próxima a tu nombre.',
    nothingPending: 'No veo ninguna cita pendiente de confirmar a tu nombre. ¡Gracias!',
  },
  en: {
    greet: "Hi! I'm the virtual assistant (demo mode). How can I help?",
    hello: 'Hi! ',
    found: (snippet) => `Here is what we have: ${snippet}`,
    notFound:
      "I don't have that information at hand. If you like, write “human” and I'll pass you to a person on our team.",
    done: 'Done.',
    whichService: (names) => `Which service would you like to book? We offer: ${names}.`,
    noSlots: 'I see no free times on those dates. Would another day work?',
    notBookable: 'Our team books that service; write “human” and I will pass you to a person.',
    cancelled: (service, when) => `Done: your ${service} on ${when} is cancelled.`,
    confirmed: (service, when) => `Thank you! Your ${service} on ${when} is confirmed.`,
    noAppointments: "I don't see any upcoming appointment in your name.",
    nothingPending: "I don't see any appointment waiting for confirmation in your name. Thank you!",
  },
  ar: {
    greet: 'مرحباً! أنا المساعد الافتراضي (وضع تجريبي). كيف يمكنني مساعدتك؟',
    hello: 'مرحباً! ',
    found: (snippet) => `حسب معلوماتنا: ${snippet}`,
    notFound: 'ليست لدي هذه المعلومة حالياً. إذا أردت، اكتب «موظف» وسأحوّلك إلى أحد أعضاء فريقنا.',
    done: 'تم.',
    whichService: (names) => `لأي خدمة تريد الموعد؟ لدينا: ${names}.`,
    noSlots: 'لا أرى أوقاتاً متاحة في هذه الفترة. هل يناسبك يوم آخر؟',
    notBookable: 'يحجز فريقنا هذه الخدمة؛ اكتب «موظف» وسأحوّلك إلى أحد أعضاء الفريق.',
    cancelled: (service, when) => `تم: أُلغي موعدك لـ${service} يوم ${when}.`,
    confirmed: (service, when) => `شكراً! تم تأكيد موعدك لـ${service} يوم ${when}.`,
    noAppointments: 'لا أرى أي موعد قادم باسمك.',
    nothingPending: 'لا أرى أي موعد باسمك بانتظار التأكيد. شكراً!',
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

// Booking words, folded (foldText: lowercase, no accents, one alef). Matched as whole words.
const WEEKDAYS: Record<string, number> = {
  lunes: 1,
  martes: 2,
  miercoles: 3,
  jueves: 4,
  viernes: 5,
  sabado: 6,
  domingo: 7,
  monday: 1,
  tuesday: 2,
  wednesday: 3,
  thursday: 4,
  friday: 5,
  saturday: 6,
  sunday: 7,
  الاثنين: 1,
  الثلاثاء: 2,
  الاربعاء: 3,
  الخميس: 4,
  الجمعه: 5,
  السبت: 6,
  الاحد: 7,
};
/** Words that ask for an appointment on their own. */
const BOOK_WORDS = new Set(
  'cita reservar reserva agendar appointment book booking موعد حجز احجز'.split(' '),
);
/** Words of wanting, which ask for one together with a weekday ("I'd like … on Tuesday"). */
const WANT_WORDS = new Set('quiero queria like want اريد ابغي بدي'.split(' '));
const CANCEL_WORDS = /^(cancel\w*|anul\w*|الغاء|الغي|الغ)$/;
/** Changing or confirming needs one of these too ("change my appointment", not "change"). */
const APPOINTMENT_WORDS = /^(citas?|reservas?|appointments?|booking|موعد\p{L}*|حجز\p{L}*)$/u;
const MOVE_WORDS =
  /^(cambi\w*|mover|mueve\w*|move|reschedule|change|غير|غيري|تغيير|اغير|انقل|نقل|تاجيل|اجل)$/;
// Folded: "أؤكد" reads "اوكد" (the hamza on its waw is a mark, dropped).
const CONFIRM_WORDS = /^(confirm\w*|اوكد|اكد|تاكيد)$/;

/** What a customer's words ask about appointments, by keywords (es/en/ar). */
function appointmentIntent(text: string) {
  const words = wordsOf(text);
  const folded = foldText(text);
  const weekday = words.map((w) => WEEKDAYS[w]).find((d) => d !== undefined);
  const partOfDay =
    /\b(de|por) la manana\b|\bmorning\b/.test(folded) || folded.includes('صباح')
      ? 'morning'
      : /\b(de|por) la tarde\b|\bafternoon\b/.test(folded) || /مساء|بعد الظهر/.test(folded)
        ? 'afternoon'
        : 'any';
  const cancel = words.some((w) => CANCEL_WORDS.test(w));
  // Their own appointment: cancel wins over move, move over confirm, all over booking a new one.
  const own = words.some((w) => APPOINTMENT_WORDS.test(w));
  const move = !cancel && own && words.some((w) => MOVE_WORDS.test(w));
  const confirm = !cancel && !move && own && words.some((w) => CONFIRM_WORDS.test(w));
  const book =
    !cancel &&
    !move &&
    !confirm &&
    (words.some((w) => BOOK_WORDS.has(w)) ||
      (weekday !== undefined && words.some((w) => WANT_WORDS.has(w))));
  return { words, weekday, partOfDay, cancel, move, confirm, book };
}

type ServiceOut = { service_id: string; name: string; names: string[]; bookable: boolean };

/** The service whose name's words (4+ letters) the customer used most; ties: the first. */
function mentionedService(services: ServiceOut[], words: string[]): ServiceOut | null {
  const said = new Set(words);
  let best: { service: ServiceOut; hits: number } | null = null;
  for (const service of services) {
    const nameWords = new Set(
      service.names.flatMap((n) => wordsOf(n)).filter((w) => w.length >= 4),
    );
    const hits = [...nameWords].filter((w) => said.has(w)).length;
    if (hits > 0 && (!best || hits > best.hits)) best = { service, hits };
  }
  return best?.service ?? null;
}

function jsonOutput(
  result: NonNullable<ReturnType<typeof lastToolResult>>,
): Record<string, unknown> {
  const value = result.output.type === 'json' ? result.output.value : null;
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
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
    const booking = appointmentStep(result.toolName, jsonOutput(result), latest, say);
    if (booking) return booking;
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
  const intent = appointmentIntent(latest);
  const change = intent.cancel
    ? 'cancel_appointment'
    : intent.move
      ? 'check_availability'
      : intent.confirm
        ? 'confirm_appointment'
        : null;
  if (change && tools.has('my_appointments') && tools.has(change)) {
    return { kind: 'tool', toolName: 'my_appointments', input: {} };
  }
  if (intent.book && tools.has('list_services') && tools.has('check_availability')) {
    return { kind: 'tool', toolName: 'list_services', input: {} };
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

type Say = (typeof TEXT)[AgentLanguage];
type Intent = ReturnType<typeof appointmentIntent>;

/** The next step of the booking and cancelling flows after one of their tools answered. */
function appointmentStep(
  toolName: string,
  output: Record<string, unknown>,
  latest: string,
  say: Say,
): Decision | null {
  const intent = appointmentIntent(latest);
  switch (toolName) {
    case 'list_services':
      return afterServices(output, intent, say);
    case 'check_availability':
      // The times went out as buttons with their own sentence: nothing to add.
      if (output.sent_to_customer === true) return { kind: 'text', text: '' };
      return {
        kind: 'text',
        text:
          output.status === 'not_bookable'
            ? say.notBookable
            : output.status === 'not_found' || output.status === 'not_active'
              ? say.noAppointments
              : say.noSlots,
      };
    case 'my_appointments':
      return afterMyAppointments(output, intent, say);
    case 'cancel_appointment':
    case 'confirm_appointment':
      return afterChange(output, say);
    default:
      return null;
  }
}

/** The service the customer named → its free times; else ask which. */
function afterServices(output: Record<string, unknown>, intent: Intent, say: Say): Decision {
  const services = (Array.isArray(output.services) ? output.services : []) as ServiceOut[];
  const service = mentionedService(services, intent.words);
  if (!service) {
    const names = services.map((s) => s.name).join(', ');
    return { kind: 'text', text: say.whichService(names) };
  }
  if (!service.bookable) return { kind: 'text', text: say.notBookable };
  return {
    kind: 'tool',
    toolName: 'check_availability',
    input: {
      service_id: service.service_id,
      ...(intent.weekday ? { weekday: intent.weekday } : {}),
      part_of_day: intent.partOfDay,
    },
  };
}

/** The customer's appointments → confirm the pending one, offer times to move, or cancel. */
function afterMyAppointments(output: Record<string, unknown>, intent: Intent, say: Say): Decision {
  // Soonest first (the tool's order); confirming only makes sense for a pending one.
  const listed = (Array.isArray(output.appointments) ? output.appointments : []) as Array<{
    appointment_id: string;
    status?: string;
  }>;
  if (intent.confirm) {
    const pending = listed.find((a) => a.status === 'pending');
    if (!pending) return { kind: 'text', text: say.nothingPending };
    return {
      kind: 'tool',
      toolName: 'confirm_appointment',
      input: { appointment_id: pending.appointment_id },
    };
  }
  const [next] = listed;
  if (!next) return { kind: 'text', text: say.noAppointments };
  if (intent.move) {
    return {
      kind: 'tool',
      toolName: 'check_availability',
      input: {
        appointment_id: next.appointment_id,
        ...(intent.weekday ? { weekday: intent.weekday } : {}),
        part_of_day: intent.partOfDay,
      },
    };
  }
  return {
    kind: 'tool',
    toolName: 'cancel_appointment',
    input: { appointment_id: next.appointment_id },
  };
}

/** A cancellation or confirmation done → say so with the appointment's service and time. */
function afterChange(output: Record<string, unknown>, say: Say): Decision {
  const appointment = output.appointment as { service?: string; local_time?: string } | undefined;
  if (!appointment?.service || !appointment.local_time) {
    return { kind: 'text', text: say.noAppointments };
  }
  if (output.status === 'cancelled') {
    return { kind: 'text', text: say.cancelled(appointment.service, appointment.local_time) };
  }
  if (output.status === 'confirmed') {
    return { kind: 'text', text: say.confirmed(appointment.service, appointment.local_time) };
  }
  return { kind: 'text', text: say.noAppointments };
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
