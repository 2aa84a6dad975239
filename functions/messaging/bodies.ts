import type { MessagingMessage, WhatsAppMessage } from '../../core/messaging/kinds';

/**
 * Graph request bodies for each message kind: WhatsApp Cloud API `POST /{phone_number_id}/messages`
 * and Messenger / Instagram Send API `POST /{page_or_ig_id}/messages` (meta-platform reference §4).
 * Pure functions of an already validated message, so the exact bytes sent are easy to test.
 */

export type WhatsAppRecipient = { to: string } | { recipient: string };

/**
 * Where a WhatsApp message goes: the phone number when we know one, else the business-scoped user
 * id (`recipient`, accepted by Meta from July 2026) for customers who only gave a username.
 */
export function whatsappRecipient(contact: {
  phone: string | null;
  externalUserId: string;
  bsuid: string | null;
}): WhatsAppRecipient {
  if (contact.phone) return { to: contact.phone };
  if (/^\+?\d{6,20}$/.test(contact.externalUserId)) return { to: contact.externalUserId };
  return { recipient: contact.bsuid ?? contact.externalUserId };
}

const mediaObject = (m: { id?: string; link?: string }) =>
  m.id !== undefined ? { id: m.id } : { link: m.link };

/** `{ [key]: value }` when the value is given, else nothing: Graph refuses explicit nulls. */
function given<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}

type ButtonsMessage = Extract<WhatsAppMessage, { type: 'buttons' }>;
type ListMessage = Extract<WhatsAppMessage, { type: 'list' }>;
type TemplateMessage = Extract<WhatsAppMessage, { type: 'template' }>;

function whatsappContent(message: WhatsAppMessage, targetProviderMessageId: string | null) {
  switch (message.type) {
    case 'text':
      return {
        type: 'text',
        text: { body: message.text, ...given('preview_url', message.preview_url) },
      };
    case 'image':
    case 'video':
      return {
        type: message.type,
        [message.type]: { ...mediaObject(message), ...given('caption', message.caption) },
      };
    case 'document':
      return {
        type: 'document',
        document: {
          ...mediaObject(message),
          ...given('caption', message.caption),
          ...given('filename', message.filename),
        },
      };
    case 'audio':
    case 'sticker':
      return { type: message.type, [message.type]: mediaObject(message) };
    case 'buttons':
      return { type: 'interactive', interactive: replyButtons(message) };
    case 'list':
      return { type: 'interactive', interactive: listMenu(message) };
    case 'template':
      return { type: 'template', template: templateContent(message) };
    case 'reaction':
      return {
        type: 'reaction',
        reaction: { message_id: targetProviderMessageId, emoji: message.emoji },
      };
  }
}

function replyButtons(message: ButtonsMessage) {
  const header = message.header;
  return {
    type: 'button',
    ...given(
      'header',
      header &&
        (header.type === 'text'
          ? { type: 'text', text: header.text }
          : { type: header.type, [header.type]: mediaObject(header) }),
    ),
    body: { text: message.body },
    ...given('footer', message.footer === undefined ? undefined : { text: message.footer }),
    action: {
      buttons: message.buttons.map((b) => ({ type: 'reply', reply: { id: b.id, title: b.title } })),
    },
  };
}

function listMenu(message: ListMessage) {
  return {
    type: 'list',
    ...given(
      'header',
      message.header === undefined ? undefined : { type: 'text', text: message.header },
    ),
    body: { text: message.body },
    ...given('footer', message.footer === undefined ? undefined : { text: message.footer }),
    action: {
      button: message.button,
      sections: message.sections.map((s) => ({
        ...given('title', s.title),
        rows: s.rows.map((r) => ({
          id: r.id,
          title: r.title,
          ...given('description', r.description),
        })),
      })),
    },
  };
}

function templateContent(message: TemplateMessage) {
  const components = message.components ?? [];
  return {
    name: message.name,
    language: { code: message.language },
    ...(components.length > 0
      ? {
          // Graph takes the button index as a string.
          components: components.map((c) =>
            c.type === 'button' ? { ...c, index: String(c.index) } : c,
          ),
        }
      : {}),
  };
}

/**
 * A WhatsApp send. `replyTo` quotes a message (context); for a reaction it is the message reacted
 * to. `callbackData` (our message id) comes back in Meta's status webhooks as
 * `biz_opaque_callback_data`, so a status can be tied to its message even before the provider id
 * is stored.
 */
export function whatsappBody(
  message: WhatsAppMessage,
  input: { recipient: WhatsAppRecipient; replyTo?: string | null; callbackData?: string },
): Record<string, unknown> {
  const isReaction = message.type === 'reaction';
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    ...input.recipient,
    ...(input.replyTo && !isReaction ? { context: { message_id: input.replyTo } } : {}),
    ...whatsappContent(message, input.replyTo ?? null),
    ...(input.callbackData ? { biz_opaque_callback_data: input.callbackData } : {}),
  };
}

function quickReplies(text: string, replies: Array<{ title: string; payload: string }>) {
  return {
    text,
    quick_replies: replies.map((r) => ({
      content_type: 'text',
      title: r.title,
      payload: r.payload,
    })),
  };
}

function messagingContent(message: MessagingMessage) {
  switch (message.type) {
    case 'text':
      return { text: message.text };
    case 'quick_replies':
      return quickReplies(message.text, message.quick_replies);
    case 'buttons':
      // No reply buttons here: they go as quick replies, the button id as the payload.
      return quickReplies(
        message.body,
        message.buttons.map((b) => ({ title: b.title, payload: b.id })),
      );
    default:
      return {
        attachment: {
          type: message.type === 'document' ? 'file' : message.type,
          payload:
            message.link !== undefined
              ? { url: message.link, is_reusable: true }
              : { attachment_id: message.id },
        },
      };
  }
}

/**
 * A Messenger / Instagram send; HUMAN_AGENT is only ever set by the window rules for operators.
 * `metadata` (our message id, Messenger) comes back in the echo of the send, so the echo can name
 * the message even when Meta's answer was lost (db/outbound/claim.ts).
 */
export function messagingBody(
  message: MessagingMessage,
  input: {
    recipientId: string;
    messagingType: 'RESPONSE' | 'MESSAGE_TAG';
    tag?: 'HUMAN_AGENT';
    metadata?: string;
  },
): Record<string, unknown> {
  return {
    recipient: { id: input.recipientId },
    messaging_type: input.messagingType,
    ...(input.tag ? { tag: input.tag } : {}),
    message: {
      ...messagingContent(message),
      ...(input.metadata ? { metadata: input.metadata } : {}),
    },
  };
}
