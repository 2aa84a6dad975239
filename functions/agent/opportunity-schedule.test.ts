import { describe, expect, it } from 'vitest';
import { parseInteractiveId, parseSlotId } from '../../core/agent/ids';
import { type AgentLanguage, OPPORTUNITY_SCHEDULE } from '../../core/agent/language';
import { parseOutboundMessage } from '../../core/messaging/kinds';
import type { Offers } from './booking';
import { staffCardMessage } from './handoff';
import { opportunityCardActions, proposalMessage } from './opportunity-schedule';

/** The opportunity card's builder and the proposal's message, without a database. */

const opportunity = '5f1c7a3e-1234-4abc-8def-0123456789ab';
const languages: AgentLanguage[] = ['es', 'en', 'ar'];

const card = (language: AgentLanguage, schedulable: boolean) =>
  staffCardMessage({
    kind: 'opp',
    targetId: opportunity,
    body: 'Follow-up opportunity\nCustomer: Lucía',
    ...opportunityCardActions(language, schedulable),
  });

describe('the opportunity card', () => {
  it.each(languages)('%s: four actions make a valid WhatsApp list of one section', (language) => {
    const message = card(language, true);
    const parsed = parseOutboundMessage('whatsapp', message);
    expect(parsed.ok).toBe(true);
    if (message.type !== 'list') throw new Error(`a ${message.type}, not a list`);
    expect(message.button).toBe(OPPORTUNITY_SCHEDULE[language].choose);
    expect(message.sections).toHaveLength(1);
    const rows = message.sections[0]?.rows ?? [];
    expect(rows.map((r) => r.id)).toEqual(
      ['accept', 'skip', 'draft', 'schedule'].map((a) => `opp:${opportunity}:${a}`),
    );
    expect(rows[3]?.title).toBe(OPPORTUNITY_SCHEDULE[language].schedule);
  });

  it.each(languages)('%s: without a schedule option it keeps three reply buttons', (language) => {
    const message = card(language, false);
    expect(parseOutboundMessage('whatsapp', message).ok).toBe(true);
    if (message.type !== 'buttons') throw new Error(`a ${message.type}, not buttons`);
    expect(message.buttons.map((b) => b.id)).toEqual(
      ['accept', 'skip', 'draft'].map((a) => `opp:${opportunity}:${a}`),
    );
  });

  it.each(Object.entries(OPPORTUNITY_SCHEDULE))('%s labels fit Meta’s limits', (_, words) => {
    // The list button ≤ 20; the row title fits a reply button too (20 < a row's 24).
    for (const title of [words.choose, words.schedule]) {
      expect([...title].length).toBeGreaterThan(0);
      expect([...title].length).toBeLessThanOrEqual(20);
    }
    expect([...words.scheduleHint].length).toBeLessThanOrEqual(72);
  });

  it('has the Arabic labels', () => {
    expect([OPPORTUNITY_SCHEDULE.ar.choose, OPPORTUNITY_SCHEDULE.ar.schedule]).toEqual([
      'اختر',
      'اقتراح موعد',
    ]);
  });

  it('refuses more than three actions without a list button', () => {
    const { buttons } = opportunityCardActions('en', true);
    expect(() =>
      staffCardMessage({ kind: 'opp', targetId: opportunity, body: 'x', buttons }),
    ).toThrow(/listButton/);
  });
});

describe('the proposal', () => {
  const service = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const staff = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const offers = (count: number): Offers => ({
    service: {
      id: service,
      name: 'Limpieza dental',
      names: { en: 'Teeth cleaning', ar: 'تنظيف الأسنان' },
      bookable: true,
      requiresAssessment: false,
    },
    timeZone: 'Europe/Madrid',
    offers: Array.from({ length: count }, (_, i) => ({
      start: new Date(Date.UTC(2027, 2, 2, 9 + i)),
      end: new Date(Date.UTC(2027, 2, 2, 9 + i, 30)),
      staffId: staff,
    })),
  });

  it('is the booking flow’s offer: a book slot button per time, the times in the body', () => {
    const message = proposalMessage({
      channel: 'whatsapp',
      language: 'es',
      kind: 'recall_due',
      customerName: 'Lucía Pérez',
      offers: offers(3),
    });
    if (message?.type !== 'buttons') throw new Error('not buttons');
    expect(message.body).toBe(
      [
        'Hola Lucía, ya te toca volver para Limpieza dental. Estas son las próximas horas libres:',
        '• martes, 2 de marzo, 10:00',
        '• martes, 2 de marzo, 11:00',
        '• martes, 2 de marzo, 12:00',
        'Elige una y queda reservada.',
      ].join('\n'),
    );
    expect(
      message.buttons.map((b) =>
        parseSlotId(parseInteractiveId(b.id) ?? { kind: '', id: '', action: '' }),
      ),
    ).toEqual(
      offers(3).offers.map((o) => ({
        action: 'book',
        target: service,
        staffId: staff,
        start: o.start,
      })),
    );
  });

  it.each(languages)('%s: valid on every channel, in the customer’s language', (language) => {
    for (const channel of ['whatsapp', 'messenger', 'instagram'] as const) {
      const message = proposalMessage({
        channel,
        language,
        kind: 'price_no_booking',
        customerName: null,
        offers: offers(2),
      });
      expect(message && parseOutboundMessage(channel, message).ok).toBe(true);
    }
    const ar = proposalMessage({
      channel: 'whatsapp',
      language: 'ar',
      kind: 'no_show_or_cancelled',
      customerName: 'أمل',
      offers: offers(1),
    });
    expect(
      ar?.type === 'buttons' &&
        ar.body.startsWith('مرحباً أمل، هل نبحث لك عن موعد جديد لـتنظيف الأسنان؟'),
    ).toBe(true);
  });

  it('is nothing without times', () => {
    expect(
      proposalMessage({
        channel: 'whatsapp',
        language: 'en',
        kind: 'recall_due',
        customerName: 'Ana',
        offers: offers(0),
      }),
    ).toBeNull();
  });
});
