import { describe, expect, it } from 'vitest';
import { matchEscalationWord } from './escalation-words';
import {
  formatInteractiveId,
  formatSlotId,
  type InteractiveId,
  optionSlug,
  parseInteractiveId,
  parseSlotId,
} from './ids';
import {
  APPROVAL_CARD,
  conversationLanguage,
  detectLanguage,
  OPPORTUNITY_CARD,
  tenantLanguage,
} from './language';

describe('escalation words', () => {
  // Requests for a person, in es/en/ar, and messages that are essentially just the word.
  it.each([
    ['Quiero hablar con un HUMANO', 'humano'],
    ['quiero hablar con una persona', 'persona'],
    ['¿Me pasas con un asesor?', 'asesor'],
    ['pásame con un humano', 'humano'],
    ['¿Me puedes pasar con alguien del equipo?', 'alguien'],
    ['necesito un asesor', 'asesor'],
    ['un asesor por favor', 'asesor'],
    ['agente por favor', 'agente'],
    ['Una persona, por favor', 'persona'],
    ['humano', 'humano'],
    ['¿Un asesor?', 'asesor'],
    ['Prefiero que me atienda una persona', 'persona'],
    ['¿Hay algún humano ahí?', 'humano'],
    ['talk to a human', 'human'],
    ['I want a human', 'human'],
    ['Can I talk to an agent?', 'agent'],
    ['can I speak to someone?', 'someone'],
    ['Can I speak to a real person please', 'person'],
    ['agent please', 'agent'],
    ['human', 'human'],
    ['operator!', 'operator'],
    ['Please connect me with a representative', 'representative'],
    ['أريد التحدث مع موظف', 'موظف'],
    ['ممكن أكلم شخص', 'شخص'],
    ['موظف من فضلك', 'موظف'],
    ['موظف', 'موظف'],
    ['أريد الموظف', 'موظف'],
    ['هل يوجد إنسان؟', 'انسان'],
    ['أريد شخصاً حقيقياً', 'شخص'],
    ['بدي شخص', 'شخص'],
    ['حوّلني إلى موظف لو سمحت', 'موظف'],
  ])('"%s" asks for a person (%s)', (text, word) => {
    expect(matchEscalationWord(text)).toBe(word);
  });

  // Ordinary questions that mention people or agents: the agent answers them.
  it.each([
    '¿Puedo ir con dos personas a la cita?',
    '¿Atendéis a personas mayores?',
    '¿Atendéis a personas con discapacidad?',
    'Quiero reservar para una persona',
    '¿Cuánto cuesta por persona?',
    '¿Hay alguien disponible el martes por la tarde?',
    'Mi agente de seguros me recomendó este sitio',
    'Is your agent booking system online?',
    'How many people can come?',
    'my travel agent booked it',
    'Is the price per person?',
    'Can I bring a person with me?',
    'هل تقبلون الأشخاص كبار السن؟',
    'أريد حجز موعد لشخص واحد',
    'كم السعر للشخص الواحد؟',
    'الموظف كان لطيفاً جداً',
    'personal data',
    'mi agenda de mañana',
    'humanitarian',
    'Hola, ¿a qué hora abrís?',
    '',
  ])('does not escalate "%s"', (text) => {
    expect(matchEscalationWord(text)).toBeNull();
  });
});

