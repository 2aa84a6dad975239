/**
 * WhatsApp message templates for the Graph stand-in: fixtures in the shape of
 * `GET /{WABA_ID}/message_templates`, cursor paging like Graph's, and the send-time checks Meta
 * applies to a `type: "template"` message (exists in that language, approved, right parameters).
 */
import { GraphError } from './meta-graph-errors';

export type TemplateStatus =
  | 'APPROVED'
  | 'PENDING'
  | 'REJECTED'
  | 'PAUSED'
  | 'DISABLED'
  | 'FLAGGED'
  | 'IN_APPEAL'
  | 'LIMIT_EXCEEDED'
  | 'LOCKED'
  | 'ARCHIVED'
  | 'PENDING_DELETION'
  | 'DELETED';

export type TemplateCategory = 'MARKETING' | 'UTILITY' | 'AUTHENTICATION';

export interface TemplateButton {
  type: 'QUICK_REPLY' | 'URL' | 'PHONE_NUMBER' | 'COPY_CODE' | 'OTP';
  text: string;
  url?: string;
  phone_number?: string;
  example?: string[];
}

export interface TemplateComponent {
  type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS';
  format?: 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'LOCATION';
  text?: string;
  example?: Record<string, unknown>;
  buttons?: TemplateButton[];
}

/** One template object exactly as the management API returns it. */
export interface TemplateFixture {
  /** Numeric string, as Graph ids are. */
  id: string;
  /** Lowercase with underscores; unique per WABA together with `language`. */
  name: string;
  language: string;
  status: TemplateStatus;
  category: TemplateCategory;
  sub_category?: string;
  parameter_format: 'POSITIONAL' | 'NAMED';
  components: TemplateComponent[];
}

/**
 * A small catalogue covering the cases the app must handle: a sendable utility template with one
 * positional parameter, a marketing one with quick replies, a paused one, a named-parameter one,
 * and the first one again in Spanish (same name, other language).
 */
export const defaultTemplateFixtures: TemplateFixture[] = [
  {
    id: '1100000000000001',
    name: 'order_shipped',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'POSITIONAL',
    components: [
      {
        type: 'BODY',
        text: 'Good news: your order {{1}} has shipped and is on its way.',
        example: { body_text: [['#4521']] },
      },
      { type: 'FOOTER', text: 'Reply to this message if you have questions.' },
    ],
  },
  {
    id: '1100000000000002',
    name: 'spring_sale',
    language: 'en_US',
    status: 'APPROVED',
    category: 'MARKETING',
    parameter_format: 'POSITIONAL',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Spring sale' },
      { type: 'BODY', text: 'Everything in store is 20% off until Sunday.' },
      {
        type: 'BUTTONS',
        buttons: [
          { type: 'QUICK_REPLY', text: 'Show me' },
          { type: 'QUICK_REPLY', text: 'Stop promotions' },
        ],
      },
    ],
  },
  {
    id: '1100000000000003',
    name: 'feedback_request',
    language: 'en_US',
    status: 'PAUSED',
    category: 'MARKETING',
    parameter_format: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'How did we do? Reply with a number from 1 to 5.' }],
  },
  {
    id: '1100000000000004',
    name: 'appointment_reminder',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'NAMED',
    components: [
      {
        type: 'BODY',
        text: 'Hi {{first_name}}, this is a reminder of your appointment on {{date}}.',
        example: {
          body_text_named_params: [
            { param_name: 'first_name', example: 'Maria' },
            { param_name: 'date', example: 'Monday 3 March at 10:00' },
          ],
        },
      },
    ],
  },
  {
    id: '1100000000000005',
    name: 'order_shipped',
    language: 'es',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'POSITIONAL',
    components: [
      {
        type: 'BODY',
        text: 'Buenas noticias: tu pedido {{1}} ha sido enviado.',
        example: { body_text: [['#4521']] },
      },
    ],
  },
];

