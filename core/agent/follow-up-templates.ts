import { type ConsentFacts, templateConsent } from '../messaging/consent';
import type { WhatsAppMessage } from '../messaging/kinds';
import {
  buildTemplateMessage,
  type TemplateRecord,
  templatePlaceholders,
} from '../messaging/templates';
import type { AgentLanguage } from './language';

/**
 * Follow-ups outside WhatsApp's 24-hour window (docs/follow-ups.md): only an approved template may
 * be sent there, so the follow-up's draft proposes one of the business's own follow-up templates
 * with its parameters filled. Pure: the caller reads the templates and the consent ledger.
 *
 * Which templates: those named `follow_up` or `follow_up_…` (the business names them so when it
 * submits them to Meta, as `appointment_reminder` is named for reminders), APPROVED, of the
 * conversation's WhatsApp number, whose placeholders we can fill: named `first_name`, `business`
 * and `service` (the service only when the opportunity names one).
 *
 * Which categories, by Meta's rules: a message that invites the customer to book, come back or
 * rebook is promotional, so it is a MARKETING template, whatever category it was submitted under
 * (Meta re-categorises promotional "utility" templates), and marketing needs the customer's
 * recorded opt-in to marketing. A UTILITY template is honest only for `quiet_after_handoff`: the
 * business still owes the customer an answer to a request they made. Every other kind takes
 * MARKETING templates only.
 */

/** The opportunity kinds (db/schema/opportunities.ts), repeated here to keep core free of db. */
export type FollowUpKind =
  | 'price_no_booking'
  | 'recall_due'
  | 'no_show_or_cancelled'
  | 'quiet_after_handoff';

export const FOLLOW_UP_TEMPLATE_PREFIX = 'follow_up';

export function isFollowUpTemplateName(name: string): boolean {
  return name === FOLLOW_UP_TEMPLATE_PREFIX || name.startsWith(`${FOLLOW_UP_TEMPLATE_PREFIX}_`);
}

/** The template categories a follow-up of this kind may honestly use (see above). */
export function followUpCategories(kind: FollowUpKind): string[] {
  return kind === 'quiet_after_handoff' ? ['UTILITY', 'MARKETING'] : ['MARKETING'];
}

/** What the placeholders are filled from. */
export type FollowUpFacts = {
  kind: FollowUpKind;
  /** The contact's name as stored (its first word is the `first_name`); null: a generic word. */
  contactName: string | null;
  /** The business's name (`business`). */
  businessName: string;
  /** The service the opportunity is about (`service`), when it names one. */
  service: string | null;
};

/** `first_name` when the contact has no name (as the appointment notices say it). */
const CUSTOMER_WORD: Record<AgentLanguage, string> = { es: 'cliente', en: 'there', ar: 'عميلنا' };

const languageOfLocale = (locale: string): AgentLanguage => {
  const code = locale.slice(0, 2).toLowerCase();
  return code === 'en' || code === 'ar' ? code : 'es';
};

/**
 * The template's body values from the facts, or null when it needs one we cannot fill (an
 * unknown name, a positional `{{1}}` whose meaning we cannot know, a header or button parameter).
 */
export function followUpParameters(
  template: TemplateRecord,
  facts: FollowUpFacts,
): Record<string, string> | null {
  const placeholders = templatePlaceholders(template);
  if (placeholders.count !== placeholders.body.length) return null;
  if (placeholders.body.length === 0) return {};
  if (placeholders.format !== 'NAMED') return null;
  const known: Record<string, string | null> = {
    first_name:
      facts.contactName?.trim().split(/\s+/)[0] ||
      CUSTOMER_WORD[languageOfLocale(template.language)],
    business: facts.businessName.trim() || null,
    service: facts.service?.trim() || null,
  };
  const values: Record<string, string> = {};
  for (const name of placeholders.body) {
    const value = known[name];
    if (!value) return null;
    values[name] = value;
  }
  return values;
}

/** A synced template and the WhatsApp number (channel account) it belongs to. */
export type FollowUpTemplate = TemplateRecord & { channelAccountId: string | null };

export type FollowUpTemplateChoice =
  | {
      ok: true;
      template: FollowUpTemplate;
      message: Extract<WhatsAppMessage, { type: 'template' }>;
      /** What the customer will read (header and body filled in): the draft's preview. */
      preview: string;
    }
  | { ok: false; code: 'no_approved_template' | 'no_marketing_opt_in'; reason: string };

