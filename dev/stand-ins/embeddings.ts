import { foldText } from '../../core/text';
import { hasBearerToken, type LoopbackServer, listenOnLoopback } from './http-server';

/**
 * A deterministic stand-in for an OpenAI-compatible embeddings endpoint (`POST /v1/embeddings`),
 * for `npm start` and the tests: knowledge search by meaning with no network and no model.
 *
 * A real model puts "teeth cleaning cost" and "precio de la limpieza dental" close together
 * because it learned what the words mean in many languages. This stand-in gets the same effect
 * for a small, fixed vocabulary: every word of a concept in English, Spanish or Arabic adds to
 * that concept's dimension, any other word to a dimension chosen by its hash, and the vector is
 * L2-normalised (cosine similarity, as with OpenAI's). So a question and an article share
 * dimensions when they share concepts, whatever languages they are in, and the same text always
 * gets the same vector.
 */

/** Concepts and their words (space-separated), matched after `foldText` (lowercase, no accents). */
const LEXICON: Record<string, string> = {
  teeth: 'teeth tooth dental dentist dientes diente dentista dentadura اسنان سن الاسنان اسناني',
  cleaning:
    'cleaning clean cleanings hygiene limpieza limpiezas limpiar higiene تنظيف التنظيف تنظيفات',
  price:
    'cost costs price prices pricing fee fees much precio precios costo coste cuesta cuestan cuanto tarifa tarifas euros euro سعر السعر اسعار الاسعار تكلفه كلفه بكم يورو',
  appointment: 'appointment appointments booking book cita citas reservar reserva موعد حجز الموعد',
  hours:
    'hours open opening schedule horario horarios abrimos abris abren apertura ساعات مواعيد دوام نفتح',
  parking: 'parking park car aparcamiento aparcar estacionamiento coche موقف مواقف سياره',
  whitening: 'whitening whiten blanqueamiento blanquear تبييض',
  orthodontics: 'orthodontics braces ortodoncia brackets تقويم',
};

export const EMBEDDING_CONCEPTS: Record<string, string[]> = Object.fromEntries(
  Object.entries(LEXICON).map(([concept, words]) => [concept, words.split(' ')]),
);

/** Words that say nothing about meaning; left out as a real model mostly ignores them. */
const STOP_WORDS = new Set([
  ...['the', 'a', 'an', 'of', 'for', 'to', 'and', 'or', 'is', 'are', 'do', 'you', 'your', 'we'],
  ...['our', 'in', 'on', 'at', 'it', 'what', 'how', 'does', 'with', 'my', 'me', 'i', 'can'],
  ...['el', 'la', 'los', 'las', 'de', 'del', 'y', 'o', 'en', 'un', 'una', 'que', 'es', 'por'],
  ...['para', 'con', 'se', 'al', 'su', 'lo', 'mi', 'tu', 'hola', 'hello', 'hi'],
  ...['في', 'من', 'علي', 'الي', 'عن', 'ما', 'هل', 'او', 'و', 'كم', 'مرحبا'],
]);

export const STAND_IN_DIMENSIONS = 256;

const conceptNames = Object.keys(EMBEDDING_CONCEPTS);
const conceptOf = new Map<string, number>();
conceptNames.forEach((name, index) => {
  for (const word of EMBEDDING_CONCEPTS[name] ?? []) conceptOf.set(foldText(word), index);
});

/** FNV-1a: a word's dimension among those no concept uses. */
function hashedDimension(word: string): number {
  let hash = 0x811c9dc5;
  for (const char of word) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return conceptNames.length + (hash % (STAND_IN_DIMENSIONS - conceptNames.length));
}

/** The stand-in's embedding of a text: deterministic, unit length. */
export function standInEmbedding(text: string): number[] {
  const vector = new Array<number>(STAND_IN_DIMENSIONS).fill(0);
  const words = foldText(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w && !STOP_WORDS.has(w));
  for (const word of words) {
    // Arabic's article is written joined to the word: الاسنان is اسنان.
    const bare = conceptOf.has(word) || !word.startsWith('ال') ? word : word.slice(2);
    const index = conceptOf.get(bare) ?? hashedDimension(bare);
    vector[index] = (vector[index] ?? 0) + 1;
  }
  // A real model never answers a zero vector (cosine is undefined for it): noise gets one of its own.
  if (words.length === 0) vector[hashedDimension(`\u0000${text}`)] = 1;
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return vector.map((v) => v / norm);
}

export type EmbeddingsStandIn = LoopbackServer & {
  /** `baseURL` for an OpenAI client: `${url}/v1`. */
  baseUrl: string;
  model: string;
  /** Every request's inputs, in order (tests count the calls the app made). */
  readonly requests: string[][];
  /** While set, every request is answered 503 (an endpoint that is down). */
  down: boolean;
};

export type EmbeddingsStandInOptions = {
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  model?: string;
};

const openAiError = (status: number, message: string, type: string) =>
  Response.json({ error: { message, type, param: null, code: null } }, { status });

export async function startEmbeddingsStandIn(
  options: EmbeddingsStandInOptions = {},
): Promise<EmbeddingsStandIn> {
  const model = options.model ?? 'stand-in-embedding';
  const requests: string[][] = [];
  const state = { down: false };
  const server = await listenOnLoopback(async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method !== 'POST' || pathname !== '/v1/embeddings') {
      return openAiError(
        404,
        `Unknown request URL: ${request.method} ${pathname}`,
        'invalid_request_error',
      );
    }
    if (
      options.apiKey &&
      !hasBearerToken(request.headers.get('authorization') ?? undefined, options.apiKey)
    ) {
      return openAiError(401, 'Incorrect API key provided.', 'invalid_request_error');
    }
    if (state.down) return openAiError(503, 'The stand-in is down.', 'server_error');
    const body = (await request.json().catch(() => null)) as { input?: unknown } | null;
    const input = body?.input;
    const inputs = typeof input === 'string' ? [input] : input;
    if (
      !Array.isArray(inputs) ||
      inputs.length === 0 ||
      !inputs.every((i) => typeof i === 'string')
    ) {
      return openAiError(
        400,
        "'input' must be a string or a non-empty array of strings",
        'invalid_request_error',
      );
    }
    requests.push(inputs);
    const tokens = inputs.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
    return Response.json({
      object: 'list',
      data: inputs.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: standInEmbedding(text),
      })),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }, options.port);
  return {
    url: server.url,
    close: () => server.close(),
    baseUrl: `${server.url}/v1`,
    model,
    requests,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
  };
}
