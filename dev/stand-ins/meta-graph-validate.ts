/**
 * Payload checks for the Graph stand-in's send endpoints, with the limits Meta documents
 * (meta-platform reference §4) and Graph-style errors. The point is that a payload the app builds
 * wrongly fails here the way it would fail against Meta, instead of passing silently in tests.
 */
import { badRequest, GraphError, invalidParam, missingParam } from './meta-graph-errors';
import { checkTemplateSend, type TemplateFixture } from './meta-graph-templates';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Meta counts characters, not UTF-16 units: an emoji is one. */
const length = (value: string) => [...value].length;

function object(parent: Json, key: string, path: string): Json {
  const value = parent[key];
  if (value === undefined) throw missingParam(path);
  if (!isObject(value)) throw invalidParam(`Parameter '${path}' must be an object.`);
  return value;
}

function string(parent: Json, key: string, path: string, max?: number, min = 1): string {
  const value = parent[key];
  if (value === undefined || value === null) throw missingParam(path);
  if (typeof value !== 'string') throw invalidParam(`Parameter '${path}' must be a string.`);
  if (length(value) < min || (max !== undefined && length(value) > max)) {
    throw invalidParam(
      `Param ${path} must be between ${min} and ${max ?? 'unlimited'} characters long (got ${length(value)}).`,
    );
  }
  return value;
}

function optionalString(parent: Json, key: string, path: string, max: number): string | undefined {
  return parent[key] === undefined ? undefined : string(parent, key, path, max, 0);
}

function array(parent: Json, key: string, path: string, min: number, max: number): unknown[] {
  const value = parent[key];
  if (value === undefined) throw missingParam(path);
  if (!Array.isArray(value)) throw invalidParam(`Parameter '${path}' must be an array.`);
  if (value.length < min || value.length > max) {
    throw invalidParam(
      `Param ${path} must have between ${min} and ${max} elements (got ${value.length}).`,
    );
  }
  return value;
}

function unique(values: string[], what: string): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw invalidParam(`${what} must be unique; "${value}" appears twice.`);
    seen.add(value);
  }
}

// ---------------------------------------------------------------------------------------------
// WhatsApp
// ---------------------------------------------------------------------------------------------

export const WHATSAPP_MEDIA_KINDS = ['image', 'audio', 'video', 'document', 'sticker'] as const;
export type WhatsAppMediaKind = (typeof WHATSAPP_MEDIA_KINDS)[number];
const isMediaKind = (type: string): type is WhatsAppMediaKind =>
  (WHATSAPP_MEDIA_KINDS as readonly string[]).includes(type);

export type WhatsAppSend =
  | { kind: 'read'; messageId: string }
  | {
      kind: 'message';
      /** What the caller put in `to` (phone) or `recipient` (BSUID). */
      input: string;
      type: string;
      template?: TemplateFixture;
      bizOpaqueCallbackData?: string;
    };

function validateText(message: Json): void {
  const text = object(message, 'text', 'text');
  string(text, 'body', "text['body']", 4096);
}

function validateMedia(message: Json, kind: WhatsAppMediaKind): void {
  const media = object(message, kind, kind);
  const hasId = media.id !== undefined;
  const hasLink = media.link !== undefined;
  if (hasId === hasLink) {
    throw invalidParam(`Param ${kind} must contain exactly one of 'id' or 'link'.`);
  }
  if (hasId) string(media, 'id', `${kind}['id']`);
  if (hasLink && !/^https?:\/\/\S+$/.test(string(media, 'link', `${kind}['link']`))) {
    throw invalidParam(`Param ${kind}['link'] must be an http(s) URL.`);
  }
  if (media.caption !== undefined) {
    if (kind === 'audio' || kind === 'sticker') {
      throw invalidParam(`Param ${kind}['caption'] is not supported for ${kind} messages.`);
    }
    string(media, 'caption', `${kind}['caption']`, 1024, 0);
  }
  if (kind === 'document') optionalString(media, 'filename', "document['filename']", 240);
}

