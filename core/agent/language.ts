import { wordsOf } from '../text';
/**
 * Which of the agent's languages a customer writes in, so replies (including the canned ones sent
 * without a model: handoff notices, the offline demo model) mirror it. A cheap heuristic is enough
 * here: the model itself is also told to answer in the customer's language, whatever it is.
 */
export type AgentLanguage = 'es' | 'en' | 'ar';

const SPANISH_WORDS = new Set(
  `hola buenas buenos dias tardes noches gracias quiero queria necesito tengo tienen teneis tienes
  puedo puede pueden podria cita citas horario hora horas abris abren abierto cerrado cuando donde
  cuanto cuesta precio precios por para que como esta estan usted ustedes vosotros mañana manana
  hoy semana lunes martes miercoles jueves viernes sabado domingo si claro vale perfecto ayuda
  hablar con una uno el la los las del al mi me te se le nos es son hay muy bien mal favor
  humano asesor asesora agente persona alguien`.split(/\s+/),
);
const ENGLISH_WORDS = new Set(
  `hello hi hey thanks thank you want would need have has can could appointment booking hours
  hour open opening closed when where how much price prices for what is are the a an my me your
  today tomorrow week monday tuesday wednesday thursday friday saturday sunday yes please help
  speak talk with to of and do does it this that there good morning afternoon evening
  human agent operator person someone somebody`.split(/\s+/),
);

/**
 * The language of a text, or null when it gives no signal (an emoji, "ok", a number). Arabic script
 * decides at once; Latin text is Spanish or English by its common words and Spanish-only
 * characters (ñ ¿ ¡ and accented vowels).
 */
export function detectLanguage(text: string | null | undefined): AgentLanguage | null {
  if (!text) return null;
  const arabic = (text.match(/[\u0600-\u06FF\u0750-\u077F]/g) ?? []).length;
  const latin = (text.match(/[A-Za-zÀ-ÿ]/g) ?? []).length;
  if (arabic > 0 && arabic >= latin) return 'ar';
  let es = /[ñ¿¡áéíóú]/i.test(text) ? 2 : 0;
  let en = 0;
  for (const word of wordsOf(text)) {
    if (SPANISH_WORDS.has(word)) es++;
    if (ENGLISH_WORDS.has(word)) en++;
  }
  if (es === 0 && en === 0) return null;
  return es >= en ? 'es' : 'en';
}

/** The language of the newest customer text that says something, else `fallback`. */
export function conversationLanguage(
  customerTextsNewestFirst: Array<string | null | undefined>,
  fallback: AgentLanguage = 'en',
): AgentLanguage {
  for (const text of customerTextsNewestFirst) {
    const language = detectLanguage(text);
    if (language) return language;
  }
  return fallback;
}

export const LANGUAGE_NAMES: Record<AgentLanguage, string> = {
  es: 'Spanish',
  en: 'English',
  ar: 'Arabic',
};

/** The short notice a customer gets when a person takes over (never silence: peers.md). */
export const HANDOFF_NOTICE: Record<AgentLanguage, string> = {
  es: 'Te paso con una persona de nuestro equipo; te responderá en breve.',
  en: "I'm passing you to a member of our team; they'll reply shortly.",
  ar: 'سأحوّلك إلى أحد أعضاء فريقنا، وسيرد عليك قريباً.',
};
