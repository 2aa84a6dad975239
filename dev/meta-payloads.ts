/**
 * Builders for the webhook bodies Meta POSTs for WhatsApp Cloud API, Messenger and Instagram, and
 * the X-Hub-Signature-256 that authenticates them. Shared by the test suite, the Graph API stand-in
 * (status webhooks) and `npm run simulate` (customer messages), so all three speak one wire format.
 *
 * Only WebCrypto and plain objects are used: the same module must load in Node and in workerd.
 * Shapes follow Meta's webhook references (WhatsApp `whatsapp_business_account`, Messenger `page`,
 * Instagram `instagram`); the small builders compose, e.g.
 * `whatsappWebhook(wabaId, whatsappMessagesChange({ …, messages: [whatsappInboundMessage(…)] }))`.
 */

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder();

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A fresh WhatsApp message id; real ones are `wamid.` + base64 of an opaque protobuf. */
export function randomWamid(): string {
  return `wamid.${base64(randomBytes(30))}`;
}

/** A fresh Messenger / Instagram message id (`m_…` on Messenger; opaque base64 on Instagram). */
export function randomMid(): string {
  return `m_${base64(randomBytes(36)).replace(/\+/g, '-').replace(/\//g, '_')}`;
}

/** WhatsApp timestamps are unix seconds sent as a *string*; accept a number for convenience. */
function waTimestamp(timestamp: number | string | undefined): string {
  if (typeof timestamp === 'string') return timestamp;
  return String(timestamp ?? Math.floor(Date.now() / 1000));
}

// ---------------------------------------------------------------------------------------------
// WhatsApp Cloud API (`object: "whatsapp_business_account"`)
// ---------------------------------------------------------------------------------------------

export type WhatsAppMediaKind = 'image' | 'audio' | 'video' | 'document' | 'sticker';

/** What a customer sent, in builder terms; `whatsappInboundMessage` turns it into Meta's shape. */
export type WhatsAppMessageInput =
  | { type: 'text'; text: string }
  | {
      type: WhatsAppMediaKind;
      mediaId: string;
      mimeType: string;
      /** Base64 SHA-256 of the file; a stable placeholder is derived from the id when omitted. */
      sha256?: string;
      caption?: string;
      /** Documents only. */
      filename?: string;
      /** Audio only: true for a push-to-talk voice note. */
      voice?: boolean;
      /** Stickers only. */
      animated?: boolean;
      /** Lookaside download URL, rolling out since Nov 2025; absent on older payloads. */
      url?: string;
    }
  | {
      type: 'location';
      latitude: number;
      longitude: number;
      name?: string;
      address?: string;
      url?: string;
    }
  | { type: 'contacts'; contacts: WhatsAppContactCard[] }
  | { type: 'interactive'; buttonReply: { id: string; title: string } }
  | {
      type: 'interactive';
      listReply: { id: string; title: string; description?: string };
    }
  | { type: 'button'; payload: string; text: string }
  | { type: 'reaction'; messageId: string; emoji?: string }
  | { type: 'unsupported'; unsupportedType: string; errors?: WhatsAppErrorInput[] };

/** A shared contact card, already in Meta's wire shape (it is passed through unchanged). */
export interface WhatsAppContactCard {
  name: { formatted_name: string; first_name?: string; last_name?: string };
  phones?: Array<{ phone: string; wa_id?: string; type?: string }>;
  emails?: Array<{ email: string; type?: string }>;
  org?: { company?: string; title?: string };
  [key: string]: unknown;
}

/** `messages[].context`: a reply quote, a forward marker or a "Message business" product. */
export interface WhatsAppContext {
  from?: string;
  id?: string;
  forwarded?: boolean;
  frequently_forwarded?: boolean;
  referred_product?: { catalog_id: string; product_retailer_id: string };
}

/** Click-to-WhatsApp ad referral, Meta's wire shape. */
export interface WhatsAppReferral {
  source_url: string;
  source_id: string;
  source_type: 'ad' | 'post';
  headline?: string;
  body?: string;
  media_type?: 'image' | 'video';
  image_url?: string;
  video_url?: string;
  thumbnail_url?: string;
  ctwa_clid?: string;
}