function validateReplyButtons(interactive: Json): void {
  const action = object(interactive, 'action', "interactive['action']");
  const buttons = array(action, 'buttons', "interactive['action']['buttons']", 1, 3);
  const ids: string[] = [];
  const titles: string[] = [];
  buttons.forEach((button, i) => {
    const path = `interactive['action']['buttons'][${i}]`;
    if (!isObject(button)) throw invalidParam(`Parameter '${path}' must be an object.`);
    if (button.type !== 'reply') throw invalidParam(`Param ${path}['type'] must be "reply".`);
    const reply = object(button, 'reply', `${path}['reply']`);
    ids.push(string(reply, 'id', `${path}['reply']['id']`, 256));
    const title = reply.title;
    if (typeof title !== 'string' || length(title) < 1 || length(title) > 20) {
      // Meta's own wording for this one, which apps tend to surface to operators.
      throw invalidParam('Button title length invalid. Min length: 1, Max length: 20');
    }
    titles.push(title);
  });
  unique(ids, 'Button ids');
  unique(titles, 'Button titles');
}

function validateList(interactive: Json): void {
  const action = object(interactive, 'action', "interactive['action']");
  string(action, 'button', "interactive['action']['button']", 20);
  const sections = array(action, 'sections', "interactive['action']['sections']", 1, 10);
  const rowIds: string[] = [];
  sections.forEach((section, i) => {
    const path = `interactive['action']['sections'][${i}]`;
    if (!isObject(section)) throw invalidParam(`Parameter '${path}' must be an object.`);
    // A title is only required once there is more than one section to tell apart.
    if (sections.length > 1 || section.title !== undefined) {
      string(section, 'title', `${path}['title']`, 24);
    }
    const rows = array(section, 'rows', `${path}['rows']`, 1, 10);
    rows.forEach((row, j) => {
      const rowPath = `${path}['rows'][${j}]`;
      if (!isObject(row)) throw invalidParam(`Parameter '${rowPath}' must be an object.`);
      rowIds.push(string(row, 'id', `${rowPath}['id']`, 200));
      string(row, 'title', `${rowPath}['title']`, 24);
      optionalString(row, 'description', `${rowPath}['description']`, 72);
    });
  });
  if (rowIds.length > 10) {
    throw invalidParam(`A list message can have at most 10 rows in total (got ${rowIds.length}).`);
  }
  unique(rowIds, 'Row ids');
}

function validateInteractive(message: Json): void {
  const interactive = object(message, 'interactive', 'interactive');
  const type = string(interactive, 'type', "interactive['type']");
  if (type !== 'button' && type !== 'list') return; // cta_url, flow, product…: not modelled
  const body = object(interactive, 'body', "interactive['body']");
  string(body, 'text', "interactive['body']['text']", type === 'button' ? 1024 : 4096);
  if (interactive.footer !== undefined) {
    string(
      object(interactive, 'footer', "interactive['footer']"),
      'text',
      "interactive['footer']['text']",
      60,
    );
  }
  if (interactive.header !== undefined) {
    const header = object(interactive, 'header', "interactive['header']");
    const headerType = string(header, 'type', "interactive['header']['type']");
    if (type === 'list' && headerType !== 'text') {
      throw invalidParam('List messages only support a text header.');
    }
    if (headerType === 'text') string(header, 'text', "interactive['header']['text']", 60);
    else if (isMediaKind(headerType) && headerType !== 'audio' && headerType !== 'sticker') {
      validateMedia(header, headerType);
    } else throw invalidParam(`Unsupported header type "${headerType}".`);
  }
  if (type === 'button') validateReplyButtons(interactive);
  else validateList(interactive);
}

function validateTemplate(message: Json, templates: TemplateFixture[]): TemplateFixture {
  const template = object(message, 'template', 'template');
  const name = string(template, 'name', "template['name']", 512);
  const language = object(template, 'language', "template['language']");
  const code = string(language, 'code', "template['language']['code']");
  return checkTemplateSend(templates, name, code, template.components);
}

