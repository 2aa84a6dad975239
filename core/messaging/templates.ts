import { z } from 'zod';
import { charCount, type TemplateComponentParams, type WhatsAppMessage } from './kinds';

/** A template as `GET /{waba}/message_templates` returns it (fields we ask for). */
export const graphTemplate = z.object({
  id: z.string(),
  name: z.string(),
  language: z.string(),
  status: z.string(),
  category: z.string(),
  parameter_format: z.enum(['POSITIONAL', 'NAMED']).default('POSITIONAL'),
  components: z.array(z.record(z.string(), z.unknown())).default([]),
});
export type GraphTemplate = z.infer<typeof graphTemplate>;

/**
 * WhatsApp templates as synced from Meta: their placeholders (positional `{{1}}` or named
 * `{{first_name}}`), whether they may be sent, and turning an operator's parameters into the
 * `template` message Graph expects — validated here (count, names, format) so a mismatch is a 400,
 * not a 132000 from Meta after queueing.
 */

export type TemplateRecord = {
  id: string;
  name: string;
  language: string;
  status: string;
  category: string;
  parameterFormat: string;
  components: unknown[];
  statusReason?: string | null;
};

const component = z
  .object({
    type: z.string(),
    format: z.string().optional(),
    text: z.string().optional(),
    buttons: z
      .array(
        z
          .object({ type: z.string(), text: z.string().default(''), url: z.string().optional() })
          .loose(),
      )
      .optional(),
  })
  .loose();

/** Placeholder names in order of first appearance: `1`, `2` or `first_name`, … */
export function placeholdersIn(text: string | undefined): string[] {
  if (!text) return [];
  return [
    ...new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1] as string)),
  ];
}

export type TemplatePlaceholders = {
  format: 'POSITIONAL' | 'NAMED';
  /** TEXT headers list their placeholders; a media header takes one image / video / document. */
  header: { format: string; placeholders: string[] } | null;
  body: string[];
  /** URL buttons with a dynamic suffix take one text parameter each. */
  buttons: Array<{ index: number; type: string; text: string; placeholders: string[] }>;
  /** How many parameters a send needs in total. */
  count: number;
};

function componentsOf(template: TemplateRecord) {
  return template.components.flatMap((c) => {
    const parsed = component.safeParse(c);
    return parsed.success ? [parsed.data] : [];
  });
}

export function templatePlaceholders(template: TemplateRecord): TemplatePlaceholders {
  const components = componentsOf(template);
  const headerComponent = components.find((c) => c.type.toUpperCase() === 'HEADER');
  const headerFormat = (headerComponent?.format ?? 'TEXT').toUpperCase();
  const header = headerComponent
    ? {
        format: headerFormat,
        placeholders:
          headerFormat === 'TEXT'
            ? placeholdersIn(headerComponent.text)
            : headerFormat === 'LOCATION'
              ? []
              : [headerFormat.toLowerCase()],
      }
    : null;
  const body = placeholdersIn(components.find((c) => c.type.toUpperCase() === 'BODY')?.text);
  const buttons = (components.find((c) => c.type.toUpperCase() === 'BUTTONS')?.buttons ?? []).map(
    (b, index) => ({
      index,
      type: b.type.toUpperCase(),
      text: b.text,
      placeholders: b.type.toUpperCase() === 'URL' ? placeholdersIn(b.url) : [],
    }),
  );
  return {
    format: template.parameterFormat.toUpperCase() === 'NAMED' ? 'NAMED' : 'POSITIONAL',
    header,
    body,
    buttons,
    count:
      (header?.placeholders.length ?? 0) +
      body.length +
      buttons.reduce((n, b) => n + b.placeholders.length, 0),
  };
}

/** Null when the template may be sent; otherwise why not, for the operator. */
export function templateRefusal(
  template: Pick<TemplateRecord, 'name' | 'status' | 'statusReason'>,
): string | null {
  const status = template.status.toUpperCase();
  const why = template.statusReason ? ` (${template.statusReason})` : '';
  switch (status) {
    case 'APPROVED':
      return null;
    case 'PAUSED':
      return `Template ${template.name} is paused by Meta because of low quality${why}; it cannot be sent until Meta lifts the pause or it is edited.`;
    case 'DISABLED':
      return `Template ${template.name} was disabled by Meta after repeated quality problems${why}; create a new template.`;
    case 'PENDING':
      return `Template ${template.name} is still waiting for Meta's review; only approved templates can be sent.`;
    case 'REJECTED':
      return `Template ${template.name} was rejected by Meta${why}; only approved templates can be sent.`;
    default:
      return `Template ${template.name} has status ${status}; only approved templates can be sent.`;
  }
}

