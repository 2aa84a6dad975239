import { describe, expect, it } from 'vitest';
import { longTimeLabel, pickOffers, SLOT_LABEL_MAX, slotLabel } from './offer';

const at = (hhmm: string) => new Date(`2027-03-02T${hhmm}:00+01:00`);
/** Every 15 minutes from 9:00 to 17:45, Madrid (UTC+1 in March 2027), Ana then Ben. */
const day = Array.from({ length: 36 }, (_, i) => {
  const start = new Date(at('09:00').getTime() + i * 15 * 60_000);
  return { start, end: new Date(start.getTime() + 30 * 60_000), staffIds: ['ana', 'ben'] };
});
const times = (offers: Array<{ start: Date }>) =>
  offers.map((o) => o.start.toLocaleTimeString('es-ES', { timeZone: 'Europe/Madrid' }));

describe('pickOffers', () => {
  it('offers spread-out starts in the part of the day asked for, with the first free staff', () => {
    const morning = pickOffers(day, {
      timeZone: 'Europe/Madrid',
      partOfDay: 'morning',
      limit: 3,
      spreadMinutes: 60,
    });
    expect(times(morning)).toEqual(['9:00:00', '10:00:00', '11:00:00']);
    expect(morning.map((o) => o.staffId)).toEqual(['ana', 'ana', 'ana']);
    const afternoon = pickOffers(day, {
      timeZone: 'Europe/Madrid',
      partOfDay: 'afternoon',
      limit: 2,
      spreadMinutes: 60,
    });
    expect(times(afternoon)).toEqual(['12:00:00', '13:00:00']);
  });

  it('fills up with closer starts when spreading leaves too few', () => {
    const late = day.slice(-4);
    const offers = pickOffers(late, {
      timeZone: 'Europe/Madrid',
      partOfDay: 'any',
      limit: 3,
      spreadMinutes: 60,
    });
    expect(times(offers)).toEqual(['17:00:00', '17:15:00', '17:30:00']);
  });
});

describe('labels', () => {
  it('fits a button title in every language', () => {
    expect(slotLabel(at('10:00'), 'Europe/Madrid', 'es')).toBe('mar, 2 mar, 10:00');
    expect(slotLabel(at('10:00'), 'Europe/Madrid', 'en')).toBe('Tue 2 Mar, 10:00');
    const arabic = slotLabel(at('10:00'), 'Europe/Madrid', 'ar');
    expect([...arabic].length).toBeLessThanOrEqual(SLOT_LABEL_MAX);
    expect(arabic).toContain('الثلاثاء');
  });

  it('reads a time in full for sentences, in the tenant zone', () => {
    expect(longTimeLabel(at('10:00'), 'Europe/Madrid', 'es')).toBe('martes, 2 de marzo, 10:00');
    expect(longTimeLabel(at('10:00'), 'America/New_York', 'en')).toBe('Tuesday 2 March at 04:00');
  });
});
