/**
 * Words with which a customer asks for a person. A message containing one hands the conversation
 * to a human at once, before any debounce or model: asking for a human must never depend on the
 * model understanding it (peers.md: silent or missed handoffs are the complaint).
 *
 * Matching is per word, after lowercasing and removing accents, so "Quiero hablar con un HUMANO"
 * and "¿Un asesor?" match while "personal" or "agenda" do not. Arabic words also match with the
 * usual attached prefixes (ال, و, ب, ل, ف: "الموظف", "بموظف") and any alef/ta marbuta spelling.
 */
const WORDS = [
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
  // English
  'human',
  'humans',
  'agent',
  'agents',
  'operator',
  'operators',
  // Arabic: employee, human being, person (and plurals)
  'موظف',
  'موظفين',
  'موظفه',
  'انسان',
  'شخص',
  'بشري',
];

/** Lowercase, no accents or Arabic diacritics/tatweel, one spelling of alef, ya and ta marbuta. */
function normalize(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/\u0640/g, '')
    .replace(/[أإآٱ]/g, 'ا')
    .replace(/ى/g, 'ي')
    .replace(/ة/g, 'ه')
    .toLowerCase();
}

const LOOKUP = new Set(WORDS.map(normalize));
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

/** The escalation word the text contains (as the customer wrote it, normalised), or null. */
export function matchEscalationWord(text: string | null | undefined): string | null {
  if (!text) return null;
  for (const word of normalize(text).split(/[^\p{L}\p{N}]+/u)) {
    if (!word) continue;
    for (const form of candidates(word)) if (LOOKUP.has(form)) return form;
  }
  return null;
}
