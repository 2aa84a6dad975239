/**
 * YCloud, a Meta BSP whose API v2 relays Meta's Cloud API (docs/providers.md "YCloud"): its
 * callbacks come to `/webhooks/ycloud/{account}` signed with the endpoint's secret, its message
 * objects inside the envelope are Meta's (snake_case `mime_type`, `button_reply`, …) and its send
 * body is Meta's plus `from`, `to` in E.164 and our `externalId`. So the type-specific reading and
 * writing are Meta's own (parse/whatsapp.ts, messaging/bodies.ts); what is YCloud's here is the
 * signature, the envelope, the status words, the send endpoint and YCloud's own error codes.
 */
import { z } from 'zod';
import { type GraphErrorMeaning, graphErrorMeaning } from '../../../core/messaging/graph-errors';
import type { ContactIdentity, MessageItem } from '../../../db/inbound';
import type { DeliveryStatus, StatusReport } from '../../../db/statuses';
import { GraphApiError } from '../../lib/graph';
import { whatsappBody } from '../../messaging/bodies';
import type { ParsedItem } from '../../webhooks/parse';
import { id, isRecord, issues, statusError, storedOnce } from '../../webhooks/parse/shared';
import { whatsappContent } from '../../webhooks/parse/whatsapp';
import { signatureMatches } from '../../webhooks/signature';
import type {
  CallbackRequest,
  ParsedCallback,
  ProviderAccount,
  ProviderConnection,
  ProviderSendInput,
  WhatsAppAdapter,
} from '../adapter';
import { postToProvider } from '../http';

export const YCLOUD_SIGNATURE_HEADER = 'ycloud-signature';
/**
 * How far `t` may be from our clock, either way. YCloud calls this an application policy, not a
 * deadline of theirs; whether `t` is re-stamped on a retry is unconfirmed (docs/providers.md open
 * question 4): if it is not, retries after five minutes are refused and YCloud gives up on them.
 */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;
export const YCLOUD_SEND_PATH = '/v2/whatsapp/messages/sendDirectly';

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Authenticity
// ---------------------------------------------------------------------------------------------

/** `t=<unix seconds>,s=<hex>` → its parts; null when anything is missing, repeated or malformed. */
export function parseYCloudSignature(
  header: string | null,
): { seconds: number; signatures: Uint8Array[] } | null {
  if (!header) return null;
  let seconds: number | null = null;
  const signatures: Uint8Array[] = [];
  for (const part of header.split(',')) {
    const [key, value, ...extra] = part.trim().split('=');
    if (value === undefined || extra.length > 0) return null;
    if (key === 't') {
      if (seconds !== null || !/^\d{1,12}$/.test(value)) return null;
      seconds = Number(value);
    } else if (key === 's') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return null;
      signatures.push(
        Uint8Array.from(value.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16)),
      );
    }
    // Other keys are ignored, so a scheme YCloud adds later does not lock us out.
  }
  return seconds === null || signatures.length === 0 ? null : { seconds, signatures };
}