/**
 * Follow-up templates (docs/follow-ups.md), apart from the default catalogue so its listing and
 * paging stay as they are: what a business submits for follow-ups outside the 24-hour window. An
 * offer to book (MARKETING: it needs the customer's opt-in to marketing) and an answer to a
 * pending request (UTILITY), each in Spanish and English, with named placeholders.
 */
export const followUpTemplateFixtures: TemplateFixture[] = [
  [
    '1100000000000101',
    'follow_up_offer',
    'es',
    'MARKETING',
    'Hola {{first_name}}, te escribimos de {{business}}. ¿Quieres que te reservemos una cita? Responde a este mensaje y te ayudamos.',
  ],
  [
    '1100000000000102',
    'follow_up_offer',
    'en_US',
    'MARKETING',
    'Hi {{first_name}}, this is {{business}}. Would you like us to book you an appointment? Reply to this message and we will help.',
  ],
  [
    '1100000000000103',
    'follow_up_pending',
    'es',
    'UTILITY',
    'Hola {{first_name}}, seguimos con tu consulta en {{business}}. Responde a este mensaje y te atendemos.',
  ],
  [
    '1100000000000104',
    'follow_up_pending',
    'en_US',
    'UTILITY',
    'Hi {{first_name}}, we are following up on your request to {{business}}. Reply to this message and we will get back to you.',
  ],
].map(([id, name, language, category, text]) => ({
  id: id as string,
  name: name as string,
  language: language as string,
  status: 'APPROVED' as const,
  category: category as TemplateCategory,
  parameter_format: 'NAMED' as const,
  components: [
    {
      type: 'BODY' as const,
      text,
      example: {
        body_text_named_params: [
          { param_name: 'first_name', example: 'Maria' },
          { param_name: 'business', example: 'Clínica Sonrisa' },
        ],
      },
    },
  ],
}));

// ---------------------------------------------------------------------------------------------
// Listing with cursor paging
// ---------------------------------------------------------------------------------------------

const encodeCursor = (id: string) => Buffer.from(`tpl:${id}`).toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString().slice(4);

export interface TemplatePage {
  data: Array<Partial<TemplateFixture>>;
  paging?: { cursors: { before: string; after: string }; next?: string; previous?: string };
}

/**
 * One page of templates. Cursors name the first / last object of the page (as Graph's opaque
 * cursors do), so paging stays stable under filters; `next` / `previous` only appear when there
 * is something there, which is how clients know to stop.
 */
export function pageTemplates(
  templates: TemplateFixture[],
  query: URLSearchParams,
  pageUrl: string,
): TemplatePage {
  let matching = templates;
  const status = query.get('status');
  if (status) {
    const wanted = status.split(',').map((s) => s.trim().toUpperCase());
    matching = matching.filter((t) => wanted.includes(t.status));
  }
  const name = query.get('name');
  if (name) matching = matching.filter((t) => t.name.includes(name));
  const language = query.get('language');
  if (language) matching = matching.filter((t) => t.language === language);
  const category = query.get('category');
  if (category) matching = matching.filter((t) => t.category === category.toUpperCase());

  const limit = Math.max(1, Math.min(Number(query.get('limit') ?? 25) || 25, 1000));
  const indexOf = (cursor: string) => matching.findIndex((t) => t.id === decodeCursor(cursor));
  const after = query.get('after');
  const before = query.get('before');
  let start = 0;
  let end = limit;
  if (after) {
    // An unknown cursor yields an empty page rather than silently restarting from the top.
    const at = indexOf(after);
    start = at < 0 ? matching.length : at + 1;
    end = start + limit;
  } else if (before) {
    end = Math.max(0, indexOf(before));
    start = Math.max(0, end - limit);
  }
  const page = matching.slice(start, end);

  const fields = query
    .get('fields')
    ?.split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const data = page.map((t) => project(t, fields));
  if (page.length === 0) return { data };

  const link = (cursor: 'after' | 'before', value: string) => {
    const params = new URLSearchParams(query);
    params.delete('after');
    params.delete('before');
    params.set('limit', String(limit));
    params.set(cursor, value);
    return `${pageUrl}?${params.toString()}`;
  };
  const first = encodeCursor(page[0]!.id);
  const last = encodeCursor(page[page.length - 1]!.id);
  return {
    data,
    paging: {
      cursors: { before: first, after: last },
      ...(start + page.length < matching.length ? { next: link('after', last) } : {}),
      ...(start > 0 ? { previous: link('before', first) } : {}),
    },
  };
}

