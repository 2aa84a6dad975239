import { describe, expect, it } from 'vitest';
import { matchEscalationWord } from './escalation-words';
import { formatInteractiveId, optionSlug, parseInteractiveId } from './ids';
import { conversationLanguage, detectLanguage } from './language';

describe('escalation words', () => {
  it.each([
    ['Quiero hablar con un HUMANO', 'humano'],
    ['¿Me pasas con un asesor?', 'asesor'],
    ['agente por favor', 'agente'],
    ['Una persona, por favor', 'persona'],
    ['I want a human', 'human'],
    ['Can I talk to an agent?', 'agent'],
    ['operator!', 'operator'],
    ['أريد التحدث مع موظف', 'موظف'],
    ['أريد الموظف', 'موظف'],
    ['هل يوجد إنسان؟', 'انسان'],
    ['أريد شخصاً حقيقياً', 'شخص'],
    ['بدي شخص', 'شخص'],
  ])('"%s" → %s', (text, word) => {
    expect(matchEscalationWord(text)).toBe(word);
  });

  it.each(['personal data', 'mi agenda de mañana', 'humanitarian', 'Hola, ¿a qué hora abrís?', ''])(
    'ignores "%s"',
    (text) => {
      expect(matchEscalationWord(text)).toBeNull();
    },
  );
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
