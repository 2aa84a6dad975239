import { describe, expect, it } from 'vitest';
import { templateConsent } from './consent';
import { matchOptOutKeyword } from './opt-out';
import { buildTemplateMessage, type TemplateRecord, templatePlaceholders } from './templates';
import { conversationWindow, windowPermission } from './window';

const HOUR = 60 * 60 * 1000;
const now = new Date('2026-03-10T12:00:00Z');
const ago = (hours: number) => new Date(now.getTime() - hours * HOUR);

describe('windowPermission', () => {
  const permit = (
    channel: 'whatsapp' | 'messenger' | 'instagram' | 'web',
    sender: 'operator' | 'agent' | 'system',
    hours: number | null,
    kind: 'text' | 'template' = 'text',
  ) =>
    windowPermission({
      channel,
      sender,
      kind,
      lastInboundAt: hours === null ? null : ago(hours),
      now,
    });

  it('the web widget: no window at all, for the agent and operators alike', () => {
    expect(permit('web', 'agent', 500)).toEqual({ allowed: true });
    expect(permit('web', 'operator', null)).toEqual({ allowed: true });
    expect(conversationWindow('web', ago(1000), now)).toMatchObject({ open: true, closesAt: null });
  });

  it('WhatsApp: anything within 24 h, only templates after', () => {
    expect(permit('whatsapp', 'agent', 23.9)).toEqual({ allowed: true });
    expect(permit('whatsapp', 'operator', 24)).toMatchObject({
      allowed: false,
      code: 'window_closed',
    });
    expect(permit('whatsapp', 'agent', 100, 'template')).toEqual({ allowed: true });
    expect(permit('whatsapp', 'operator', null)).toMatchObject({
      allowed: false,
      code: 'never_wrote',
    });
  });

  it('Messenger / Instagram: RESPONSE within 24 h, HUMAN_AGENT for operators up to 7 days, never for bots', () => {
    expect(permit('messenger', 'agent', 2)).toEqual({ allowed: true, messagingType: 'RESPONSE' });
    expect(permit('instagram', 'operator', 30)).toEqual({
      allowed: true,
      messagingType: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
    });
    expect(permit('messenger', 'agent', 30)).toMatchObject({
      allowed: false,
      code: 'window_closed',
    });
    expect(permit('messenger', 'system', 30)).toMatchObject({ allowed: false });
    expect(permit('messenger', 'operator', 7 * 24 + 1)).toMatchObject({
      allowed: false,
      code: 'window_closed',
    });
  });

  it('reports when the window closes', () => {
    expect(conversationWindow('whatsapp', ago(1), now)).toEqual({
      open: true,
      closesAt: new Date('2026-03-11T11:00:00Z'),
      humanAgentUntil: null,
      lastInboundAt: ago(1),
    });
  });
});

describe('templateConsent', () => {
  const entry = (scope: string, action: 'opt_in' | 'opt_out', hours: number) => ({
    scope,
    action,
    recordedAt: ago(hours),
  });

  it('MARKETING needs the latest marketing entry to be an opt-in', () => {
    const base = { optedOutAt: null, hasWritten: true };
    expect(templateConsent('MARKETING', { ...base, ledger: [] })).toMatchObject({
      allowed: false,
      code: 'no_opt_in',
    });
    expect(
      templateConsent('MARKETING', { ...base, ledger: [entry('marketing', 'opt_in', 5)] }),
    ).toEqual({ allowed: true });
    expect(
      templateConsent('MARKETING', {
        ...base,
        ledger: [entry('marketing', 'opt_in', 5), entry('marketing', 'opt_out', 1)],
      }),
    ).toMatchObject({ allowed: false, code: 'opted_out' });
    expect(
      templateConsent('MARKETING', { ...base, ledger: [entry('utility', 'opt_in', 1)] }),
    ).toMatchObject({
      allowed: false,
    });
  });

  it('other templates need a contact who wrote or opted in, and no opt-out', () => {
    expect(templateConsent('UTILITY', { optedOutAt: null, hasWritten: true, ledger: [] })).toEqual({
      allowed: true,
    });
    expect(
      templateConsent('UTILITY', { optedOutAt: null, hasWritten: false, ledger: [] }),
    ).toMatchObject({
      code: 'never_wrote',
    });
    expect(
      templateConsent('UTILITY', {
        optedOutAt: null,
        hasWritten: false,
        ledger: [entry('utility', 'opt_in', 1)],
      }),
    ).toEqual({ allowed: true });
    expect(
      templateConsent('UTILITY', { optedOutAt: ago(1), hasWritten: true, ledger: [] }),
    ).toMatchObject({
      code: 'opted_out',
    });
  });
});

