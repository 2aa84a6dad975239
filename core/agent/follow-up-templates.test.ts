import { describe, expect, it } from 'vitest';
import type { ConsentFacts } from '../messaging/consent';
import {
  chooseFollowUpTemplate,
  type FollowUpFacts,
  type FollowUpTemplate,
  followUpCategories,
  followUpParameters,
  isFollowUpTemplateName,
  serviceOfEvidence,
} from './follow-up-templates';

const ACCOUNT = 'acct-1';

function template(overrides: Partial<FollowUpTemplate> & { body?: string }): FollowUpTemplate {
  const { body, ...rest } = overrides;
  return {
    id: crypto.randomUUID(),
    name: 'follow_up_offer',
    language: 'es',
    status: 'APPROVED',
    category: 'MARKETING',
    parameterFormat: 'NAMED',
    channelAccountId: ACCOUNT,
    components: [
      {
        type: 'BODY',
        text: body ?? 'Hola {{first_name}}, somos {{business}}. ¿Te reservamos cita?',
      },
    ],
    ...rest,
  };
}

const facts = (overrides: Partial<FollowUpFacts> = {}): FollowUpFacts => ({
  kind: 'price_no_booking',
  contactName: 'Lucía Pérez',
  businessName: 'Clínica Sonrisa',
  service: null,
  ...overrides,
});

const wrote: ConsentFacts = { optedOutAt: null, hasWritten: true, ledger: [] };
const marketingOptIn: ConsentFacts = {
  ...wrote,
  ledger: [{ scope: 'marketing', action: 'opt_in', recordedAt: new Date('2027-01-01') }],
};

const choose = (
  templates: FollowUpTemplate[],
  options: { facts?: FollowUpFacts; consent?: ConsentFacts; customer?: 'es' | 'en' | 'ar' } = {},
) =>
  chooseFollowUpTemplate({
    templates,
    channelAccountId: ACCOUNT,
    facts: options.facts ?? facts(),
    consent: options.consent ?? marketingOptIn,
    customerLanguage: options.customer ?? 'es',
    businessLanguage: 'en',
  });

describe('follow-up templates: which may be used', () => {
  it('knows its templates by name', () => {
    expect(isFollowUpTemplateName('follow_up')).toBe(true);
    expect(isFollowUpTemplateName('follow_up_recall_due')).toBe(true);
    expect(isFollowUpTemplateName('follow_upper')).toBe(false);
    expect(isFollowUpTemplateName('order_shipped')).toBe(false);
  });

  it('offers to book only with marketing templates; a pending request may use utility', () => {
    expect(followUpCategories('price_no_booking')).toEqual(['MARKETING']);
    expect(followUpCategories('recall_due')).toEqual(['MARKETING']);
    expect(followUpCategories('no_show_or_cancelled')).toEqual(['MARKETING']);
    expect(followUpCategories('quiet_after_handoff')).toEqual(['UTILITY', 'MARKETING']);
  });

  it('fills first_name, business and service; refuses what it cannot fill', () => {
    expect(followUpParameters(template({}), facts())).toEqual({
      first_name: 'Lucía',
      business: 'Clínica Sonrisa',
    });
    // No name: a word in the template's language.
    expect(followUpParameters(template({}), facts({ contactName: null }))).toEqual({
      first_name: 'cliente',
      business: 'Clínica Sonrisa',
    });
    const withService = template({ body: 'Hola {{first_name}}, ¿repetimos {{service}}?' });
    expect(followUpParameters(withService, facts())).toBeNull();
    expect(followUpParameters(withService, facts({ service: 'Limpieza' }))).toEqual({
      first_name: 'Lucía',
      service: 'Limpieza',
    });
    expect(followUpParameters(template({ body: 'Hola {{coupon}}' }), facts())).toBeNull();
    // Positional: what {{1}} means is the business's, not ours.
    const positional = template({ parameterFormat: 'POSITIONAL', body: 'Hola {{1}}' });
    expect(followUpParameters(positional, facts())).toBeNull();
    expect(
      followUpParameters(template({ parameterFormat: 'POSITIONAL', body: 'Hola' }), facts()),
    ).toEqual({});
  });

  it('reads the service from an appointment’s evidence only', () => {
    expect(serviceOfEvidence('recall_due', 'Limpieza · 2027-01-01 10:00')).toBe('Limpieza');
    expect(
      serviceOfEvidence('no_show_or_cancelled', 'Ortodoncia · 2027-01-01 10:00 · no_show'),
    ).toBe('Ortodoncia');
    expect(serviceOfEvidence('price_no_booking', 'Limpieza · cuánto')).toBeNull();
  });
});