/**
 * Checks a `POST /{phone-number-id}/messages` body and says what it is. `templates` are the
 * WABA's templates, against which template sends are checked.
 */
export function validateWhatsAppSend(body: unknown, templates: TemplateFixture[]): WhatsAppSend {
  if (!isObject(body))
    throw badRequest('Invalid parameter', 'The request body must be a JSON object.');
  if (body.messaging_product !== 'whatsapp') {
    throw badRequest('The parameter messaging_product is required.');
  }

  if (body.status !== undefined) {
    if (body.status !== 'read') throw invalidParam('Param status must be "read".');
    const messageId = string(body, 'message_id', 'message_id');
    if (body.typing_indicator !== undefined) {
      const typing = object(body, 'typing_indicator', 'typing_indicator');
      if (typing.type !== 'text')
        throw invalidParam('Param typing_indicator[\'type\'] must be "text".');
    }
    return { kind: 'read', messageId };
  }

  // Sending to a business-scoped user id uses `recipient` instead of `to` (from July 2026).
  const input =
    body.to === undefined && typeof body.recipient === 'string'
      ? string(body, 'recipient', 'recipient', 128)
      : string(body, 'to', 'to', 64);
  if (
    body.recipient_type !== undefined &&
    body.recipient_type !== 'individual' &&
    body.recipient_type !== 'group'
  ) {
    throw invalidParam('Param recipient_type must be "individual" or "group".');
  }
  const type = body.type === undefined ? 'text' : string(body, 'type', 'type');
  if (body.context !== undefined) {
    if (type === 'reaction') throw invalidParam('Reactions cannot quote a message (context).');
    string(object(body, 'context', 'context'), 'message_id', "context['message_id']");
  }

  let template: TemplateFixture | undefined;
  if (type === 'text') validateText(body);
  else if (isMediaKind(type)) validateMedia(body, type);
  else if (type === 'interactive') validateInteractive(body);
  else if (type === 'template') template = validateTemplate(body, templates);
  else if (type === 'reaction') {
    const reaction = object(body, 'reaction', 'reaction');
    string(reaction, 'message_id', "reaction['message_id']");
    // An empty emoji removes the reaction, so only the type is checked.
    if (typeof reaction.emoji !== 'string') throw missingParam("reaction['emoji']");
  } else if (type === 'location') {
    const location = object(body, 'location', 'location');
    if (typeof location.latitude !== 'number' || typeof location.longitude !== 'number') {
      throw invalidParam("Params location['latitude'] and location['longitude'] must be numbers.");
    }
  } else if (type === 'contacts') {
    array(body, 'contacts', 'contacts', 1, 257);
  } else {
    throw badRequest('Invalid parameter', `Unsupported message type "${type}".`);
  }

  return {
    kind: 'message',
    input,
    type,
    template,
    bizOpaqueCallbackData:
      typeof body.biz_opaque_callback_data === 'string' ? body.biz_opaque_callback_data : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Messenger / Instagram Send API
// ---------------------------------------------------------------------------------------------

export type MessagingSend =
  | { kind: 'sender_action'; recipientId: string }
  | { kind: 'message'; recipientId: string };

const MESSAGE_TAGS = {
  // Human Agent is the one tag both products accept; the others are Messenger-only.
  messenger: ['HUMAN_AGENT', 'CONFIRMED_EVENT_UPDATE', 'POST_PURCHASE_UPDATE', 'ACCOUNT_UPDATE'],
  instagram: ['HUMAN_AGENT'],
};

/** Messenger errors carry no WhatsApp `error_data`, just the #100 message naming the param. */
const messagingParam = (message: string) =>
  new GraphError({ code: 100, message: `(#100) ${message}` });

export function validateMessagingSend(
  body: unknown,
  product: 'messenger' | 'instagram',
): MessagingSend {
  if (!isObject(body)) throw messagingParam('The request body must be a JSON object');
  const recipient = body.recipient;
  if (!isObject(recipient) || typeof recipient.id !== 'string' || recipient.id === '') {
    throw messagingParam('The parameter recipient is required');
  }
  const recipientId = recipient.id;

  if (body.sender_action !== undefined) {
    const actions = ['typing_on', 'typing_off', 'mark_seen'];
    if (typeof body.sender_action !== 'string' || !actions.includes(body.sender_action)) {
      throw messagingParam(`Param sender_action must be one of {${actions.join(', ')}}`);
    }
    if (body.message !== undefined) {
      throw messagingParam('sender_action cannot be sent together with a message');
    }
    return { kind: 'sender_action', recipientId };
  }

  const messagingType = body.messaging_type;
  if (
    messagingType !== 'RESPONSE' &&
    messagingType !== 'UPDATE' &&
    messagingType !== 'MESSAGE_TAG'
  ) {
    throw messagingParam('Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}');
  }
  if (messagingType === 'MESSAGE_TAG') {
    if (typeof body.tag !== 'string' || !MESSAGE_TAGS[product].includes(body.tag)) {
      throw messagingParam(`Param tag must be one of {${MESSAGE_TAGS[product].join(', ')}}`);
    }
  }

  const message = body.message;
  if (!isObject(message)) throw messagingParam('The parameter message is required');
  const hasText = message.text !== undefined;
  const hasAttachment = message.attachment !== undefined;
  if (hasText === hasAttachment) {
    throw messagingParam('Exactly one of message[text] or message[attachment] must be set');
  }
  if (hasText) {
    if (typeof message.text !== 'string' || message.text === '') {
      throw messagingParam('Param message[text] must be a non-empty UTF-8 encoded string');
    }
    // Messenger caps text at 2000 characters; Instagram at 1000 bytes of UTF-8.
    if (product === 'messenger' && length(message.text) > 2000) {
      throw messagingParam('Length of param message[text] must be less than or equal to 2000');
    }
    if (product === 'instagram' && new TextEncoder().encode(message.text).length > 1000) {
      throw messagingParam(
        'Length of param message[text] must be less than or equal to 1000 bytes',
      );
    }
  }
  if (hasAttachment) {
    const attachment = message.attachment;
    const types = ['image', 'audio', 'video', 'file', 'template'];
    if (
      !isObject(attachment) ||
      typeof attachment.type !== 'string' ||
      !types.includes(attachment.type)
    ) {
      throw messagingParam(`Param message[attachment][type] must be one of {${types.join(', ')}}`);
    }
    if (!isObject(attachment.payload)) {
      throw messagingParam('The parameter message[attachment][payload] is required');
    }
  }
  if (message.quick_replies !== undefined) validateQuickReplies(message.quick_replies, product);
  return { kind: 'message', recipientId };
}

function validateQuickReplies(quickReplies: unknown, product: 'messenger' | 'instagram'): void {
  if (!Array.isArray(quickReplies) || quickReplies.length === 0 || quickReplies.length > 13) {
    throw messagingParam('param message[quick_replies] must have between 1 and 13 elements');
  }
  quickReplies.forEach((reply, i) => {
    const path = `message[quick_replies][${i}]`;
    if (!isObject(reply)) throw messagingParam(`Param ${path} must be an object`);
    const contentType = reply.content_type ?? 'text';
    const allowed =
      product === 'instagram' ? ['text'] : ['text', 'user_phone_number', 'user_email'];
    if (typeof contentType !== 'string' || !allowed.includes(contentType)) {
      throw messagingParam(`Param ${path}[content_type] must be one of {${allowed.join(', ')}}`);
    }
    if (contentType !== 'text') return;
    if (typeof reply.title !== 'string' || reply.title === '' || length(reply.title) > 20) {
      throw messagingParam(
        `Param ${path}[title] must be a non-empty string of at most 20 characters`,
      );
    }
    if (typeof reply.payload !== 'string' && typeof reply.payload !== 'number') {
      throw messagingParam(`The parameter ${path}[payload] is required`);
    }
    if (length(String(reply.payload)) > 1000) {
      throw messagingParam(`Length of param ${path}[payload] must be less than or equal to 1000`);
    }
  });
}