export interface WhatsAppErrorInput {
  code: number;
  title: string;
  details?: string;
}

export interface WhatsAppWireError {
  code: number;
  title: string;
  message: string;
  error_data?: { details: string };
  href?: string;
}

export type WhatsAppWireMessage = {
  from?: string;
  from_user_id?: string;
  id: string;
  timestamp: string;
  type: string;
  context?: WhatsAppContext;
  referral?: WhatsAppReferral;
  errors?: WhatsAppWireError[];
} & Record<string, unknown>;

export interface WhatsAppWireContact {
  profile: { name: string; username?: string };
  wa_id?: string;
  user_id?: string;
}

export type WhatsAppStatusValue = 'sent' | 'delivered' | 'read' | 'failed' | 'played';

export interface WhatsAppPricing {
  billable?: boolean;
  pricing_model: 'PMP' | 'CBP';
  type?: 'regular' | 'free_customer_service' | 'free_entry_point';
  category:
    | 'marketing'
    | 'marketing_lite'
    | 'utility'
    | 'authentication'
    | 'authentication_international'
    | 'service'
    | 'referral_conversion';
}

export interface WhatsAppWireStatus {
  id: string;
  status: WhatsAppStatusValue;
  timestamp: string;
  recipient_id: string;
  recipient_user_id?: string;
  biz_opaque_callback_data?: string;
  pricing?: WhatsAppPricing;
  errors?: WhatsAppWireError[];
}

export interface WhatsAppMessagesValue {
  messaging_product: 'whatsapp';
  metadata: { display_phone_number: string; phone_number_id: string };
  contacts?: WhatsAppWireContact[];
  messages?: WhatsAppWireMessage[];
  statuses?: WhatsAppWireStatus[];
  errors?: WhatsAppWireError[];
}

export interface WhatsAppChange {
  value: WhatsAppMessagesValue | Record<string, unknown>;
  field: string;
}

export interface WhatsAppWebhookBody {
  object: 'whatsapp_business_account';
  entry: Array<{ id: string; changes: WhatsAppChange[] }>;
}

/** Meta repeats `title` as `message` and links the error-code page; both are on every error. */
export function whatsappError(error: WhatsAppErrorInput): WhatsAppWireError {
  return {
    code: error.code,
    title: error.title,
    message: error.title,
    ...(error.details === undefined ? {} : { error_data: { details: error.details } }),
    href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
  };
}

/**
 * Webhooks always carry a media sha256, but a test rarely has the bytes at hand; a stable,
 * correctly sized placeholder keeps the payload realistic without pretending to be a real hash.
 */
function placeholderSha256(mediaId: string): string {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < mediaId.length; i++) {
    const at = i % 32;
    bytes[at] = ((bytes[at] ?? 0) * 31 + mediaId.charCodeAt(i)) & 0xff;
  }
  return base64(bytes);
}

/** The type-specific part of an inbound message, keyed by its `type` as Meta nests it. */
function whatsappMessageContent(message: WhatsAppMessageInput): Record<string, unknown> {
  switch (message.type) {
    case 'text':
      return { text: { body: message.text } };
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const media: Record<string, unknown> = {};
      if (message.caption !== undefined && message.type !== 'audio') {
        media.caption = message.caption;
      }
      if (message.type === 'document') media.filename = message.filename ?? 'document';
      media.mime_type = message.mimeType;
      media.sha256 = message.sha256 ?? placeholderSha256(message.mediaId);
      media.id = message.mediaId;
      if (message.url !== undefined) media.url = message.url;
      if (message.type === 'audio') media.voice = message.voice ?? false;
      if (message.type === 'sticker') media.animated = message.animated ?? false;
      return { [message.type]: media };
    }
    case 'location': {
      const { type: _type, ...location } = message;
      return { location };
    }
    case 'contacts':
      return { contacts: message.contacts };
    case 'interactive':
      return 'buttonReply' in message
        ? { interactive: { type: 'button_reply', button_reply: message.buttonReply } }
        : { interactive: { type: 'list_reply', list_reply: message.listReply } };
    case 'button':
      return { button: { payload: message.payload, text: message.text } };
    case 'reaction':
      return {
        reaction: {
          message_id: message.messageId,
          ...(message.emoji === undefined ? {} : { emoji: message.emoji }),
        },
      };
    case 'unsupported':
      return {
        unsupported: { type: message.unsupportedType },
        errors: (
          message.errors ?? [
            {
              code: 131051,
              title: 'Message type unknown',
              details: 'Message type is currently not supported.',
            },
          ]
        ).map(whatsappError),
      };
  }
}