/** The bytes YCloud signs: `t`, a period, and the raw body exactly as it arrived. */
function signedPayload(seconds: number, raw: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${seconds}.`);
  const data = new Uint8Array(prefix.length + raw.length);
  data.set(prefix, 0);
  data.set(raw, prefix.length);
  return data;
}

async function authenticate(request: CallbackRequest, secret: string): Promise<boolean> {
  if (secret === '') return false;
  const header = parseYCloudSignature(request.headers.get(YCLOUD_SIGNATURE_HEADER));
  if (!header) return false;
  const skew = Math.abs(request.now.getTime() / 1000 - header.seconds);
  if (!(skew <= SIGNATURE_TOLERANCE_SECONDS)) return false;
  const data = signedPayload(header.seconds, request.raw);
  // The secret is used exactly as YCloud showed it (`whsec_…` included): whether the prefix is
  // part of the key is unconfirmed (docs/providers.md open question 4). No unicode-escaped
  // variant (text null): that is a Meta quirk, YCloud signs the bytes it sends.
  return header.signatures.some((signature) => signatureMatches(signature, data, null, [secret]));
}

// ---------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------

const time = z
  .string()
  .max(64)
  .refine((v) => Number.isFinite(Date.parse(v)), 'not a time')
  .transform((v) => new Date(v));

const envelope = z.object({
  id: z.string().min(1).max(512),
  type: z.string().min(1).max(200),
  apiVersion: z.string().max(32).optional(),
  createTime: time.optional(),
});

const inboundMessage = z.object({
  id,
  wamid: z.string().min(1).max(512).optional(),
  wabaId: id.optional(),
  from: z.string().max(64).optional(),
  fromUserId: z.string().min(1).max(256).optional(),
  customerProfile: z
    .object({ name: z.string().max(512).optional() })
    .loose()
    .optional(),
  to: z.string().max(64).optional(),
  sendTime: time.optional(),
  type: z.string().min(1).max(64),
  context: z
    .object({ from: z.string().max(64).optional(), id: z.string().max(512).optional() })
    .loose()
    .optional(),
});

const reaction = z.object({ message_id: id, emoji: z.string().max(64).optional() });

/** Meta's error as YCloud relays it; YCloud writes Meta's numeric codes as strings. */
const whatsappApiError = z
  .object({
    message: z.string().max(4096).optional(),
    type: z.string().max(256).optional(),
    code: z.union([z.string().max(32), z.number()]).optional(),
    error_subcode: z.union([z.string().max(32), z.number()]).optional(),
    error_data: z
      .object({ details: z.string().max(4096).optional() })
      .loose()
      .optional(),
    fbtrace_id: z.string().max(256).optional(),
  })
  .loose();

const outboundMessage = z.object({
  id,
  wamid: z.string().max(512).optional(),
  wabaId: id.optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(256).optional(),
  /** Ours (the message id we sent as `externalId`); anything else on the number is ignored. */
  externalId: z.string().max(512).optional().catch(undefined),
  status: z.string().min(1).max(64),
  errorCode: z.union([z.string().max(64), z.number()]).optional(),
  errorMessage: z.string().max(4096).optional(),
  whatsappApiError: whatsappApiError.optional(),
  updateTime: time.optional(),
  sendTime: time.optional(),
  deliverTime: time.optional(),
  readTime: time.optional(),
});

const echoMessage = z.object({
  id,
  wamid: z.string().min(1).max(512).optional(),
  wabaId: id.optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  toUserId: z.string().min(1).max(256).optional(),
  customerProfile: z
    .object({ username: z.string().max(256).optional() })
    .loose()
    .optional(),
  type: z.string().min(1).max(64),
  createTime: time.optional(),
  sendTime: time.optional(),
  context: z
    .object({ id: z.string().max(512).optional() })
    .loose()
    .optional(),
});

const templateReview = z
  .object({
    name: z.string().max(512).optional(),
    language: z.string().max(32).optional(),
    status: z.string().max(64).optional(),
    reason: z.string().max(1024).optional(),
  })
  .loose();

type Envelope = z.output<typeof envelope>;

const MEDIA_KINDS = new Set(['image', 'video', 'audio', 'document', 'sticker']);

/** E.164 with or without `+`, as digits (Meta's wa_id form); null when it is not a number. */
export function phoneDigits(value: string): string | null {
  const digits = value.trim().replace(/^\+/, '');
  return /^\d{5,20}$/.test(digits) ? digits : null;
}

/** YCloud's `+8613800000000` as Meta's `8613800000000`, so a customer is one contact either way. */
function customerOf(m: z.output<typeof inboundMessage>): ContactIdentity | string {
  const name = m.customerProfile?.name ?? null;
  if (m.from !== undefined) {
    const phone = phoneDigits(m.from);
    if (!phone) return `from: ${JSON.stringify(m.from)} is not a phone number`;
    return { externalUserId: phone, phone, bsuid: m.fromUserId ?? null, name };
  }
  // A user known only by Meta's business-scoped id: keyed by it, as the Meta parser does.
  if (m.fromUserId !== undefined) {
    return { externalUserId: m.fromUserId, phone: null, bsuid: m.fromUserId, name };
  }
  return 'neither from nor fromUserId';
}

/**
 * Whether a number the callback names is this account's: a callback for another number (a
 * misconfigured endpoint, or a secret shared between accounts) must not land in this one. A
 * callback that does not name it is judged by the signature and URL alone.
 */
function otherNumber(account: ProviderAccount, value: string | undefined): boolean {
  if (value === undefined) return false;
  return phoneDigits(value) !== phoneDigits(account.externalId);
}

function otherWaba(account: ProviderAccount, wabaId: string | undefined): boolean {
  return wabaId !== undefined && account.wabaId !== null && wabaId !== account.wabaId;
}

/** YCloud's media `link` is where the file is fetched from: Meta's parser reads it as `url`. */
function withMediaUrl(raw: Record<string, unknown>, type: string): Record<string, unknown> {
  const media = raw[type];
  if (!MEDIA_KINDS.has(type) || !isRecord(media) || typeof media.link !== 'string') return raw;
  return { ...raw, [type]: { ...media, url: media.link } };
}

/** What a message or reaction carries, the customer's or one the business sent from the app. */
type Sent = {
  path: string;
  id: string;
  type: string;
  timestamp: Date;
  contact: ContactIdentity;
  replyTo: string | undefined;
  /** YCloud's own ids: its message id is what mark-as-read and typing take. */
  ycloud: Record<string, unknown>;
};

/**
 * A message or reaction with its content read by Meta's rules (the object under the type's key is
 * Meta's); `by` says whose it is and whether the agent should answer. Null, with a problem
 * recorded, when the content is unreadable.
 */
function messageOrReaction(
  out: ParsedCallback,
  raw: Record<string, unknown>,
  sent: Sent,
  by: Pick<MessageItem, 'from' | 'wantsReply' | 'lockReason'> & {
    payload: Record<string, unknown>;
  },
): ParsedItem | null {
  const { path, id, type, timestamp, contact } = sent;
  const { from, payload } = by;
  if (type === 'reaction') {
    const r = reaction.safeParse(raw.reaction);
    if (!r.success) {
      out.problems.push(`${path}.reaction: ${issues(r.error)}`);
      return null;
    }
    return storedOnce(path, {
      kind: 'reaction',
      providerMessageId: id,
      targetProviderMessageId: r.data.message_id,
      emoji: r.data.emoji || null,
      timestamp,
      contact,
      from,
      payload: { reaction: raw.reaction, ...payload, ycloud: sent.ycloud },
    });
  }
  const content = whatsappContent(type, withMediaUrl(raw, type));
  if (typeof content === 'string') {
    out.problems.push(`${path}.${content}`);
    return null;
  }
  const envelopeExtras: Record<string, unknown> = {};
  for (const key of ['context', 'referral', 'errors'] as const) {
    if (raw[key] !== undefined) envelopeExtras[key] = raw[key];
  }
  return storedOnce(path, {
    kind: 'message',
    providerMessageId: id,
    timestamp,
    contact,
    from,
    type,
    content: content.content,
    attachments: content.attachments,
    payload: { ...content.extras, ...envelopeExtras, ...payload, ycloud: sent.ycloud },
    replyToProviderMessageId: sent.replyTo ?? null,
    wantsReply: by.wantsReply,
    ...(by.lockReason ? { lockReason: by.lockReason } : {}),
  });
}

/** A payload object read with `schema`; null, with a problem at `path`, when it does not fit. */
function readPayload<T>(
  out: ParsedCallback,
  path: string,
  schema: z.ZodType<T>,
  raw: unknown,
): { data: T; raw: Record<string, unknown> } | null {
  const read = schema.safeParse(raw);
  if (!read.success || !isRecord(raw)) {
    out.problems.push(`${path}: ${read.success ? 'not an object' : issues(read.error)}`);
    return null;
  }
  return { data: read.data, raw };
}

/** Whether a payload names another number (its `field`) or WABA than the account's: a problem. */
function notOurs(
  out: ParsedCallback,
  account: ProviderAccount,
  path: string,
  field: 'to' | 'from',
  number: string | undefined,
  wabaId: string | undefined,
): boolean {
  if (otherNumber(account, number)) {
    out.problems.push(
      `${path}.${field}: ${number} is not this account's number ${account.externalId}`,
    );
    return true;
  }
  if (otherWaba(account, wabaId)) {
    out.problems.push(`${path}.wabaId: ${wabaId} is not this account's WABA ${account.wabaId}`);
    return true;
  }
  return false;
}

