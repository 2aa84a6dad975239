/**
 * Which free slots the agent offers a customer, and how a time reads to them. Pure, no I/O.
 *
 * A customer asking for "Tuesday morning" is offered a few times, not every 15-minute start: the
 * first free start, then the next one at least `spreadMinutes` later, and so on; if that leaves
 * fewer than `limit`, the closest remaining starts fill up. Morning is before 12:00 local,
 * afternoon from 12:00.
 */
import { wallClockLabel } from './availability';

export type PartOfDay = 'morning' | 'afternoon' | 'any';

/** A start time offered with the staff member who would do it (the first free one). */
export type Offer = { start: Date; end: Date; staffId: string };

export function pickOffers(
  slots: ReadonlyArray<{ start: Date; end: Date; staffIds: readonly string[] }>,
  options: { timeZone: string; partOfDay: PartOfDay; limit: number; spreadMinutes: number },
): Offer[] {
  const candidates = slots.filter((slot) => {
    if (options.partOfDay === 'any') return true;
    const hour = Number(wallClockLabel(slot.start.getTime(), options.timeZone).slice(11, 13));
    return options.partOfDay === 'morning' ? hour < 12 : hour >= 12;
  });
  const spread = options.spreadMinutes * 60_000;
  const picked: typeof candidates = [];
  for (const slot of candidates) {
    if (picked.length >= options.limit) break;
    const last = picked.at(-1);
    if (!last || slot.start.getTime() >= last.start.getTime() + spread) picked.push(slot);
  }
  for (const slot of candidates) {
    if (picked.length >= options.limit) break;
    if (!picked.includes(slot)) picked.push(slot);
  }
  return picked
    .sort((a, b) => a.start.getTime() - b.start.getTime())
    .map((slot) => ({ start: slot.start, end: slot.end, staffId: slot.staffIds[0] as string }));
}

const LOCALES: Record<string, string> = { es: 'es-ES', en: 'en-GB', ar: 'ar' };

/** The longest label a reply button (20 characters) or quick reply title takes. */
export const SLOT_LABEL_MAX = 20;

/**
 * A slot as a button title in the customer's language and the tenant's zone, at most 20
 * characters: "mar, 2 mar, 10:00", "Tue 2 Mar, 10:00"; shorter forms when a language's names
 * are long (Arabic weekdays).
 */
export function slotLabel(start: Date, timeZone: string, language: string): string {
  const locale = LOCALES[language] ?? 'en-GB';
  const time = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } as const;
  const forms: Intl.DateTimeFormatOptions[] = [
    { weekday: 'short', day: 'numeric', month: 'short', ...time },
    { weekday: 'short', day: 'numeric', ...time },
    { weekday: 'short', ...time },
    { day: 'numeric', month: 'numeric', ...time },
  ];
  let label = '';
  for (const form of forms) {
    label = new Intl.DateTimeFormat(locale, { timeZone, ...form }).format(start);
    if ([...label].length <= SLOT_LABEL_MAX) return label;
  }
  return [...label].slice(0, SLOT_LABEL_MAX).join('');
}

/** A time in full, for sentences: "martes, 2 de marzo, 10:00", "Tuesday 2 March at 10:00". */
export function longTimeLabel(start: Date, timeZone: string, language: string): string {
  return new Intl.DateTimeFormat(LOCALES[language] ?? 'en-GB', {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(start);
}