export interface WhatsAppInboundMessageOptions {
  /** Customer phone (digits, no `+`); Meta omits it for username-only users. */
  from?: string;
  /** Business-scoped user id (`US.…`); sent as `from_user_id` on every message since April 2026. */
  userId?: string;
  id?: string;
  /** Unix seconds. */
  timestamp?: number | string;
  message: WhatsAppMessageInput;
  context?: WhatsAppContext;
  referral?: WhatsAppReferral;
}

/** One element of `value.messages[]`. */
export function whatsappInboundMessage(
  options: WhatsAppInboundMessageOptions,
): WhatsAppWireMessage {
  if (options.from === undefined && options.userId === undefined) {
    throw new Error('whatsappInboundMessage: need `from` (phone) or `userId` (BSUID)');
  }
  return {
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.from === undefined ? {} : { from: options.from }),
    ...(options.userId === undefined ? {} : { from_user_id: options.userId }),
    id: options.id ?? randomWamid(),
    timestamp: waTimestamp(options.timestamp),
    ...(options.referral === undefined ? {} : { referral: options.referral }),
    type: options.message.type,
    ...whatsappMessageContent(options.message),
  };
}

/** One element of `value.contacts[]`: who sent the messages in the same change. */
export function whatsappContact(options: {
  from?: string;
  userId?: string;
  name?: string;
  username?: string;
}): WhatsAppWireContact {
  return {
    profile: {
      name: options.name ?? '',
      ...(options.username === undefined ? {} : { username: options.username }),
    },
    ...(options.from === undefined ? {} : { wa_id: options.from }),
    ...(options.userId === undefined ? {} : { user_id: options.userId }),
  };
}

export interface WhatsAppStatusOptions {
  messageId: string;
  status: WhatsAppStatusValue;
  /** The customer's wa_id (phone digits). */
  recipientId: string;
  /** The customer's BSUID; Meta leaves it out of `failed` statuses for sends to a phone. */
  recipientUserId?: string;
  /** Unix seconds. */
  timestamp?: number | string;
  pricing?: WhatsAppPricing;
  bizOpaqueCallbackData?: string;
  errors?: WhatsAppErrorInput[];
}

/** One element of `value.statuses[]`. */
export function whatsappStatus(options: WhatsAppStatusOptions): WhatsAppWireStatus {
  return {
    id: options.messageId,
    status: options.status,
    timestamp: waTimestamp(options.timestamp),
    recipient_id: options.recipientId,
    ...(options.recipientUserId === undefined
      ? {}
      : { recipient_user_id: options.recipientUserId }),
    ...(options.bizOpaqueCallbackData === undefined
      ? {}
      : { biz_opaque_callback_data: options.bizOpaqueCallbackData }),
    ...(options.pricing === undefined ? {} : { pricing: options.pricing }),
    ...(options.errors === undefined ? {} : { errors: options.errors.map(whatsappError) }),
  };
}

/** The `value` of a `field: "messages"` change for one business phone number. */
export function whatsappMessagesChange(options: {
  phoneNumberId: string;
  displayPhoneNumber: string;
  contacts?: WhatsAppWireContact[];
  messages?: WhatsAppWireMessage[];
  statuses?: WhatsAppWireStatus[];
  errors?: WhatsAppErrorInput[];
}): WhatsAppChange {
  const value: WhatsAppMessagesValue = {
    messaging_product: 'whatsapp',
    metadata: {
      display_phone_number: options.displayPhoneNumber,
      phone_number_id: options.phoneNumberId,
    },
  };
  if (options.contacts !== undefined) value.contacts = options.contacts;
  if (options.messages !== undefined) value.messages = options.messages;
  if (options.statuses !== undefined) value.statuses = options.statuses;
  if (options.errors !== undefined) value.errors = options.errors.map(whatsappError);
  return { value, field: 'messages' };
}