const mediaParameter = z.union([
  z.strictObject({
    image: z.strictObject({ id: z.string().optional(), link: z.url().optional() }),
  }),
  z.strictObject({
    video: z.strictObject({ id: z.string().optional(), link: z.url().optional() }),
  }),
  z.strictObject({
    document: z.strictObject({ id: z.string().optional(), link: z.url().optional() }),
  }),
]);
const textValues = z.union([z.array(z.string()), z.record(z.string(), z.string())]);

/**
 * What an operator (or the agent) gives when sending a template: the body's values as a list
 * (positional) or by name, or an object with `header`, `body` and `buttons`. A factory as well as
 * a value: the operator API documents its own copy, made after the OpenAPI extension of zod is
 * loaded (a schema made before it has no `.openapi()`).
 */
export function templateParametersSchema() {
  return z
    .union([
      z.array(z.string()),
      z.strictObject({
        header: z.union([textValues, mediaParameter]).optional(),
        body: textValues.optional(),
        buttons: z
          .array(
            z.strictObject({
              index: z.number().int().min(0).max(9),
              payload: z.string().min(1).max(1000).optional(),
              text: z.string().min(1).optional(),
            }),
          )
          .optional(),
      }),
    ])
    .default([]);
}
export const templateParametersInput = templateParametersSchema();
export type TemplateParametersInput = z.infer<typeof templateParametersInput>;

/** Meta refuses parameter text with newlines, tabs or more than 4 consecutive spaces (132012/132018). */
function formatProblem(value: string, max: number): string | null {
  if (value.trim() === '') return 'must not be empty';
  if (/[\n\r\t]/.test(value)) return 'must not contain new lines or tabs';
  if (/ {5,}/.test(value)) return 'must not contain more than 4 consecutive spaces';
  if (charCount(value) > max) return `is limited to ${max} characters (got ${charCount(value)})`;
  return null;
}

type Built = { ok: true; message: WhatsAppMessage; preview: string } | { ok: false; error: string };

/**
 * Validates parameters against the template and builds the `template` message. Errors name the
 * part (`parameters.body`, `parameters.header`, …) and say what was expected.
 */
export function buildTemplateMessage(template: TemplateRecord, raw: unknown): Built {
  const input = templateParametersInput.safeParse(raw);
  if (!input.success) {
    return {
      ok: false,
      error: input.error.issues
        .map((i) => `${['parameters', ...i.path].join('.')}: ${i.message}`)
        .join('; '),
    };
  }
  const given = Array.isArray(input.data) ? { body: input.data } : input.data;
  const expected = templatePlaceholders(template);
  const build: Building = {
    named: expected.format === 'NAMED',
    problems: [],
    components: [],
    values: { header: {}, body: {} },
  };
  headerParameters(build, expected.header, given.header);
  textParameters(build, 'body', expected.body, given.body, 1024);
  buttonParameters(build, expected.buttons, given.buttons ?? []);
  if (build.problems.length > 0) return { ok: false, error: build.problems.join('; ') };
  return {
    ok: true,
    message: {
      type: 'template',
      template_id: template.id,
      name: template.name,
      language: template.language,
      ...(build.components.length > 0 ? { components: build.components } : {}),
    },
    preview: renderTemplate(template, build.values),
  };
}

/** What building a template message gathers: Graph's components, the values, the problems. */
type Building = {
  named: boolean;
  problems: string[];
  components: TemplateComponentParams[];
  values: Record<'header' | 'body', Record<string, string>>;
};

type Expected = ReturnType<typeof templatePlaceholders>;
type Given = Exclude<TemplateParametersInput, string[]>;

