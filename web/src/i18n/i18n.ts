import { computed, signal } from '@preact/signals';
import { ar } from './ar';
import { en, type Messages } from './en';
import { es } from './es';

/**
 * The page chrome in English, Spanish or Arabic: a dictionary per language, English the
 * reference (a key missing elsewhere fails the type check). Dates and times are not here: they
 * use the browser's own locale through Intl.
 */
export const LANGUAGES = { en, es, ar } as const;
export type Language = keyof typeof LANGUAGES;
export type MessageKey = keyof Messages;

const STORAGE_KEY = 'switchboard.language';

const isLanguage = (value: string | null | undefined): value is Language =>
  !!value && value in LANGUAGES;

/** The operator's choice if they made one, else the first of the browser's languages we have. */
function initialLanguage(): Language {
  const chosen = localStorage.getItem(STORAGE_KEY);
  if (isLanguage(chosen)) return chosen;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLanguage(base)) return base;
  }
  return 'en';
}

export const language = signal<Language>(initialLanguage());
export const direction = computed(() => (language.value === 'ar' ? 'rtl' : 'ltr'));

export function chooseLanguage(next: Language) {
  localStorage.setItem(STORAGE_KEY, next);
  language.value = next;
}

/** `t('windowOpenUntil', { time })`: the message in the current language, `{name}`s filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const message: string = LANGUAGES[language.value][key] ?? en[key];
  return message.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ''));
}

/** Date and time of an instant in the browser's locale (undefined: Intl picks it). */
export const dateTime = (iso: string | null | undefined) =>
  iso
    ? new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(
        new Date(iso),
      )
    : '';

/** "14:05" today, "Mon" this week, else "3 Nov": the chat list's compact time. */
export function shortTime(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '';
  const when = new Date(iso);
  const hours = (now.getTime() - when.getTime()) / 3_600_000;
  const options: Intl.DateTimeFormatOptions =
    when.toDateString() === now.toDateString()
      ? { hour: 'numeric', minute: '2-digit' }
      : hours < 24 * 6
        ? { weekday: 'short' }
        : { day: 'numeric', month: 'short' };
  return new Intl.DateTimeFormat(undefined, options).format(when);
}

/**
 * US dollars in the page's language: cents, or three significant digits for less than a cent
 * (an AI run costs fractions of one).
 */
export function usd(value: number): string {
  const small = value > 0 && value < 0.01;
  return new Intl.NumberFormat(language.value, {
    style: 'currency',
    currency: 'USD',
    ...(small
      ? { maximumSignificantDigits: 3 }
      : { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  }).format(value);
}