/** The outer envelope: one `entry` for the WABA holding the given changes. */
export function whatsappWebhook(wabaId: string, ...changes: WhatsAppChange[]): WhatsAppWebhookBody {
  return { object: 'whatsapp_business_account', entry: [{ id: wabaId, changes }] };
}

export interface WhatsAppNumber {
  wabaId: string;
  phoneNumberId: string;
  /** As Meta shows it in `metadata.display_phone_number`, e.g. "15550001111". */
  displayPhoneNumber: string;
}

/** A webhook with one `messages` change of one business number. */
function numberWebhook(
  { wabaId, phoneNumberId, displayPhoneNumber }: WhatsAppNumber,
  content: {
    contacts?: WhatsAppWireContact[];
    messages?: WhatsAppWireMessage[];
    statuses?: WhatsAppWireStatus[];
  },
): WhatsAppWebhookBody {
  return whatsappWebhook(
    wabaId,
    whatsappMessagesChange({ phoneNumberId, displayPhoneNumber, ...content }),
  );
}

/** A complete webhook for one inbound customer message, with the matching `contacts[]` entry. */
export function whatsappMessageBody(
  options: WhatsAppNumber &
    WhatsAppInboundMessageOptions & {
      /** Profile name. */
      name?: string;
      username?: string;
    },
): WhatsAppWebhookBody {
  return numberWebhook(options, {
    contacts: [whatsappContact(options)],
    messages: [whatsappInboundMessage(options)],
  });
}

/** A complete webhook for one delivery status of a message the business sent. */
export function whatsappStatusBody(
  options: WhatsAppNumber & WhatsAppStatusOptions,
): WhatsAppWebhookBody {
  return numberWebhook(options, { statuses: [whatsappStatus(options)] });
}

// ---------------------------------------------------------------------------------------------
// Messenger (`object: "page"`) and Instagram (`object: "instagram"`)
// ---------------------------------------------------------------------------------------------

export type MessagingObject = 'page' | 'instagram';

/** `message.attachments[]` in Meta's wire shape (URLs in `payload`). */
export interface MessagingAttachment {
  type:
    | 'image'
    | 'audio'
    | 'video'
    | 'file'
    | 'sticker'
    | 'reel'
    | 'ig_reel'
    | 'post'
    | 'ig_post'
    | 'share'
    | 'story_mention'
    | 'ephemeral'
    | 'fallback'
    | 'template';
  payload: {
    url?: string;
    title?: string;
    sticker_id?: number;
    reel_video_id?: string;
    id?: string;
    [key: string]: unknown;
  };
}

export interface MessagingWireMessage {
  mid: string;
  text?: string;
  attachments?: MessagingAttachment[];
  quick_reply?: { payload: string };
  reply_to?: { mid: string; is_self_reply?: boolean } | { story: { url: string; id: string } };
  is_echo?: boolean;
  app_id?: number | string;
  metadata?: string;
  is_deleted?: boolean;
  is_unsupported?: boolean;
}

/** The event-specific part of a `messaging[]` item; exactly one key, as Meta sends it. */
export type MessagingPayload =
  | { message: MessagingWireMessage }
  | { delivery: { mids?: string[]; watermark: number } }
  | { read: { watermark: number } | { mid: string } }
  | { postback: { mid?: string; title: string; payload: string } }
  | {
      reaction: {
        mid: string;
        action: 'react' | 'unreact';
        reaction?: string;
        emoji?: string;
      };
    };

export type MessagingEvent = {
  sender: { id: string };
  recipient: { id: string };
  timestamp: number;
} & MessagingPayload;

export interface MessagingWebhookBody {
  object: MessagingObject;
  entry: Array<{ id: string; time: number; messaging: MessagingEvent[] }>;
}

/**
 * One `messaging[]` item. Inbound events come *from* the user; echoes of the business's own sends
 * are reversed (sender = Page / IG account), which `fromAccount` expresses.
 */