function parseInbound(
  event: Envelope,
  body: Record<string, unknown>,
  account: ProviderAccount,
  out: ParsedCallback,
) {
  const path = 'whatsappInboundMessage';
  const read = readPayload(out, path, inboundMessage, body.whatsappInboundMessage);
  if (!read) return;
  const m = read.data;
  if (notOurs(out, account, path, 'to', m.to, m.wabaId)) return;
  const contact = customerOf(m);
  if (typeof contact === 'string') {
    out.problems.push(`${path}: ${contact}`);
    return;
  }
  const timestamp = m.sendTime ?? event.createTime;
  if (!timestamp) {
    out.problems.push(`${path}.sendTime: missing (and no createTime on the event)`);
    return;
  }
  // Meta's id is what the customer's later replies and reactions quote.
  const item = messageOrReaction(
    out,
    read.raw,
    {
      path,
      id: m.wamid ?? m.id,
      type: m.type,
      timestamp,
      contact,
      replyTo: m.context?.id,
      ycloud: { eventId: event.id, id: m.id, ...(m.wabaId ? { wabaId: m.wabaId } : {}) },
    },
    { from: 'customer', wantsReply: true, payload: {} },
  );
  if (item) out.items.push(item);
}

/** Echo types that revise an earlier message rather than send one (Meta's `revoke`, `edit`). */
const REVISIONS = new Set(['revoke', 'edit']);

