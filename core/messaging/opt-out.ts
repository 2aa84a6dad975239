import { stripAccents } from '../text';
/**
 * Opt-out keywords: a customer message that is, as a whole, one of these words (any case, with or
 * without accents, surrounding spaces or final punctuation) is an opt-out. Whole-message matching
 * keeps "stop sending me the old address" or "¿puedo parar la cita?" from unsubscribing anyone.
 * CANCEL and END are left out on purpose: customers say them about appointments.
 */

export type OptOutLanguage = 'en' | 'es' | 'ar';

const KEYWORDS: Record<OptOutLanguage, string[]> = {
  en: ['stop', 'stop all', 'stopall', 'unsubscribe', 'opt out', 'optout', 'quit'],
  es: [
    'baja',
    'dar de baja',
    'darme de baja',
    'parar',
    'cancelar suscripcion',
    'cancelar subscripcion',
    'desuscribir',
    'desuscribirme',
  ],
  ar: ['إيقاف', 'ايقاف', 'توقف', 'إلغاء الاشتراك', 'الغاء الاشتراك'],
};

/** Lowercase, accents and Arabic diacritics removed, whitespace collapsed, end punctuation dropped. */
export function normalizeKeyword(text: string): string {
  return stripAccents(text)
    .replace(/[\s\u200c\u200f\u200e]+/g, ' ')
    .trim()
    .replace(/^[\p{P}\p{S}\s]+|[\p{P}\p{S}\s]+$/gu, '');
}

const LOOKUP = new Map<string, OptOutLanguage>(
  (Object.entries(KEYWORDS) as Array<[OptOutLanguage, string[]]>).flatMap(([language, words]) =>
    words.map((word) => [normalizeKeyword(word), language] as const),
  ),
);

/** The keyword's language when the whole message is an opt-out keyword, else null. */
export function matchOptOutKeyword(text: string | null | undefined): OptOutLanguage | null {
  if (!text || text.length > 64) return null;
  return LOOKUP.get(normalizeKeyword(text)) ?? null;
}

/** The one confirmation sent per opt-out, in the keyword's language. */
export const OPT_OUT_CONFIRMATION: Record<OptOutLanguage, string> = {
  en: 'You have been unsubscribed and will not receive further messages from us. If you write to us again, we will still answer.',
  es: 'Te has dado de baja y no recibirás más mensajes nuestros. Si nos escribes de nuevo, te responderemos igualmente.',
  ar: 'تم إلغاء اشتراكك ولن تصلك رسائل أخرى منا. إذا راسلتنا مرة أخرى فسنرد عليك.',
};
