import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../db/agent';
import { DEFAULT_SETTINGS } from '../../db/settings';
import { buildHistory, HISTORY_TOKEN_BUDGET, renderMessage } from './history';
import { buildInstructions, describeHours, localNow } from './instructions';
import { splitText } from './turn';

let seq = 0;
function row(overrides: Partial<HistoryRow>): HistoryRow {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    tenantId: 't',
    conversationId: 'c',
    channelAccountId: 'a',
    direction: 'inbound',
    sender: 'user',
    type: 'text',
    content: null,
    attachments: [],
    payload: {},
    providerMessageId: `wamid.${seq}`,
    providerTimestamp: new Date(1_700_000_000_000 + seq * 1000),
    receivedAt: new Date(),
    status: 'received',
    errorCode: null,
    errorReason: null,
    correlationId: null,
    replyToProviderMessageId: null,
    updatedAt: new Date(),
    ...overrides,
  };
}

const noMedia = { mediaText: () => null, textOf: () => null };

describe('history', () => {
  it('keeps order, maps roles, skips what the customer never saw and describes the rest', () => {
    const rows = [
      row({ content: 'Hola' }),
      row({
        direction: 'outbound',
        sender: 'agent',
        content: '¡Hola! ¿En qué te ayudo?',
        status: 'read',
      }),
      row({
        direction: 'outbound',
        sender: 'agent',
        content: 'cancelled one',
        status: 'cancelled',
      }),
      row({
        direction: 'outbound',
        sender: 'system',
        type: 'note',
        content: 'internal',
        status: 'received',
      }),
      row({ direction: 'outbound', sender: 'operator', content: 'Soy Marta', status: 'sent' }),
      row({
        type: 'reaction',
        content: '👍',
        payload: { reaction: { target: 'wamid.x', emoji: '👍' } },
      }),
      row({ type: 'interactive', content: 'Martes 10:00' }),
      row({
        type: 'image',
        content: 'mi diente',
        attachments: [{ kind: 'image', mimeType: 'image/png' }],
      }),
    ];
    const history = buildHistory(rows, {
      mediaText: (id, index) => (id === rows[7]?.id && index === 0 ? '[image: a tooth]' : null),
      textOf: (p) => (p === 'wamid.x' ? '¿Te va bien el martes a las 10?' : null),
    });
    expect(history.messages).toEqual([
      { role: 'user', content: 'Hola' },
      { role: 'assistant', content: '¡Hola! ¿En qué te ayudo?' },
      { role: 'assistant', content: '[team member] Soy Marta' },
      { role: 'user', content: '[the customer reacted 👍 to: "¿Te va bien el martes a las 10?"]' },
      { role: 'user', content: '[the customer tapped "Martes 10:00"]' },
      { role: 'user', content: '[image: a tooth]\nmi diente' },
    ]);
    expect(history.customerTexts[0]).toBe('mi diente');
  });

  it('trims old messages to the token budget but keeps every unanswered customer message', () => {
    // Each message is cut at MESSAGE_CHAR_MAX (2,000 characters ≈ 500 tokens).
    const old = Array.from({ length: 12 }, (_, i) =>
      row({ content: `old ${i} ${'x'.repeat(3000)}` }),
    );
    const rows = [
      ...old,
      row({ direction: 'outbound', sender: 'agent', content: 'answer', status: 'read' }),
      ...Array.from({ length: 8 }, (_, i) => row({ content: `new ${i} ${'y'.repeat(3000)}` })),
    ];
    const history = buildHistory(rows, noMedia);
    const heads = history.messages.map((m) => String(m.content).split(' ').slice(0, 2).join(' '));
    // All eight unanswered messages are kept although they alone exceed the budget…
    expect(heads).toEqual(Array.from({ length: 8 }, (_, i) => `new ${i}`));
    expect(history.estimatedTokens).toBeGreaterThan(HISTORY_TOKEN_BUDGET);
    // …and with fewer of them, older messages fill the budget newest first.
    const fewer = buildHistory([...old, rows[12] as HistoryRow, rows[13] as HistoryRow], noMedia);
    const kept = fewer.messages.map((m) => String(m.content).split(' ').slice(0, 2).join(' '));
    expect(kept.at(-1)).toBe('new 0');
    expect(kept.at(-2)).toBe('answer');
    expect(kept).not.toContain('old 0');
    expect(kept).toContain('old 11');
    expect(fewer.estimatedTokens).toBeLessThanOrEqual(HISTORY_TOKEN_BUDGET);
  });

  it('renders a reaction removal and a deleted message', () => {
    expect(renderMessage(row({ type: 'reaction', content: null }), noMedia)).toBe(
      '[the customer removed their reaction]',
    );
    expect(renderMessage(row({ content: null, payload: { deleted: {} } }), noMedia)).toBe(
      '[the customer deleted a message]',
    );
  });
});

describe('instructions', () => {
  it("carry the settings, today's date in the tenant's zone and the customer's language", () => {
    const now = new Date('2026-03-03T23:30:00Z');
    const text = buildInstructions({
      tenantName: 'Clínica Sonrisa',
      settings: {
        ...DEFAULT_SETTINGS,
        timeZone: 'Europe/Madrid',
        persona: 'Amable y breve',
        businessDescription: 'Dental clinic',
        agentInstructions: 'Never give medical advice.',
        businessHours: { mon: [['09:00', '14:00']], sun: [] },
      },
      channel: 'whatsapp',
      language: 'ar',
      now,
      customerName: 'Ana',
    });
    expect(text).toContain('virtual assistant of Clínica Sonrisa, answering customers on WhatsApp');
    expect(text).toContain('Persona: Amable y breve');
    expect(text).toContain('About the business: Dental clinic');
    expect(text).toContain('Monday: 09:00–14:00\nSunday: closed');
    // 23:30 UTC on 3 March is already Wednesday 4 March in Madrid.
    expect(text).toContain('Now it is Wednesday, 4 March 2026 at 00:30 (time zone Europe/Madrid)');
    expect(text).toContain('Never give medical advice.');
    expect(text).toContain('Arabic (ar)');
  });

  it('falls back to UTC for an unknown time zone', () => {
    expect(localNow(new Date('2026-03-03T10:00:00Z'), 'Mars/Olympus')).toContain('10:00');
    expect(describeHours({})).toBeNull();
  });
});

describe('splitText', () => {
  it('splits long answers at paragraph or sentence boundaries within the channel limit', () => {
    const sentence = 'Esta es una frase de prueba bastante larga. ';
    const text = sentence.repeat(100);
    const parts = splitText(text, 'messenger');
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect([...part].length).toBeLessThanOrEqual(2000);
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(text.trim().replace(/\s+/g, ' '));
    expect(splitText('corto', 'whatsapp')).toEqual(['corto']);
    expect(splitText('', 'whatsapp')).toEqual([]);
    for (const part of splitText('ب'.repeat(900), 'instagram')) {
      expect(new TextEncoder().encode(part).length).toBeLessThanOrEqual(1000);
    }
  });
});