/**
 * What the business sent from the WhatsApp Business app on a coexistence number: stored as the
 * business's message, and the agent stands back, as for Meta's echoes (parse/whatsapp.ts).
 */
function parseEcho(
  event: Envelope,
  body: Record<string, unknown>,
  account: ProviderAccount,
  out: ParsedCallback,
) {
  const path = 'whatsappMessage';
  const read = readPayload(out, path, echoMessage, body.whatsappMessage);
  if (!read) return;
  const m = read.data;
  if (notOurs(out, account, path, 'from', m.from, m.wabaId)) return;
  if (REVISIONS.has(m.type)) {
    // Their YCloud shape is not documented; recorded rather than stored as a message.
    out.notes.push(`${event.type} ${event.id}: a ${m.type} from the app, not ingested`);
    return;
  }
  const phone = m.to === undefined ? null : phoneDigits(m.to);
  const bsuid = m.toUserId ?? null;
  const externalUserId = phone ?? bsuid;
  if (!externalUserId) {
    out.problems.push(`${path}: echo has no recipient (to / toUserId)`);
    return;
  }
  const timestamp = m.sendTime ?? m.createTime ?? event.createTime;
  if (!timestamp) {
    out.problems.push(`${path}.sendTime: missing (and no createTime)`);
    return;
  }
  const contact: ContactIdentity = {
    externalUserId,
    phone,
    bsuid,
    ...(m.customerProfile?.username ? { username: m.customerProfile.username } : {}),
  };
  const item = messageOrReaction(
    out,
    read.raw,
    {
      path,
      id: m.wamid ?? m.id,
      type: m.type,
      timestamp,
      contact,
      replyTo: m.context?.id,
      ycloud: { eventId: event.id, id: m.id, ...(m.wabaId ? { wabaId: m.wabaId } : {}) },
    },
    {
      from: 'business',
      wantsReply: false,
      lockReason: 'A team member replied from the WhatsApp Business app.',
      payload: { echo: 'whatsapp_business_app' },
    },
  );
  if (item) out.items.push(item);
}