/** The supplied values by placeholder name, or a problem (wrong count, names or form). */
function valuesByName(
  build: Building,
  part: 'header' | 'body',
  names: string[],
  supplied: unknown,
): Record<string, string> | null {
  const path = `parameters.${part}`;
  if (Array.isArray(supplied)) {
    if (build.named) {
      build.problems.push(
        `${path}: this template uses named parameters; give an object with ${names.join(', ')}`,
      );
      return null;
    }
    if (supplied.length !== names.length) {
      build.problems.push(
        `${path}: the template's ${part} takes ${names.length} parameter(s) ({{${names.join('}}, {{')}}}), got ${supplied.length}`,
      );
      return null;
    }
    return Object.fromEntries(names.map((name, i) => [name, supplied[i] as string]));
  }
  if (supplied && typeof supplied === 'object') {
    const byName = supplied as Record<string, string>;
    const missing = names.filter((n) => !(n in byName));
    const unknown = Object.keys(byName).filter((n) => !names.includes(n));
    if (missing.length === 0 && unknown.length === 0) return byName;
    build.problems.push(
      `${path}: expected ${names.map((n) => `{{${n}}}`).join(', ')}` +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (unknown.length ? `; not in the template: ${unknown.join(', ')}` : ''),
    );
    return null;
  }
  build.problems.push(
    `${path}: the template's ${part} takes ${names.length} parameter(s) ({{${names.join('}}, {{')}}}), got none`,
  );
  return null;
}

/** A text header's or the body's placeholders: each value checked against Meta's format rules. */
function textParameters(
  build: Building,
  part: 'header' | 'body',
  names: string[],
  supplied: unknown,
  max: number,
) {
  const path = `parameters.${part}`;
  if (names.length === 0) {
    const count = Array.isArray(supplied)
      ? supplied.length
      : supplied
        ? Object.keys(supplied).length
        : 0;
    if (count > 0)
      build.problems.push(`${path}: the template's ${part} takes no parameters (got ${count})`);
    return;
  }
  const byName = valuesByName(build, part, names, supplied);
  if (!byName) return;
  for (const name of names) {
    const problem = formatProblem(byName[name] ?? '', max);
    if (problem) build.problems.push(`${path}.${name}: ${problem}`);
  }
  build.values[part] = byName;
  build.components.push({
    type: part,
    parameters: names.map((name) => ({
      type: 'text' as const,
      text: byName[name] ?? '',
      ...(build.named ? { parameter_name: name } : {}),
    })),
  });
}

/** Header: text placeholders, or one media parameter for an IMAGE / VIDEO / DOCUMENT header. */
function headerParameters(build: Building, expected: Expected['header'], given: Given['header']) {
  if (!expected || expected.format === 'TEXT' || expected.format === 'LOCATION') {
    if (given && !Array.isArray(given) && Object.values(given).some((v) => typeof v === 'object')) {
      build.problems.push('parameters.header: the template has no media header');
    } else {
      textParameters(build, 'header', expected?.placeholders ?? [], given, 60);
    }
    return;
  }
  const kind = expected.format.toLowerCase() as 'image' | 'video' | 'document';
  const media = given as Record<string, { id?: string; link?: string }> | undefined;
  const source = media && !Array.isArray(media) ? media[kind] : undefined;
  if (!source || (source.id === undefined) === (source.link === undefined)) {
    build.problems.push(
      `parameters.header: the template's header is ${kind === 'image' ? 'an' : 'a'} ${kind}; give { "${kind}": { "id" or "link" } }`,
    );
    return;
  }
  const ref = source.id !== undefined ? { id: source.id } : { link: source.link as string };
  const parameter =
    kind === 'image'
      ? { type: 'image' as const, image: ref }
      : kind === 'video'
        ? { type: 'video' as const, video: ref }
        : { type: 'document' as const, document: ref };
  build.components.push({ type: 'header', parameters: [parameter] });
}

/** Buttons: URL buttons with a placeholder need their text; quick replies may carry a payload. */
function buttonParameters(
  build: Building,
  expected: Expected['buttons'],
  given: NonNullable<Given['buttons']>,
) {
  const suppliedButtons = new Map(given.map((b) => [b.index, b]));
  for (const button of expected) {
    const supplied = suppliedButtons.get(button.index);
    suppliedButtons.delete(button.index);
    if (button.type === 'URL' && button.placeholders.length > 0) {
      if (!supplied?.text) {
        build.problems.push(
          `parameters.buttons: button ${button.index} ("${button.text}") is a link that needs its text parameter`,
        );
        continue;
      }
      build.components.push({
        type: 'button',
        sub_type: 'url',
        index: button.index,
        parameters: [{ type: 'text', text: supplied.text }],
      });
    } else if (button.type === 'QUICK_REPLY' && supplied?.payload) {
      build.components.push({
        type: 'button',
        sub_type: 'quick_reply',
        index: button.index,
        parameters: [{ type: 'payload', payload: supplied.payload }],
      });
    } else if (supplied) {
      build.problems.push(
        `parameters.buttons: button ${button.index} ("${button.text}") takes no parameter`,
      );
    }
  }
  for (const index of suppliedButtons.keys()) {
    build.problems.push(`parameters.buttons: the template has no button ${index}`);
  }
}