describe('id grammar', () => {
  it('parses kind:{id}:action and refuses anything else', () => {
    const id = '5f1c7a3e-1234-4abc-8def-0123456789ab';
    expect(parseInteractiveId(`msg:${id}:approve`)).toEqual({ kind: 'msg', id, action: 'approve' });
    expect(parseInteractiveId('opt:tuesday-10am:pick')).toEqual({
      kind: 'opt',
      id: 'tuesday-10am',
      action: 'pick',
    });
    for (const bad of [
      'Yes',
      'msg::approve',
      'msg:x',
      'MSG:x:approve',
      'a:b:c:d',
      'msg:x y:approve',
      '',
    ]) {
      expect(parseInteractiveId(bad)).toBeNull();
    }
    expect(formatInteractiveId('conv', id, 'take')).toBe(`conv:${id}:take`);
    expect(() => formatInteractiveId('conv', 'has space', 'take')).toThrow();
  });

  it('makes stable option slugs, also from titles without ASCII letters', () => {
    expect(optionSlug('Martes 10:00')).toBe('martes-10-00');
    expect(optionSlug('Martes 10:00')).toBe(optionSlug('Martes 10:00'));
    expect(optionSlug('الثلاثاء')).toMatch(/^o[0-9a-z]+$/);
    expect(optionSlug('الثلاثاء')).toBe(optionSlug('الثلاثاء'));
    expect(optionSlug('الثلاثاء')).not.toBe(optionSlug('الأربعاء'));
  });
});

describe('language', () => {
  it.each([
    ['Hola, ¿a qué hora abrís?', 'es'],
    ['What time do you open?', 'en'],
    ['متى تفتحون؟', 'ar'],
    ['quiero una cita', 'es'],
    ['ok', null],
    ['👍', null],
  ])('"%s" → %s', (text, language) => {
    expect(detectLanguage(text)).toBe(language);
  });

  it('takes the newest message that says something', () => {
    expect(conversationLanguage(['👍', 'thanks, see you', 'hola'])).toBe('en');
    expect(conversationLanguage(['ok'], 'es')).toBe('es');
  });
});

describe('slot ids', () => {
  const service = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const staff = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const start = new Date('2027-03-02T09:15:00Z');

  it('round-trips within the grammar and every channel limit', () => {
    const id = formatSlotId({ action: 'book', target: service, staffId: staff, start });
    expect(id).toBe(`slot:${service}.${staff}.${start.getTime() / 60_000}:book`);
    expect(id.length).toBeLessThanOrEqual(95);
    const parsed = parseInteractiveId(id);
    expect(parsed && parseSlotId(parsed)).toEqual({
      action: 'book',
      target: service,
      staffId: staff,
      start,
    });
    const move = formatSlotId({ action: 'move', target: service, staffId: staff, start });
    expect(parseSlotId(parseInteractiveId(move) as InteractiveId)?.action).toBe('move');
  });

  it.each([
    `slot:${service}.${staff}.123:pick`,
    `slot:${service}.123:book`,
    `slot:${service}.${staff}.12.3:book`,
    `slot:nope.${staff}.123:book`,
    `opt:${service}.${staff}.123:book`,
  ])('refuses %s', (raw) => {
    const parsed = parseInteractiveId(raw);
    expect(parsed === null || parseSlotId(parsed) === null).toBe(true);
  });
});

describe('the staff approval card', () => {
  it.each(Object.entries(APPROVAL_CARD))('%s button titles fit Meta’s 20 characters', (_, card) => {
    for (const title of [card.approve, card.edit, card.cancel]) {
      expect([...title].length).toBeGreaterThan(0);
      expect([...title].length).toBeLessThanOrEqual(20);
    }
  });

  it('is in the language the tenant writes its settings in, else the conversation’s', () => {
    expect(tenantLanguage(['عيادة أسنان في دبي', ''], 'en')).toBe('ar');
    expect(tenantLanguage(['Clínica dental, abierta de lunes a viernes'], 'en')).toBe('es');
    expect(tenantLanguage(['', null], 'es')).toBe('es');
  });
});

describe('the staff opportunity card', () => {
  it.each(Object.entries(OPPORTUNITY_CARD))(
    '%s button titles fit Meta’s 20 characters',
    (_, card) => {
      for (const title of [card.accept, card.skip, card.draft]) {
        expect([...title].length).toBeGreaterThan(0);
        expect([...title].length).toBeLessThanOrEqual(20);
      }
    },
  );

  it('has the Arabic titles of the product’s WhatsApp flow', () => {
    const { accept, skip, draft } = OPPORTUNITY_CARD.ar;
    expect([accept, skip, draft]).toEqual(['قبول', 'تخطي', 'رسالة']);
  });
});
