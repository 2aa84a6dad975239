/**
 * Requests for a person. A message asking for one hands the conversation to a human at once,
 * before any debounce or model: asking for a human must never depend on the model understanding it
 * (peers.md: silent or missed handoffs are the complaint).
 *
 * What matches is an *intent*, not a lone word: "personas" or "agent" also appear in ordinary
 * questions ("¿Puedo ir con dos personas?", "Is your agent booking system online?") that must reach
 * the agent. A message escalates when a person-word follows a request for one ("hablar con",
 * "pásame con", "quiero", "talk to", "I need", "أريد التحدث مع", "ممكن أكلم", "حوّلني إلى", "is
 * there", "هل يوجد") or when the message is essentially just that word ("humano", "¿Un asesor?",
 * "agent please", "موظف من فضلك").
 *
 * Text is compared after lowercasing and removing accents; Arabic person-words also match with the
 * usual attached prefixes (ال, و, ب, ل, ف: "الموظف", "بموظف") and any alef/ta marbuta spelling.
 */
import { foldText, wordsOf } from '../text';

/** Words naming a person on the business's side: alone or after any request they escalate. */
const PEOPLE = [
  // Spanish
  'humano',
  'humanos',
  'humana',
  'asesor',
  'asesora',
  'asesores',
  'agente',
  'agentes',
  'persona',
  'personas',
  'operador',
  'operadora',
  'encargado',
  'encargada',
  // English
  'human',
  'humans',
  'agent',
  'agents',
  'operator',
  'operators',
  'person',
  'representative',
  'rep',
  // Arabic: employee, human being, person, the one in charge
  'موظف',
  'موظفين',
  'موظفه',
  'انسان',
  'شخص',
  'بشري',
  'مسؤول',
];

/**
 * "Someone": a person only after talking / passing verbs ("hablar con alguien", "talk to someone",
 * "ممكن أكلم حد"); "¿Hay alguien disponible el martes?" is a question about the agenda.
 */
const ANYONE = ['alguien', 'someone', 'somebody', 'anyone', 'anybody', 'حد', 'احد'];

/** Words that may surround the person-word in a message that is "just the word". */
const FILLERS = new Set(
  [
    // Spanish
    'un',
    'una',
    'el',
    'la',
    'por',
    'favor',
    'porfa',
    'porfavor',
    'hola',
    'real',
    'de',
    'verdad',
    'ya',
    'ahora',
    // English
    'a',
    'an',
    'the',
    'please',
    'pls',
    'plz',
    'hi',
    'hello',
    'hey',
    'live',
    'actual',
    'now',
    // Arabic: please, real, hello, now
    'من',
    'فضلك',
    'فضلكم',
    'لو',
    'سمحت',
    'سمحتم',
    'رجاء',
    'رجاءا',
    'حقيقي',
    'مرحبا',
    'الان',
  ].map(foldText),
);

// Person-words are replaced by a marker before the request patterns run: `§<n>` for PEOPLE and
// `¤<n>` for ANYONE, n being the word's position, so a pattern's match says which word it was.
const PERSON = '§\\d+';
const PERSON_OR_ANYONE = '[§¤]\\d+';

// Articles and adjectives between a request and the person-word ("a real person", "algún humano").
const ES_ART = '(?:(?:un|una|el|la|los|las|algun|alguna|algunos|algunas) )?';
const EN_ART = '(?:(?:a|an|the|some) )?(?:(?:real|actual|live) )?';