type TemplateMessage = Extract<WhatsAppMessage, { type: 'template' }>;

/**
 * The parameters a ready-made `template` message carries (Graph's `components`), read back into
 * what `buildTemplateMessage` takes, so a message given whole (POST /admin/whatsapp/send, the
 * agent) is checked by the same code as one built from parameters (POST /admin/templates/send).
 */
function parametersOf(
  message: TemplateMessage,
): { ok: true; parameters: TemplateParametersInput } | { ok: false; error: string } {
  const parameters: Exclude<TemplateParametersInput, string[]> = {};
  const buttons: NonNullable<typeof parameters.buttons> = [];
  const textValuesOf = (list: Array<{ type: string; text?: string; parameter_name?: string }>) =>
    list.some((p) => p.parameter_name !== undefined)
      ? Object.fromEntries(list.map((p, i) => [p.parameter_name ?? String(i + 1), p.text ?? '']))
      : list.map((p) => p.text ?? '');
  for (const component of message.components ?? []) {
    if (component.type === 'button') {
      if (buttons.some((b) => b.index === component.index)) {
        return { ok: false, error: `parameters.buttons: button ${component.index} is given twice` };
      }
      const [parameter] = component.parameters;
      if (component.parameters.length > 1) {
        return {
          ok: false,
          error: `parameters.buttons: button ${component.index} takes one parameter (got ${component.parameters.length})`,
        };
      }
      buttons.push(
        parameter?.type === 'payload'
          ? { index: component.index, payload: parameter.payload }
          : { index: component.index, text: parameter?.text },
      );
      continue;
    }
    if (parameters[component.type] !== undefined) {
      return { ok: false, error: `parameters.${component.type}: given twice` };
    }
    const media = component.parameters.find(
      (p): p is Exclude<typeof p, { type: 'text' }> => p.type !== 'text',
    );
    if (media) {
      if (component.type === 'body' || component.parameters.length > 1) {
        return {
          ok: false,
          error: `parameters.${component.type}: a media parameter goes alone, in the header`,
        };
      }
      parameters.header =
        media.type === 'image'
          ? { image: media.image }
          : media.type === 'video'
            ? { video: media.video }
            : { document: media.document };
      continue;
    }
    parameters[component.type] = textValuesOf(component.parameters);
  }
  if (buttons.length > 0) parameters.buttons = buttons;
  return { ok: true, parameters };
}

/**
 * Null when a `template` message's parameters fit its stored template (count, names, format,
 * buttons, media header); otherwise what is wrong, for a 400. Meta would refuse the send (132000,
 * 132012, 132018) only after it was queued.
 */
export function templateMessageProblem(
  template: TemplateRecord,
  message: TemplateMessage,
): string | null {
  const given = parametersOf(message);
  const built = given.ok ? buildTemplateMessage(template, given.parameters) : given;
  if (built.ok) return null;
  return `Template ${template.name} (${template.language}): ${built.error}`;
}

/** The template's header and body with the values filled in: what the customer will read. */
export function renderTemplate(
  template: TemplateRecord,
  values: Partial<Record<'header' | 'body', Record<string, string>>>,
): string {
  const components = componentsOf(template);
  const fill = (text: string | undefined, part: 'header' | 'body') =>
    (text ?? '').replace(
      /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g,
      (m, name: string) => values[part]?.[name] ?? m,
    );
  const header = components.find((c) => c.type.toUpperCase() === 'HEADER');
  const body = components.find((c) => c.type.toUpperCase() === 'BODY');
  return [
    header && (header.format ?? 'TEXT').toUpperCase() === 'TEXT' ? fill(header.text, 'header') : '',
    fill(body?.text, 'body'),
  ]
    .filter((s) => s !== '')
    .join('\n');
}

/** The text a `template` message will show, from the values in its components. */
export function templateMessagePreview(
  template: TemplateRecord,
  message: Extract<WhatsAppMessage, { type: 'template' }>,
): string {
  const values: Record<'header' | 'body', Record<string, string>> = { header: {}, body: {} };
  for (const component of message.components ?? []) {
    if (component.type !== 'header' && component.type !== 'body') continue;
    component.parameters.forEach((parameter, i) => {
      if (parameter.type !== 'text') return;
      values[component.type][parameter.parameter_name ?? String(i + 1)] = parameter.text;
    });
  }
  return renderTemplate(template, values) || `[template ${message.name}]`;
}