/** Graph returns only the requested `fields` (plus `id`); without `fields`, all of them. */
function project(
  template: TemplateFixture,
  fields: string[] | undefined,
): Partial<TemplateFixture> {
  if (!fields || fields.length === 0) return template;
  const projected: Record<string, unknown> = { id: template.id };
  for (const field of fields) {
    if (field in template) projected[field] = template[field as keyof TemplateFixture];
  }
  return projected as Partial<TemplateFixture>;
}

// ---------------------------------------------------------------------------------------------
// Send-time checks
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Placeholders of a component text: `{{1}}` positions or `{{first_name}}` names, deduplicated. */
function placeholders(text: string | undefined): string[] {
  if (!text) return [];
  return [...new Set([...text.matchAll(/\{\{\s*([a-z0-9_]+)\s*\}\}/gi)].map((m) => m[1]!))];
}

function expectedParameters(template: TemplateFixture, type: 'HEADER' | 'BODY'): string[] {
  const component = template.components.find((c) => c.type === type);
  if (!component) return [];
  if (type === 'HEADER' && component.format && component.format !== 'TEXT') {
    // A media header takes exactly one image / video / document parameter.
    return [component.format.toLowerCase()];
  }
  return placeholders(component.text);
}

/**
 * The checks Meta makes before accepting a template send, with its error codes: 132001 (no such
 * template in that language, or not approved), 132015 / 132016 (paused / disabled), 132000
 * (parameter count), 132012 (parameter names do not match a NAMED template).
 */
export function checkTemplateSend(
  templates: TemplateFixture[],
  name: string,
  language: string,
  components: unknown,
): TemplateFixture {
  const template = templates.find((t) => t.name === name && t.language === language);
  if (!template || !['APPROVED', 'PAUSED', 'DISABLED'].includes(template.status)) {
    throw new GraphError({
      status: 404,
      code: 132001,
      message: '(#132001) Template name does not exist in the translation',
      details: `template name (${name}) does not exist in ${language}`,
    });
  }
  if (template.status === 'PAUSED') {
    throw new GraphError({
      code: 132015,
      message: '(#132015) Template is Paused',
      details: `Template ${name} is paused due to low quality so it cannot be sent in a template message.`,
    });
  }
  if (template.status === 'DISABLED') {
    throw new GraphError({
      code: 132016,
      message: '(#132016) Template is Disabled',
      details: `Template ${name} has been paused too many times due to low quality and is now permanently disabled.`,
    });
  }

  const sent = Array.isArray(components) ? components.filter(isObject) : [];
  for (const type of ['HEADER', 'BODY'] as const) {
    const expected = expectedParameters(template, type);
    const component = sent.find((c) => String(c.type).toUpperCase() === type);
    const parameters = Array.isArray(component?.parameters)
      ? component.parameters.filter(isObject)
      : [];
    const label = type.toLowerCase();
    if (parameters.length !== expected.length) {
      throw new GraphError({
        code: 132000,
        message: '(#132000) Number of parameters does not match the expected number of params',
        details: `${label}: number of localizable_params (${parameters.length}) does not match the expected number of params (${expected.length})`,
      });
    }
    if (template.parameter_format === 'NAMED' && type === 'BODY') {
      const given = parameters.map((p) => p.parameter_name).sort();
      if (JSON.stringify(given) !== JSON.stringify([...expected].sort())) {
        throw new GraphError({
          code: 132012,
          message: '(#132012) Parameter format does not match format in the created template',
          details: `${label}: expected parameter_name values ${expected.join(', ')}`,
        });
      }
    }
  }
  return template;
}