describe('chooseFollowUpTemplate', () => {
  it('fills an approved marketing template for a customer who opted in to marketing', () => {
    const chosen = choose([template({})]);
    expect(chosen).toMatchObject({
      ok: true,
      preview: 'Hola Lucía, somos Clínica Sonrisa. ¿Te reservamos cita?',
      message: {
        type: 'template',
        name: 'follow_up_offer',
        language: 'es',
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Lucía', parameter_name: 'first_name' },
              { type: 'text', text: 'Clínica Sonrisa', parameter_name: 'business' },
            ],
          },
        ],
      },
    });
  });

  it('refuses marketing without a recorded opt-in (or after an opt-out of marketing)', () => {
    expect(choose([template({})], { consent: wrote })).toMatchObject({
      ok: false,
      code: 'no_marketing_opt_in',
    });
    const optedOut: ConsentFacts = {
      ...wrote,
      ledger: [
        ...marketingOptIn.ledger,
        { scope: 'marketing', action: 'opt_out', recordedAt: new Date('2027-02-01') },
      ],
    };
    expect(choose([template({})], { consent: optedOut })).toMatchObject({
      ok: false,
      code: 'no_marketing_opt_in',
    });
  });

  it('has no usable template when none is approved, named, of this number, or of the right kind', () => {
    const unusable = [
      template({ status: 'PAUSED' }),
      template({ status: 'PENDING' }),
      template({ name: 'spring_sale' }),
      template({ channelAccountId: 'another-number' }),
      // Utility cannot carry an offer to book.
      template({ category: 'UTILITY' }),
      template({ body: 'Hola {{coupon}}' }),
    ];
    expect(choose(unusable)).toMatchObject({ ok: false, code: 'no_approved_template' });
    expect(choose([])).toMatchObject({ ok: false, code: 'no_approved_template' });
  });

  it('answers a pending request with a utility template, without an opt-in', () => {
    const utility = template({
      name: 'follow_up_pending',
      category: 'UTILITY',
      body: 'Hola {{first_name}}, seguimos con tu consulta.',
    });
    const chosen = choose([template({}), utility], {
      facts: facts({ kind: 'quiet_after_handoff' }),
      consent: wrote,
    });
    expect(chosen).toMatchObject({ ok: true, template: { name: 'follow_up_pending' } });
    // With an opt-in both are allowed; utility still comes first.
    expect(
      choose([template({}), utility], { facts: facts({ kind: 'quiet_after_handoff' }) }),
    ).toMatchObject({ ok: true, template: { name: 'follow_up_pending' } });
  });

  it('prefers the customer’s language, then the business’s, then a template named for the kind', () => {
    const es = template({ language: 'es' });
    const en = template({ language: 'en_US', body: 'Hi {{first_name}}, book with {{business}}?' });
    const ar = template({ language: 'ar', body: 'مرحبا {{first_name}}' });
    expect(choose([en, es, ar])).toMatchObject({ ok: true, template: { language: 'es' } });
    expect(choose([en, es, ar], { customer: 'ar' })).toMatchObject({
      ok: true,
      template: { language: 'ar' },
    });
    // No Arabic one: the business's language (English) before Spanish.
    expect(choose([es, en], { customer: 'ar' })).toMatchObject({
      ok: true,
      template: { language: 'en_US' },
      preview: 'Hi Lucía, book with Clínica Sonrisa?',
    });
    const forKind = template({ name: 'follow_up_price_no_booking' });
    expect(choose([es, forKind])).toMatchObject({
      ok: true,
      template: { name: 'follow_up_price_no_booking' },
    });
  });
});