export function messagingEvent(
  options: { accountId: string; userId: string; timestamp?: number; fromAccount?: boolean },
  payload: MessagingPayload,
): MessagingEvent {
  const user = { id: options.userId };
  const account = { id: options.accountId };
  return {
    sender: options.fromAccount ? account : user,
    recipient: options.fromAccount ? user : account,
    timestamp: options.timestamp ?? Date.now(),
    ...payload,
  };
}

/** The outer envelope; `entry[].time` and event timestamps are milliseconds, unlike WhatsApp. */
export function messagingWebhook(
  object: MessagingObject,
  accountId: string,
  events: MessagingEvent[],
  time?: number,
): MessagingWebhookBody {
  return {
    object,
    entry: [{ id: accountId, time: time ?? events[0]?.timestamp ?? Date.now(), messaging: events }],
  };
}

/** Meta sends `app_id` as a JSON number; keep non-numeric test ids as strings. */
function wireAppId(appId: string): number | string {
  return /^\d{1,15}$/.test(appId) ? Number(appId) : appId;
}

interface MessagingMessageOptions {
  mid?: string;
  text?: string;
  attachments?: MessagingAttachment[];
  quickReplyPayload?: string;
  replyToMid?: string;
  /** Milliseconds. */
  timestamp?: number;
  /** An echo of a message the Page / IG account sent (from this app when `appId` is ours). */
  isEcho?: boolean;
  appId?: string;
  /** What the sending app set on the send; echoes carry it back (Messenger). */
  metadata?: string;
}

function messagingMessage(options: MessagingMessageOptions): MessagingWireMessage {
  return {
    mid: options.mid ?? randomMid(),
    ...(options.isEcho ? { is_echo: true } : {}),
    ...(options.isEcho && options.appId !== undefined ? { app_id: wireAppId(options.appId) } : {}),
    ...(options.isEcho && options.metadata !== undefined ? { metadata: options.metadata } : {}),
    ...(options.text === undefined ? {} : { text: options.text }),
    ...(options.attachments === undefined ? {} : { attachments: options.attachments }),
    ...(options.quickReplyPayload === undefined
      ? {}
      : { quick_reply: { payload: options.quickReplyPayload } }),
    ...(options.replyToMid === undefined ? {} : { reply_to: { mid: options.replyToMid } }),
  };
}

/** A webhook carrying one event, as Meta sends most of them. */
function oneEventWebhook(
  object: MessagingObject,
  from: Parameters<typeof messagingEvent>[0],
  payload: MessagingPayload,
): MessagingWebhookBody {
  return messagingWebhook(object, from.accountId, [messagingEvent(from, payload)]);
}

/** A message between a customer and a Page (`page`) or IG account (`instagram`). */
export function messagingMessageBody(
  object: MessagingObject,
  accountId: string,
  userId: string,
  options: MessagingMessageOptions,
): MessagingWebhookBody {
  return oneEventWebhook(
    object,
    { accountId, userId, timestamp: options.timestamp, fromAccount: options.isEcho },
    { message: messagingMessage(options) },
  );
}

/** A Messenger customer (PSID) and the Page they talk to. */
type PageParties = { pageId: string; psid: string; timestamp?: number };
/** An Instagram customer (IGSID) and the IG account they talk to. */
type InstagramParties = { igId: string; igsid: string; timestamp?: number };

const fromPageUser = (o: PageParties) => ({
  accountId: o.pageId,
  userId: o.psid,
  timestamp: o.timestamp,
});
const fromInstagramUser = (o: InstagramParties) => ({
  accountId: o.igId,
  userId: o.igsid,
  timestamp: o.timestamp,
});

/** A Messenger message from a customer (PSID) to a Page, or an echo when `isEcho`. */
export function messengerMessageBody(
  options: PageParties & MessagingMessageOptions,
): MessagingWebhookBody {
  return messagingMessageBody('page', options.pageId, options.psid, options);
}

/** An Instagram DM from a customer (IGSID); Instagram delivers echoes on this same field. */
export function instagramMessageBody(
  options: InstagramParties & MessagingMessageOptions,
): MessagingWebhookBody {
  return messagingMessageBody('instagram', options.igId, options.igsid, options);
}