/** Request patterns over the normalised, marker-substituted text (words joined by one space). */
const REQUESTS = [
  // Spanish: talk with / pass me to / want / attend me / is there
  `(?:hablar|hablo|hable|conversar|charlar|comunicarme|contactar|contactarme|comunicar) con ${ES_ART}${PERSON_OR_ANYONE}`,
  `(?:pasame|pasas|pasa|pasais|pasen|pasenme|pasar|pasarme|pases|pasad|pasadme|ponme|pones|poner|ponerme|ponedme|ponganme|comunicame|comunicas|transfiereme|transferirme|derivame|derivarme) con ${ES_ART}${PERSON_OR_ANYONE}`,
  `(?:quiero|queria|quisiera|necesito|prefiero|pido|solicito) ${ES_ART}${PERSON}`,
  `me (?:atienda|atiendan|conteste|contesten|responda|respondan|llame|llamen) ${ES_ART}${PERSON_OR_ANYONE}`,
  `hay ${ES_ART}${PERSON}`,
  // English: talk to / connect me to / I want / can I have / is there
  `(?:talk|speak|chat) (?:to|with) ${EN_ART}${PERSON_OR_ANYONE}`,
  `(?:connect|transfer|put|pass|send|forward|switch|get) me (?:through )?(?:to|with) ${EN_ART}${PERSON_OR_ANYONE}`,
  `i (?:really )?(?:want|need|would like|d like|wanna|prefer|request) ${EN_ART}${PERSON}`,
  `(?:can|could|may) i (?:have|get) ${EN_ART}${PERSON}`,
  `(?:get|give|find) me ${EN_ART}${PERSON}`,
  `is there ${EN_ART}${PERSON}`,
  // Arabic: talk (with) / transfer me (to) / I want / is there
  `(?:التحدث|الحديث|التكلم|الكلام|اتحدث|اتكلم|نتحدث|نتكلم|احكي|نحكي|اكلم|نكلم|يكلمني|تكلمني|اتواصل|التواصل)(?: (?:مع|الي|ل))? ${PERSON_OR_ANYONE}`,
  `(?:حولني|حوليني|حولوني|وصلني|وصلوني|اعطني|عطني|اعطيني|كلمني)(?: (?:مع|الي|ل))? ${PERSON_OR_ANYONE}`,
  `(?:اريد|نريد|بدي|بدنا|ابغي|ابي|عايز|عاوز|عايزه|عاوزه|اود|احتاج|ممكن) ${PERSON}`,
  `(?:يوجد|هل في|هل فيه) ${PERSON}`,
].map((pattern) => new RegExp(`(?:^| )${pattern}(?= |$)`, 'u'));

const PEOPLE_LOOKUP = new Set(PEOPLE.map(foldText));
const ANYONE_LOOKUP = new Set(ANYONE.map(foldText));
const ARABIC_PREFIXES = ['وال', 'بال', 'فال', 'لل', 'ال', 'و', 'ب', 'ل', 'ف'];

function candidates(word: string): string[] {
  if (!/[\u0600-\u06FF]/.test(word)) return [word];
  // The indefinite accusative ends in alef once its tanween is gone: "شخصاً" → "شخصا" → "شخص".
  const bases = word.length > 3 && word.endsWith('ا') ? [word, word.slice(0, -1)] : [word];
  const forms = [...bases];
  for (const base of bases) {
    for (const prefix of ARABIC_PREFIXES) {
      if (base.startsWith(prefix) && base.length > prefix.length + 1)
        forms.push(base.slice(prefix.length));
    }
  }
  return forms;
}

type Token = { text: string; person: string | null; anyone: boolean };

function classify(word: string): Token {
  for (const form of candidates(word)) {
    if (PEOPLE_LOOKUP.has(form)) return { text: word, person: form, anyone: false };
    if (ANYONE_LOOKUP.has(form)) return { text: word, person: form, anyone: true };
  }
  return { text: word, person: null, anyone: false };
}

/**
 * The person-word of the customer's request for a person (normalised: "humano", "someone",
 * "موظف"), or null when the message does not ask for one.
 */
export function matchEscalationWord(text: string | null | undefined): string | null {
  if (!text) return null;
  const tokens = wordsOf(text).map(classify);

  // Just the word: nothing but person-words (not "someone") and politeness around them.
  const meaningful = tokens.filter((token) => !FILLERS.has(token.text));
  if (meaningful.length > 0 && meaningful.every((token) => token.person && !token.anyone)) {
    return meaningful[0]?.person ?? null;
  }

  const marked = tokens
    .map((token, index) => (token.person ? `${token.anyone ? '¤' : '§'}${index}` : token.text))
    .join(' ');
  for (const request of REQUESTS) {
    const found = request.exec(marked)?.[0].match(/[§¤](\d+)$/u);
    if (found) return tokens[Number(found[1])]?.person ?? null;
  }
  return null;
}
