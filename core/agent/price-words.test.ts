import { describe, expect, it } from 'vitest';
import { asksAboutPrice } from './price-words';

describe('price questions', () => {
  it.each([
    '¿Cuánto cuesta el corte?',
    'CUÁNTO VALE la limpieza',
    'Precio del tinte?',
    'me pasas las tarifas',
    '¿Cuál es el costo?',
    'How much is a haircut?',
    "What's the price",
    'Can I get a quote for the whole family',
    'كم سعر قص الشعر؟',
    'بكم التنظيف',
    'الأسعار من فضلك',
    'كم تكلفة الجلسة',
  ])('finds a price question in %j', (text) => {
    expect(asksAboutPrice(text)).toBe(true);
  });

  it.each([
    'Hola, ¿abren el sábado?',
    'Vivo en la costa',
    'I feel much better, thanks',
    'Is the free parking open?',
    'مرحبا، هل أنتم مفتوحون اليوم؟',
    '',
  ])('finds none in %j', (text) => {
    expect(asksAboutPrice(text)).toBe(false);
  });

  it('finds none in no text', () => {
    expect(asksAboutPrice(null)).toBe(false);
  });
});