/**
 * Picks the follow-up template and fills it. Ranked: the customer's language, then the business's,
 * then any; a template named for the kind (`follow_up_recall_due`) before a general one; UTILITY
 * before MARKETING (when the kind allows it, it needs no opt-in); then by name and language, so the
 * choice is stable. Refused when no approved follow-up template fits (`no_approved_template`) or
 * the only ones are marketing and the customer has no marketing opt-in (`no_marketing_opt_in`).
 */
export function chooseFollowUpTemplate(input: {
  /** The tenant's templates (any status); only the conversation's number's are considered. */
  templates: FollowUpTemplate[];
  /** The conversation's WhatsApp number (channel account). */
  channelAccountId: string;
  facts: FollowUpFacts;
  consent: ConsentFacts;
  customerLanguage: AgentLanguage;
  businessLanguage: AgentLanguage;
}): FollowUpTemplateChoice {
  const { facts } = input;
  const categories = followUpCategories(facts.kind);
  const fitting = input.templates.flatMap((template) => {
    if (template.status.toUpperCase() !== 'APPROVED') return [];
    if (!isFollowUpTemplateName(template.name)) return [];
    if (template.channelAccountId !== input.channelAccountId) return [];
    if (!categories.includes(template.category.toUpperCase())) return [];
    const values = followUpParameters(template, facts);
    return values ? [{ template, values }] : [];
  });
  if (fitting.length === 0) {
    return {
      ok: false,
      code: 'no_approved_template',
      reason: `the customer's 24-hour WhatsApp window is closed and no approved follow-up template fits (a ${categories.join(' or ')} template named ${FOLLOW_UP_TEMPLATE_PREFIX}…, with the placeholders first_name, business${facts.service ? ', service' : ''})`,
    };
  }
  const allowed = fitting.filter(
    ({ template }) => templateConsent(template.category, input.consent).allowed,
  );
  if (allowed.length === 0) {
    return {
      ok: false,
      code: 'no_marketing_opt_in',
      reason:
        "the customer's 24-hour WhatsApp window is closed and the follow-up templates are marketing ones, which need the customer's recorded opt-in to marketing; none is recorded",
    };
  }
  const languageRank = (locale: string) => {
    const code = locale.slice(0, 2).toLowerCase();
    if (code === input.customerLanguage) return 0;
    if (code === input.businessLanguage) return 1;
    return 2;
  };
  const ranked = allowed.sort(
    (a, b) =>
      languageRank(a.template.language) - languageRank(b.template.language) ||
      Number(b.template.name === `${FOLLOW_UP_TEMPLATE_PREFIX}_${facts.kind}`) -
        Number(a.template.name === `${FOLLOW_UP_TEMPLATE_PREFIX}_${facts.kind}`) ||
      Number(b.template.category.toUpperCase() === 'UTILITY') -
        Number(a.template.category.toUpperCase() === 'UTILITY') ||
      a.template.name.localeCompare(b.template.name) ||
      a.template.language.localeCompare(b.template.language),
  );
  // biome-ignore lint/style/noNonNullAssertion: `allowed` is not empty
  const best = ranked[0]!;
  const built = buildTemplateMessage(best.template, { body: best.values });
  if (!built.ok || built.message.type !== 'template') {
    return {
      ok: false,
      code: 'no_approved_template',
      reason: `the follow-up template ${best.template.name} (${best.template.language}) cannot be filled: ${built.ok ? 'not a template' : built.error}`,
    };
  }
  return { ok: true, template: best.template, message: built.message, preview: built.preview };
}

/**
 * The service an opportunity names: an appointment's evidence reads `Service · YYYY-MM-DD HH:MM`
 * (db/opportunities.ts); a customer's message names none we can be sure of.
 */
export function serviceOfEvidence(kind: FollowUpKind, evidenceText: string): string | null {
  if (kind !== 'recall_due' && kind !== 'no_show_or_cancelled') return null;
  const [service] = evidenceText.split(' · ');
  return service?.trim() || null;
}

/** The line the staff's draft card adds under a template's text. */
export const TEMPLATE_NOTE: Record<AgentLanguage, (name: string, language: string) => string> = {
  es: (name, language) => `(Plantilla aprobada de WhatsApp: ${name}, ${language})`,
  en: (name, language) => `(Approved WhatsApp template: ${name}, ${language})`,
  ar: (name, language) => `(قالب واتساب معتمد: ${name}، ${language})`,
};