/**
 * YCloud's status words → ours. `accepted` (YCloud took the request) is our `sent`: the send
 * already recorded it, and a late `accepted` never moves a message backwards.
 */
export function ycloudDeliveryStatus(status: string): DeliveryStatus | null {
  switch (status) {
    case 'accepted':
    case 'sent':
      return 'sent';
    case 'delivered':
    case 'read':
    case 'failed':
      return status;
    default:
      return null;
  }
}

type OutboundMessage = z.output<typeof outboundMessage>;

/** When the status happened: its own time when YCloud gives it, else when the object changed. */
function statusTime(m: OutboundMessage, status: DeliveryStatus): Date | undefined {
  const own = status === 'delivered' ? m.deliverTime : status === 'read' ? m.readTime : undefined;
  return own ?? (m.status === 'sent' ? m.sendTime : undefined) ?? m.updateTime;
}

const numeric = (value: string | number | undefined) =>
  value !== undefined && /^\d+$/.test(String(value)) ? Number(value) : undefined;

/** A failed status's error: Meta's codes read with Meta's table, YCloud's with ours. */
function statusFailure(m: OutboundMessage): StatusReport['error'] {
  const api = m.whatsappApiError;
  const code = api?.code ?? m.errorCode;
  const message = api?.message ?? m.errorMessage;
  if (code === undefined) {
    if (message === undefined) return null;
    const reason = ycloudErrorMeaning({ code: undefined, httpStatus: null, message }).reason;
    return { code: 'unknown', title: message, details: null, reason };
  }
  if (numeric(code) !== undefined) {
    return statusError({ code: String(code), message, error_data: api?.error_data });
  }
  const reason = ycloudErrorMeaning({ code: String(code), httpStatus: null, message }).reason;
  return { code: String(code), title: message ?? null, details: null, reason };
}

function parseStatus(
  event: Envelope,
  body: Record<string, unknown>,
  account: ProviderAccount,
  out: ParsedCallback,
) {
  const path = 'whatsappMessage';
  const read = readPayload(out, path, outboundMessage, body.whatsappMessage);
  if (!read) return;
  const { data: m, raw } = read;
  if (notOurs(out, account, path, 'from', m.from, m.wabaId)) return;
  const status = ycloudDeliveryStatus(m.status);
  if (!status) {
    out.problems.push(`${path}.status: ${JSON.stringify(m.status)} is not handled`);
    return;
  }
  const timestamp = statusTime(m, status) ?? event.createTime;
  if (!timestamp) {
    out.problems.push(`${path}: no time on the status (updateTime) nor on the event (createTime)`);
    return;
  }
  const item: ParsedItem = {
    path,
    dedupeKey: `s:${m.id}:${m.status}`,
    item: {
      kind: 'status',
      report: {
        providerMessageId: m.id,
        providerStatus: m.status,
        status,
        timestamp,
        recipientId: m.to === undefined ? null : (phoneDigits(m.to) ?? m.to),
        error: status === 'failed' ? statusFailure(m) : null,
        // The whole object: its `wamid` is Meta's id of our send, which the customer's replies
        // and reactions quote (the contract has no field for it yet).
        payload: { ...raw, ycloudEventId: event.id },
        callbackData: m.externalId ?? null,
      },
    },
  };
  out.items.push(item);
}

function noteTemplateReview(event: Envelope, body: Record<string, unknown>, out: ParsedCallback) {
  const t = templateReview.safeParse(body.whatsappTemplate);
  const what = t.success
    ? [t.data.name, t.data.language, t.data.status, t.data.reason].filter(Boolean).join(' ')
    : 'unreadable whatsappTemplate';
  out.notes.push(`${event.type} ${event.id}: ${what} (template sync picks it up)`);
}