describe('matchOptOutKeyword', () => {
  it.each([
    ['STOP', 'en'],
    ['stop.', 'en'],
    ['Stop All', 'en'],
    ['UNSUBSCRIBE', 'en'],
    ['BAJA', 'es'],
    ['dar de baja', 'es'],
    ['Cancelar suscripción', 'es'],
    ['PARAR!!', 'es'],
    ['إيقاف', 'ar'],
    ['ايقاف', 'ar'],
  ])('%j → %s', (text, language) => {
    expect(matchOptOutKeyword(text)).toBe(language);
  });
  it.each(['stop it please', 'cancel', 'end', 'bajar precio', '', null])('%j → null', (text) => {
    expect(matchOptOutKeyword(text)).toBeNull();
  });
});

describe('templates', () => {
  const template: TemplateRecord = {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'promo_with_image',
    language: 'es',
    status: 'APPROVED',
    category: 'MARKETING',
    parameterFormat: 'POSITIONAL',
    components: [
      { type: 'HEADER', format: 'IMAGE' },
      { type: 'BODY', text: 'Hola {{1}}, {{2}} de descuento.' },
      {
        type: 'BUTTONS',
        buttons: [
          { type: 'URL', text: 'Ver', url: 'https://shop.example/p/{{1}}' },
          { type: 'QUICK_REPLY', text: 'No gracias' },
        ],
      },
    ],
  };

  it('finds header, body and button placeholders', () => {
    expect(templatePlaceholders(template)).toEqual({
      format: 'POSITIONAL',
      header: { format: 'IMAGE', placeholders: ['image'] },
      body: ['1', '2'],
      buttons: [
        { index: 0, type: 'URL', text: 'Ver', placeholders: ['1'] },
        { index: 1, type: 'QUICK_REPLY', text: 'No gracias', placeholders: [] },
      ],
      count: 4,
    });
  });

  it('builds the components Graph expects, in order', () => {
    const built = buildTemplateMessage(template, {
      header: { image: { link: 'https://cdn.example/p.png' } },
      body: ['Ana', '20%'],
      buttons: [
        { index: 0, text: 'spring' },
        { index: 1, payload: 'promo:stop' },
      ],
    });
    expect(built).toEqual({
      ok: true,
      preview: 'Hola Ana, 20% de descuento.',
      message: {
        type: 'template',
        template_id: template.id,
        name: 'promo_with_image',
        language: 'es',
        components: [
          {
            type: 'header',
            parameters: [{ type: 'image', image: { link: 'https://cdn.example/p.png' } }],
          },
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Ana' },
              { type: 'text', text: '20%' },
            ],
          },
          {
            type: 'button',
            sub_type: 'url',
            index: 0,
            parameters: [{ type: 'text', text: 'spring' }],
          },
          {
            type: 'button',
            sub_type: 'quick_reply',
            index: 1,
            parameters: [{ type: 'payload', payload: 'promo:stop' }],
          },
        ],
      },
    });
  });

  it('names every missing piece', () => {
    const built = buildTemplateMessage(template, ['Ana']);
    expect(built.ok).toBe(false);
    const error = (built as { error: string }).error;
    expect(error).toContain("parameters.header: the template's header is an image");
    expect(error).toContain("parameters.body: the template's body takes 2 parameter(s)");
    expect(error).toContain('button 0 ("Ver") is a link that needs its text parameter');
  });
});
