/**
 * Gupshup's send API (docs/providers.md "Send API"): a form-encoded POST with the app's key in
 * the `apikey` header, to `/wa/api/v1/msg` for session messages and `/wa/api/v1/template/msg` for
 * templates. `gupshupRequest` builds the request kept in the send's history, `{path, form}`:
 * `path` says which endpoint, `form` is exactly the fields sent, and there is no key in it.
 * `sendGupshup` posts it and turns every answer into a message id or a classified GraphApiError.
 */
import { z } from 'zod';
import type { TemplateComponentParams, WhatsAppMessage } from '../../../core/messaging/kinds';
import { GraphApiError, NO_ANSWER_ERROR } from '../../lib/graph';
import type { ProviderAccount, ProviderConnection, ProviderSendInput } from '../adapter';
import { postToProvider } from '../http';
import {
  GUPSHUP_BAD_ANSWER,
  GUPSHUP_NO_ANSWER,
  GUPSHUP_UNREACHABLE,
  gupshupHttpMeaning,
} from './errors';

export const SESSION_PATH = '/wa/api/v1/msg';
export const TEMPLATE_PATH = '/wa/api/v1/template/msg';

/** What `request()` returns and `send()` takes: where it goes and the form fields, as sent. */
export const gupshupRequestSchema = z.object({
  path: z.enum([SESSION_PATH, TEMPLATE_PATH]),
  form: z.record(z.string(), z.string()),
});
export type GupshupRequest = z.infer<typeof gupshupRequestSchema>;

/** A refusal found before anything is sent: the message cannot be made into a Gupshup request. */
function unsendable(code: string, reason: string): GraphApiError {
  return new GraphApiError(
    { httpStatus: null, code, graphMessage: reason },
    { classification: 'permanent', reason },
  );
}

type Media = { id?: string; link?: string };
type ButtonsMessage = Extract<WhatsAppMessage, { type: 'buttons' }>;
type ListMessage = Extract<WhatsAppMessage, { type: 'list' }>;
type TemplateMessage = Extract<WhatsAppMessage, { type: 'template' }>;

/** `{ [key]: value }` when the value is given, else nothing: Gupshup refuses a null caption. */
function given<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}

/** Gupshup's media fields: `url` for a link, `id` for media uploaded to Gupshup. */
const mediaSource = (m: Media) => (m.id !== undefined ? { id: m.id } : { url: m.link });

/** Gupshup names a document `file`. */
const gupshupMediaType = (type: 'image' | 'video' | 'document') =>
  type === 'document' ? 'file' : type;

function quickReply(message: ButtonsMessage, msgid: string) {
  const header = message.header;
  const footer = given('caption', message.footer);
  const content =
    header === undefined || header.type === 'text'
      ? {
          type: 'text',
          ...given('header', header?.text),
          text: message.body,
          ...footer,
        }
      : {
          type: gupshupMediaType(header.type),
          ...mediaSource(header),
          text: message.body,
          ...footer,
        };
  return {
    type: 'quick_reply',
    msgid,
    content,
    // The tap comes back with the option's postbackText: our button id.
    options: message.buttons.map((b) => ({ type: 'text', title: b.title, postbackText: b.id })),
  };
}

function listMessage(message: ListMessage, msgid: string) {
  return {
    type: 'list',
    title: message.header ?? '',
    body: message.body,
    ...given('footer', message.footer),
    msgid,
    globalButtons: [{ type: 'text', title: message.button }],
    items: message.sections.map((section) => ({
      title: section.title ?? '',
      subtitle: section.title ?? '',
      // The tap comes back with the row's postbackText: our row id.
      options: section.rows.map((row) => ({
        type: 'text',
        title: row.title,
        ...given('description', row.description),
        postbackText: row.id,
      })),
    })),
  };
}

/** The `message` object of a session send, per kind (Glific's message.ex builds the same). */
function sessionMessage(input: ProviderSendInput): Record<string, unknown> {
  const { message } = input;
  switch (message.type) {
    case 'text':
      return {
        type: 'text',
        text: message.text,
        ...given('previewUrl', message.preview_url),
      };
    case 'image':
      // Gupshup takes an image link twice: the full image and its preview.
      return message.id !== undefined
        ? { type: 'image', id: message.id, ...given('caption', message.caption) }
        : {
            type: 'image',
            originalUrl: message.link,
            previewUrl: message.link,
            ...given('caption', message.caption),
          };
    case 'video':
      return { type: 'video', ...mediaSource(message), ...given('caption', message.caption) };
    case 'document':
      return {
        type: 'file',
        ...mediaSource(message),
        ...given('filename', message.filename),
        ...given('caption', message.caption),
      };
    case 'audio':
    case 'sticker':
      return { type: message.type, ...mediaSource(message) };
    case 'buttons':
      return quickReply(message, input.messageId);
    case 'list':
      return listMessage(message, input.messageId);
    case 'reaction':
      if (!input.replyTo) {
        throw unsendable('invalid_message', 'A reaction needs the message it reacts to.');
      }
      return { type: 'reaction', msgId: input.replyTo, emoji: message.emoji };
    case 'template':
      throw unsendable('invalid_message', 'A template goes through the template API.');
  }
}