/** Messenger `message_deliveries`: the user's device got the messages up to `watermark` (ms). */
export function messengerDeliveryBody(
  options: PageParties & { mids?: string[]; watermark: number },
): MessagingWebhookBody {
  const delivery = {
    ...(options.mids === undefined ? {} : { mids: options.mids }),
    watermark: options.watermark,
  };
  return oneEventWebhook('page', fromPageUser(options), { delivery });
}

/** Messenger `message_reads`: everything the Page sent up to `watermark` (ms) was seen. */
export function messengerReadBody(
  options: PageParties & { watermark: number },
): MessagingWebhookBody {
  return oneEventWebhook('page', fromPageUser(options), { read: { watermark: options.watermark } });
}

/** Instagram `messaging_seen`: unlike Messenger it names the message (`mid`), not a watermark. */
export function instagramReadBody(
  options: InstagramParties & { mid: string },
): MessagingWebhookBody {
  return oneEventWebhook('instagram', fromInstagramUser(options), { read: { mid: options.mid } });
}

/** A button / Get Started / icebreaker tap (`messaging_postbacks`). */
export function postbackBody(options: {
  object: MessagingObject;
  accountId: string;
  userId: string;
  title: string;
  payload: string;
  mid?: string;
  timestamp?: number;
}): MessagingWebhookBody {
  return oneEventWebhook(options.object, options, {
    postback: { mid: options.mid ?? randomMid(), title: options.title, payload: options.payload },
  });
}

/** Several webhook bodies of one object type batched into one POST, as Meta may deliver them. */
export function batchWebhooks<T extends WhatsAppWebhookBody | MessagingWebhookBody>(
  first: T,
  ...rest: T[]
): T {
  const entry: unknown[] = [];
  for (const body of [first, ...rest]) entry.push(...body.entry);
  return { ...first, entry } as T;
}

// ---------------------------------------------------------------------------------------------
// Serialisation and signatures
// ---------------------------------------------------------------------------------------------

/**
 * JSON as Meta puts it on the wire: `/` as `\/` and every non-ASCII UTF-16 unit as a lowercase
 * `\uXXXX`. Receivers must therefore HMAC the raw bytes: re-serialising with JSON.stringify gives
 * different bytes, which is exactly the bug this catches. `escape: false` gives plain JSON.
 */
export function encodeMetaBody(body: unknown, options: { escape?: boolean } = {}): string {
  const json = JSON.stringify(body);
  if (options.escape === false) return json;
  return json.replace(/[\u0080-\uffff]|\//g, (char) =>
    char === '/' ? '\\/' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

async function hmac(
  hash: 'SHA-256' | 'SHA-1',
  rawBody: string | Uint8Array,
  secret: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash },
    false,
    ['sign'],
  );
  const bytes = typeof rawBody === 'string' ? encoder.encode(rawBody) : rawBody;
  const mac = await crypto.subtle.sign('HMAC', key, bytes as Uint8Array<ArrayBuffer>);
  return hex(new Uint8Array(mac));
}

/** `X-Hub-Signature-256` value: `sha256=` + hex HMAC-SHA256(app secret, raw body bytes). */
export async function signMetaBody(
  rawBody: string | Uint8Array,
  appSecret: string,
): Promise<string> {
  return `sha256=${await hmac('SHA-256', rawBody, appSecret)}`;
}

/**
 * The headers Meta sends with every webhook POST. The legacy SHA-1 `X-Hub-Signature` is still
 * sent alongside, so a receiver that checks it by mistake still "works" here as it would live.
 */
export async function metaWebhookHeaders(
  rawBody: string | Uint8Array,
  appSecret: string,
): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'user-agent': 'facebookexternalua',
    'x-hub-signature': `sha1=${await hmac('SHA-1', rawBody, appSecret)}`,
    'x-hub-signature-256': await signMetaBody(rawBody, appSecret),
  };
}

/** A ready-to-send webhook POST: Meta-escaped JSON body plus signature headers. */
export async function signedWebhookRequest(
  url: string,
  body: unknown,
  appSecret: string,
): Promise<Request> {
  const raw = encodeMetaBody(body);
  return new Request(url, {
    method: 'POST',
    headers: await metaWebhookHeaders(raw, appSecret),
    body: raw,
  });
}