function parse(body: unknown, account: ProviderAccount): ParsedCallback {
  const out: ParsedCallback = { items: [], problems: [], notes: [] };
  if (!isRecord(body)) {
    out.problems.push('(body): not a JSON object');
    return out;
  }
  const read = envelope.safeParse(body);
  if (!read.success) {
    out.problems.push(`(envelope): ${issues(read.error)}`);
    return out;
  }
  const event = read.data;
  if (event.type === 'whatsapp.inbound_message.received') parseInbound(event, body, account, out);
  else if (event.type === 'whatsapp.message.updated') parseStatus(event, body, account, out);
  else if (event.type === 'whatsapp.smb.message.echoes') parseEcho(event, body, account, out);
  else if (event.type === 'whatsapp.template.reviewed') noteTemplateReview(event, body, out);
  else out.notes.push(`${event.type} ${event.id}: event type not used`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

/** Meta's envelope fields that YCloud's body replaces with its own (`from`, `to`, `externalId`). */
const META_ONLY = new Set(['messaging_product', 'recipient_type', 'to', 'recipient']);

/** A phone number in E.164; anything else (a BSUID, which YCloud also takes) as it is. */
function recipientOf(to: string): string {
  return /^\d+$/.test(to) ? `+${to}` : to;
}

function request(input: ProviderSendInput, account: ProviderAccount): Record<string, unknown> {
  const meta = whatsappBody(input.message, { recipient: { to: input.to }, replyTo: input.replyTo });
  const content = Object.fromEntries(Object.entries(meta).filter(([key]) => !META_ONLY.has(key)));
  return {
    from: account.externalId,
    to: recipientOf(input.to),
    ...content,
    // Echoed on every status of this message: a status finds its send even when the answer with
    // YCloud's id was lost.
    externalId: input.messageId,
  };
}

const RETRYING = 'It will be retried automatically.';
const RECONNECT = 'Reconnect the channel in the settings; sending is stopped until then.';

/** YCloud's own codes (docs/providers.md "Send errors and their classification"). */
const YCLOUD_MEANINGS: Record<string, GraphErrorMeaning> = {
  UNAUTHORIZED: {
    classification: 'permanent',
    reason: `YCloud refused the API key. ${RECONNECT}`,
  },
  ACCOUNT_LIMITED: {
    classification: 'permanent',
    reason:
      'YCloud limited this account (a test account may only send to verified numbers). Check the ' +
      'account in the YCloud console.',
  },
  ACCOUNT_UNAVAILABLE: {
    classification: 'permanent',
    reason: 'The YCloud account is unavailable. Check it in the YCloud console.',
  },
  BALANCE_INSUFFICIENT: {
    classification: 'permanent',
    reason: 'The YCloud balance is too low to send. Top up the YCloud account.',
  },
  CONTENT_PROHIBITED: {
    classification: 'permanent',
    reason: 'YCloud refused the content of this message.',
  },
  RECIPIENT_UNSUBSCRIBED: {
    classification: 'permanent',
    reason: 'The customer unsubscribed from this business on YCloud.',
  },
  RECIPIENT_IN_BLOCK_LIST: {
    classification: 'permanent',
    reason: "The customer is on the YCloud account's block list.",
  },
  ACCOUNT_RATE_LIMITED: {
    classification: 'transient',
    reason: `YCloud is limiting how fast this account sends. ${RETRYING}`,
  },
  TOO_MANY_REQUESTS: {
    classification: 'transient',
    reason: `Too many requests to YCloud. ${RETRYING}`,
  },
};

/**
 * What a YCloud error means. A numeric code is Meta's (relayed as `whatsappApiError`) and reads
 * with Meta's table; YCloud's own codes with ours; unknown ones by HTTP status as for Graph:
 * 429 and 5xx are worth retrying, any other refusal is not.
 */
export function ycloudErrorMeaning(error: {
  code: string | undefined;
  subcode?: number;
  httpStatus: number | null;
  message: string | undefined;
}): GraphErrorMeaning {
  const { code, httpStatus, message } = error;
  if (code !== undefined && /^\d+$/.test(code)) {
    return graphErrorMeaning({ code, subcode: error.subcode, httpStatus, message });
  }
  const known = code === undefined ? undefined : YCLOUD_MEANINGS[code];
  if (known) return known;
  const status = httpStatus ?? 0;
  if (status === 401 || status === 403) {
    const detail = message ? ` (${message})` : '';
    return {
      classification: 'permanent',
      reason: `YCloud refused the account${detail}. ${RECONNECT}`,
    };
  }
  if (status === 429 || status >= 500) {
    return { classification: 'transient', reason: `YCloud answered with an error. ${RETRYING}` };
  }
  const detail = message ? `: ${message}` : '.';
  return { classification: 'permanent', reason: `YCloud refused the message${detail}` };
}

const errorBody = z.object({
  error: z
    .object({
      status: z.number().optional(),
      code: z.string().max(128).optional(),
      message: z.string().max(4096).optional(),
      requestId: z.string().max(256).optional(),
      whatsappApiError: whatsappApiError.optional(),
    })
    .loose(),
});

const sendAnswer = z.object({ id: z.string().min(1).max(512) }).loose();

/** A YCloud error answer as a GraphApiError, the meaning worked out here. */
export function ycloudSendError(httpStatus: number, json: unknown): GraphApiError {
  const read = errorBody.safeParse(json);
  if (!read.success) {
    const graphMessage = `HTTP ${httpStatus} without a YCloud error body`;
    return new GraphApiError(
      { httpStatus, code: 'bad_response', graphMessage },
      ycloudErrorMeaning({ code: undefined, httpStatus, message: undefined }),
    );
  }
  const e = read.data.error;
  const api = e.whatsappApiError;
  if (api?.code !== undefined) {
    const code = String(api.code);
    const subcode = numeric(api.error_subcode);
    const details = api.error_data?.details;
    const graphMessage = api.message ?? e.message ?? '';
    return new GraphApiError(
      {
        httpStatus,
        code,
        ...(subcode === undefined ? {} : { subcode }),
        ...(details === undefined ? {} : { details }),
        graphMessage,
        ...(api.fbtrace_id === undefined ? {} : { fbtraceId: api.fbtrace_id }),
      },
      ycloudErrorMeaning({ code, subcode, httpStatus, message: details ?? graphMessage }),
    );
  }
  const code = e.code ?? `http_${httpStatus}`;
  return new GraphApiError(
    {
      httpStatus,
      code,
      graphMessage: e.message ?? '',
      ...(e.requestId === undefined ? {} : { details: `YCloud request ${e.requestId}` }),
    },
    ycloudErrorMeaning({ code: e.code, httpStatus, message: e.message }),
  );
}

/** What a send without an answer means: never reached YCloud (retried), or may have gone (not). */
const YCLOUD_UNANSWERED = {
  unreachable: { classification: 'transient', reason: `YCloud could not be reached. ${RETRYING}` },
  noAnswer: {
    classification: 'transient',
    reason:
      'YCloud did not answer in time: the message may have gone out, so it is not sent again ' +
      'on its own.',
  },
} as const;

async function send(
  body: Record<string, unknown>,
  _account: ProviderAccount,
  connection: ProviderConnection,
): Promise<{ providerMessageId: string }> {
  const response = await postToProvider(
    `${connection.baseUrl.replace(/\/+$/, '')}${YCLOUD_SEND_PATH}`,
    {
      headers: { 'x-api-key': connection.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: connection.timeoutMs,
    },
    YCLOUD_UNANSWERED,
  );
  const { json } = response;
  if (!response.ok) throw ycloudSendError(response.status, json);
  const answer = sendAnswer.safeParse(json);
  if (!answer.success) {
    // Accepted but unreadable: YCloud has it, so sending again could duplicate it. Its statuses
    // still find the message by `externalId`.
    throw new GraphApiError(
      {
        httpStatus: response.status,
        code: 'bad_response',
        graphMessage: 'unexpected YCloud answer',
      },
      {
        classification: 'permanent',
        reason: 'YCloud accepted the message but its answer could not be read.',
      },
    );
  }
  return { providerMessageId: answer.data.id };
}

export const ycloudAdapter: WhatsAppAdapter = {
  provider: 'ycloud',
  authenticate,
  parse,
  request,
  send,
};