function templateFields(message: TemplateMessage, providerTemplateId: string | null) {
  if (!providerTemplateId) {
    throw unsendable(
      'template_unknown',
      'This template has no Gupshup template id for this channel. Sync the templates and pick ' +
        'an approved one.',
    );
  }
  const components: TemplateComponentParams[] = message.components ?? [];
  const headerParams: string[] = [];
  const bodyParams: string[] = [];
  const urlParams: string[] = [];
  const postbackTexts: Array<{ index: number; text: string }> = [];
  let headerMedia: Record<string, unknown> | undefined;
  for (const component of components) {
    if (component.type === 'button') {
      for (const p of component.parameters) {
        if (p.type === 'payload') postbackTexts.push({ index: component.index, text: p.payload });
        else urlParams.push(p.text);
      }
      continue;
    }
    for (const p of component.parameters) {
      if (p.type === 'text') (component.type === 'header' ? headerParams : bodyParams).push(p.text);
      else if (p.type === 'image') headerMedia = { type: 'image', image: mediaRef(p.image) };
      else if (p.type === 'video') headerMedia = { type: 'video', video: mediaRef(p.video) };
      else headerMedia = { type: 'document', document: mediaRef(p.document) };
    }
  }
  return {
    // Gupshup takes every variable in the order it occurs: header, body, then a URL button's.
    template: JSON.stringify({
      id: providerTemplateId,
      params: [...headerParams, ...bodyParams, ...urlParams],
    }),
    ...(headerMedia ? { message: JSON.stringify(headerMedia) } : {}),
    ...(postbackTexts.length > 0 ? { postbackTexts: JSON.stringify(postbackTexts) } : {}),
  };
}

const mediaRef = (m: Media) => (m.id !== undefined ? { id: m.id } : { link: m.link });

/** The Gupshup request for one message; throws a permanent GraphApiError when it cannot be made. */
export function gupshupRequest(input: ProviderSendInput, account: ProviderAccount): GupshupRequest {
  const source = account.displayPhoneNumber?.replace(/\D/g, '') ?? '';
  if (source === '') {
    throw unsendable(
      'not_connected',
      "The channel has no phone number, which Gupshup needs as the sender. Set the channel's " +
        'number in the settings.',
    );
  }
  const addressed = {
    channel: 'whatsapp',
    source,
    destination: input.to.replace(/^\+/, ''),
    'src.name': account.externalId,
  };
  const { message } = input;
  if (message.type === 'template') {
    return {
      path: TEMPLATE_PATH,
      form: { ...addressed, ...templateFields(message, input.providerTemplateId) },
    };
  }
  const quotes = input.replyTo && message.type !== 'reaction';
  const body = {
    ...sessionMessage(input),
    ...(quotes ? { context: { msgId: input.replyTo } } : {}),
  };
  return { path: SESSION_PATH, form: { ...addressed, message: JSON.stringify(body) } };
}

const submitted = z.object({ status: z.literal('submitted'), messageId: z.string().min(1) });
const refusal = z.looseObject({
  status: z.string().optional(),
  message: z.string().optional(),
  code: z.union([z.string(), z.number()]).optional(),
});

function refused(httpStatus: number, answer: unknown, text: string): GraphApiError {
  const r = refusal.safeParse(answer);
  const message = (r.success ? r.data.message : undefined) ?? text.slice(0, 500);
  return new GraphApiError(
    {
      httpStatus,
      code: `http_${httpStatus}`,
      graphMessage: message || `HTTP ${httpStatus}`,
      ...(r.success && r.data.code !== undefined ? { details: `code ${r.data.code}` } : {}),
    },
    gupshupHttpMeaning(httpStatus, message),
  );
}

export async function sendGupshup(
  request: Record<string, unknown>,
  connection: ProviderConnection,
): Promise<{ providerMessageId: string }> {
  const parsed = gupshupRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw unsendable('invalid_message', 'The stored request is not a Gupshup request.');
  }
  const { path, form } = parsed.data;
  // The answer is read as JSON whatever its Content-Type (Gupshup says text/html).
  const response = await postToProvider(
    `${connection.baseUrl.replace(/\/+$/, '')}${path}`,
    {
      headers: {
        apikey: connection.apiKey,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
      timeoutMs: connection.timeoutMs,
    },
    { unreachable: GUPSHUP_UNREACHABLE, noAnswer: GUPSHUP_NO_ANSWER },
  );
  const { json: answer, text } = response;
  if (!response.ok) throw refused(response.status, answer, text);
  const ok = submitted.safeParse(answer);
  if (ok.success) return { providerMessageId: ok.data.messageId };
  const r = refusal.safeParse(answer);
  if (r.success && r.data.status === 'error') throw refused(response.status, answer, text);
  throw new GraphApiError(
    {
      httpStatus: response.status,
      code: NO_ANSWER_ERROR,
      graphMessage: `HTTP ${response.status} without a message id: ${text.slice(0, 200)}`,
    },
    GUPSHUP_BAD_ANSWER,
  );
}
