/**
 * WhatsApp Cloud API changes (`object: whatsapp_business_account`): customer messages, statuses
 * and account errors (`messages`), what the business sent from the WhatsApp Business app
 * (`smb_message_echoes`) and template reviews (`message_template_status_update`).
 */
import { z } from 'zod';
import type { ContactIdentity, DeletionItem, MessageItem, ReactionItem } from '../../../db/inbound';
import type { Attachment } from '../../../db/schema';
import { deliveryStatusOf } from '../../../db/statuses';
import type { AccountGroup, ParsedItem, ParsedWebhook } from './index';
import {
  arrayAt,
  group,
  id,
  isRecord,
  issues,
  readOrReport,
  secondsTimestamp,
  shortText,
  statusError,
  storedOnce,
} from './shared';

const waEntry = z.object({ id: id, changes: z.array(z.unknown()) });
const waChange = z.object({ field: z.string().max(200), value: z.unknown() });
const waMetadata = z.object({
  phone_number_id: id,
  display_phone_number: z.string().max(64).optional(),
});
const waError = z.object({
  code: z.union([z.number(), z.string().max(32)]),
  title: shortText.optional(),
  message: shortText.optional(),
  error_data: z.object({ details: z.string().max(4096).optional() }).optional(),
});
const waProfileContact = z.object({
  profile: z
    .object({ name: z.string().max(512).optional(), username: z.string().max(256).optional() })
    .optional(),
  wa_id: z.string().max(64).optional(),
  user_id: z.string().max(256).optional(),
});
const waContext = z.object({
  from: z.string().max(64).optional(),
  id: z.string().max(512).optional(),
  forwarded: z.boolean().optional(),
  frequently_forwarded: z.boolean().optional(),
});
/** What a customer's message and an echo of the business's both carry. */
const waSentBase = z.object({
  id,
  timestamp: secondsTimestamp,
  type: z.string().min(1).max(64),
  context: waContext.optional(),
});
const waMessage = waSentBase.extend({
  from: z.string().max(64).optional(),
  from_user_id: z.string().max(256).optional(),
});
const waEcho = waSentBase.extend({
  to: z.string().max(64).optional(),
  to_user_id: z.string().max(256).optional(),
  recipient_user_id: z.string().max(256).optional(),
});
const waStatus = z.object({
  id,
  status: z.string().max(64),
  timestamp: secondsTimestamp,
  recipient_id: z.string().max(256).optional(),
  recipient_user_id: z.string().max(256).optional(),
  errors: z.array(waError).optional(),
  /** Echoed from the send (ours: our message id); any text an app on the number chose. */
  biz_opaque_callback_data: z.string().max(512).optional().catch(undefined),
});
const waMedia = z.object({
  id: z.string().max(512).optional(),
  mime_type: z.string().max(255).optional(),
  sha256: z.string().max(128).optional(),
  caption: z.string().optional(),
  filename: z.string().max(1024).optional(),
  url: z.string().max(4096).optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
});
const waLocation = z.object({
  latitude: z.coerce.number().min(-90).max(90),
  longitude: z.coerce.number().min(-180).max(180),
  name: z.string().max(1024).optional(),
  address: z.string().max(2048).optional(),
  url: z.string().max(4096).optional(),
});
const waContactCards = z.array(
  z.looseObject({
    name: z.looseObject({ formatted_name: z.string().max(1024).optional() }).optional(),
  }),
);
const waInteractive = z.object({
  type: z.string().max(64),
  button_reply: z.object({ id: z.string().max(1024), title: z.string().max(1024) }).optional(),
  list_reply: z
    .object({
      id: z.string().max(1024),
      title: z.string().max(1024),
      description: z.string().max(2048).optional(),
    })
    .optional(),
  nfm_reply: z
    .object({ body: z.string().optional(), name: z.string().max(256).optional() })
    .optional(),
});
const waButton = z.object({
  payload: z.string().max(4096).optional(),
  text: z.string().max(4096).optional(),
});
const waReaction = z.object({ message_id: id, emoji: z.string().max(64).optional() });
const waTemplateStatus = z.object({
  event: z.string().min(1).max(64),
  message_template_id: id,
  message_template_name: z.string().max(512).optional(),
  message_template_language: z.string().max(32).optional(),
  reason: z.string().max(256).nullable().optional(),
});

export type WaContent = {
  content: string | null;
  attachments: Attachment[];
  extras: Record<string, unknown>;
};

const waMediaKinds = new Set(['image', 'audio', 'video', 'document', 'sticker']);

/** A media message's file, with only the fields Meta sent. */
function mediaAttachment(type: string, m: z.output<typeof waMedia>): Attachment {
  return {
    kind: type as Attachment['kind'],
    ...(m.mime_type ? { mimeType: m.mime_type } : {}),
    ...(m.id ? { providerMediaId: m.id } : {}),
    ...(m.url ? { url: m.url } : {}),
    ...(m.caption ? { caption: m.caption } : {}),
    ...(m.filename ? { filename: m.filename } : {}),
    ...(m.sha256 ? { sha256: m.sha256 } : {}),
    ...(m.voice !== undefined || m.animated !== undefined
      ? {
          data: {
            ...(m.voice !== undefined ? { voice: m.voice } : {}),
            ...(m.animated !== undefined ? { animated: m.animated } : {}),
          },
        }
      : {}),
  };
}

/** Made once: zod compiles a schema on its first parse, so one made per message compiled per message. */
const waText = z.object({ body: z.string() });

/**
 * The type-specific part of a WhatsApp message (inbound or echo): its text, its attachments and
 * the raw type object kept in `payload` (buttons, referral, …) for replay and for the agent.
 * Returns a problem string when the declared type's object is malformed. Exported for providers
 * that relay Meta's message objects unchanged (functions/providers/ycloud).
 */
export function whatsappContent(type: string, raw: Record<string, unknown>): WaContent | string {
  const body = raw[type];
  const extras: Record<string, unknown> = body === undefined ? {} : { [type]: body };
  if (type === 'text') {
    const text = waText.safeParse(body);
    return text.success
      ? { content: text.data.body, attachments: [], extras }
      : `text: ${issues(text.error)}`;
  }
  if (waMediaKinds.has(type)) {
    const media = waMedia.safeParse(body);
    if (!media.success) return `${type}: ${issues(media.error)}`;
    const m = media.data;
    return { content: m.caption ?? null, attachments: [mediaAttachment(type, m)], extras };
  }
  if (type === 'location') {
    const location = waLocation.safeParse(body);
    if (!location.success) return `location: ${issues(location.error)}`;
    const l = location.data;
    const label = [l.name, l.address].filter(Boolean).join(', ');
    return {
      content: label || `Location: ${l.latitude}, ${l.longitude}`,
      attachments: [{ kind: 'location', data: { ...l } }],
      extras,
    };
  }
  if (type === 'contacts') {
    const cards = waContactCards.safeParse(body);
    if (!cards.success) return `contacts: ${issues(cards.error)}`;
    const names = cards.data.map((c) => c.name?.formatted_name).filter(Boolean);
    return {
      content: names.length > 0 ? `Contact: ${names.join(', ')}` : 'Contact card',
      attachments: [{ kind: 'contacts', data: { contacts: cards.data } }],
      extras,
    };
  }
  if (type === 'interactive') {
    const interactive = waInteractive.safeParse(body);
    if (!interactive.success) return `interactive: ${issues(interactive.error)}`;
    const i = interactive.data;
    const reply = i.button_reply ?? i.list_reply;
    return { content: reply?.title ?? i.nfm_reply?.body ?? null, attachments: [], extras };
  }
  if (type === 'button') {
    const button = waButton.safeParse(body);
    if (!button.success) return `button: ${issues(button.error)}`;
    return { content: button.data.text ?? button.data.payload ?? null, attachments: [], extras };
  }
  if (type === 'unsupported') {
    return { content: null, attachments: [], extras };
  }
  // order, system, request_welcome and types Meta adds later: a customer message we keep as sent
  // (its type and raw object), so nothing a customer wrote is ever lost.
  const text = isRecord(body) && typeof body.body === 'string' ? body.body : null;
  return { content: text, attachments: [], extras };
}

function whatsappEnvelopeExtras(raw: Record<string, unknown>): Record<string, unknown> {
  const extras: Record<string, unknown> = {};
  for (const key of ['context', 'referral', 'errors', 'group_id'] as const) {
    if (raw[key] !== undefined) extras[key] = raw[key];
  }
  return extras;
}

/**
 * A WhatsApp message, the customer's or one the business sent from the app (an echo), with its
 * content read by type; a problem is recorded and nothing returned when the content is unreadable.
 */
function whatsappMessage(
  parsed: ParsedWebhook,
  path: string,
  raw: Record<string, unknown>,
  message: Pick<
    MessageItem,
    'timestamp' | 'contact' | 'from' | 'payload' | 'wantsReply' | 'lockReason'
  > & {
    id: string;
    type: string;
    replyTo: string | undefined;
  },
): ParsedItem | null {
  const content = whatsappContent(message.type, raw);
  if (typeof content === 'string') {
    parsed.problems.push(`${path}.${content}`);
    return null;
  }
  const { id, replyTo, payload, ...rest } = message;
  return storedOnce(path, {
    kind: 'message',
    providerMessageId: id,
    content: content.content,
    attachments: content.attachments,
    payload: { ...content.extras, ...whatsappEnvelopeExtras(raw), ...payload },
    replyToProviderMessageId: replyTo ?? null,
    ...rest,
  });
}

/**
 * A WhatsApp reaction, the customer's or one the business sent from the app (an echo); a problem
 * is recorded and nothing returned when it cannot be read.
 */
function whatsappReaction(
  parsed: ParsedWebhook,
  path: string,
  reaction: unknown,
  message: Pick<ReactionItem, 'timestamp' | 'contact' | 'from' | 'payload'> & { id: string },
): ParsedItem | null {
  const r = readOrReport(parsed, `${path}.reaction`, waReaction, reaction);
  if (r === null) return null;
  const { id, ...rest } = message;
  return storedOnce(path, {
    kind: 'reaction',
    providerMessageId: id,
    targetProviderMessageId: r.message_id,
    emoji: r.emoji || null,
    ...rest,
  });
}

/** What a WhatsApp message or echo carries, before its content is read by type. */
type WaSent = Pick<ReactionItem, 'timestamp' | 'contact' | 'from' | 'payload'> & {
  id: string;
  type: string;
  replyTo: string | undefined;
};

function sentOf(
  message: z.output<typeof waSentBase>,
  by: Pick<WaSent, 'contact' | 'from' | 'payload'>,
): WaSent {
  const { id, type, timestamp, context } = message;
  return { id, type, timestamp, replyTo: context?.id, ...by };
}

/**
 * A WhatsApp message or reaction, the customer's or an echo of the business's; `answer` says
 * whether the agent should reply, and why not when the business already did.
 */
function whatsappItem(
  parsed: ParsedWebhook,
  path: string,
  raw: Record<string, unknown>,
  sent: WaSent,
  answer: Pick<MessageItem, 'wantsReply' | 'lockReason'>,
): ParsedItem | null {
  if (sent.type === 'reaction') {
    const { type, replyTo, ...reaction } = sent;
    return whatsappReaction(parsed, path, raw.reaction, reaction);
  }
  return whatsappMessage(parsed, path, raw, { ...sent, ...answer });
}

export function parseWhatsAppEntry(parsed: ParsedWebhook, entry: unknown, path: string) {
  const e = readOrReport(parsed, path, waEntry, entry);
  if (e === null) return;
  e.changes.forEach((change, j) => {
    const at = `${path}.changes[${j}]`;
    const c = readOrReport(parsed, at, waChange, change);
    if (c === null) return;
    const { field, value } = c;
    if (field === 'messages') parseWhatsAppMessages(parsed, value, at, e.id);
    else if (field === 'smb_message_echoes') parseWhatsAppEchoes(parsed, value, at, e.id);
    else if (field === 'message_template_status_update')
      parseTemplateStatus(parsed, e.id, value, at);
    else parsed.problems.push(`${at}: field ${JSON.stringify(field)} is not handled`);
  });
}

function parseTemplateStatus(parsed: ParsedWebhook, wabaId: string, value: unknown, at: string) {
  const t = readOrReport(parsed, at, waTemplateStatus, value);
  if (t === null) return;
  const updates = parsed.templates.get(wabaId) ?? [];
  updates.push({
    path: at,
    update: {
      wabaId,
      providerTemplateId: t.message_template_id,
      name: t.message_template_name ?? null,
      language: t.message_template_language ?? null,
      event: t.event,
      reason: t.reason ?? null,
    },
  });
  parsed.templates.set(wabaId, updates);
}

/**
 * The number a `messages` or `smb_message_echoes` change is for, and its group of items; null,
 * with a problem recorded, when the change does not say.
 */
function whatsappNumber(
  parsed: ParsedWebhook,
  value: unknown,
  at: string,
  wabaId: string,
): { account: string; target: AccountGroup } | null {
  const metadata = waMetadata.safeParse(isRecord(value) ? value.metadata : undefined);
  if (!metadata.success || !isRecord(value)) {
    parsed.problems.push(`${at}: value.metadata.phone_number_id is missing`);
    return null;
  }
  const account = metadata.data.phone_number_id;
  const target = group(parsed, 'whatsapp', account);
  // Checked against the number's own WABA when the account is resolved (process.ts mayWrite).
  target.wabaIds = (target.wabaIds ?? new Set()).add(wabaId);
  return { account, target };
}

/**
 * Each item of a change's list, read with `schema`: one that is not an object or does not fit is
 * a problem at its own path, and the others are still read.
 */
function forEachValid<T>(
  parsed: ParsedWebhook,
  list: unknown[] | undefined,
  at: string,
  schema: z.ZodType<T>,
  visit: (item: T, raw: Record<string, unknown>, path: string) => void,
) {
  (list ?? []).forEach((raw, k) => {
    const path = `${at}[${k}]`;
    const read = schema.safeParse(raw);
    if (!read.success || !isRecord(raw)) {
      parsed.problems.push(`${path}: ${read.success ? 'not an object' : issues(read.error)}`);
      return;
    }
    visit(read.data, raw, path);
  });
}

function parseWhatsAppMessages(parsed: ParsedWebhook, value: unknown, at: string, wabaId: string) {
  const number = whatsappNumber(parsed, value, at, wabaId);
  if (!number) return;
  const { account, target } = number;
  const profiles = (arrayAt(value, 'contacts') ?? []).flatMap((c) => {
    const p = waProfileContact.safeParse(c);
    return p.success ? [p.data] : [];
  });
  const messages = arrayAt(value, 'messages');
  forEachValid(parsed, messages, `${at}.value.messages`, waMessage, (msg, raw, path) => {
    const contact = customerContact(msg, profiles);
    if (!contact) {
      parsed.problems.push(`${path}: message has neither from nor from_user_id`);
      return;
    }
    const sent = sentOf(msg, { contact, from: 'customer', payload: {} });
    const item = whatsappItem(parsed, path, raw, sent, { wantsReply: true });
    if (item) target.items.push(item);
  });
  const statuses = arrayAt(value, 'statuses');
  forEachValid(parsed, statuses, `${at}.value.statuses`, waStatus, (status, raw, path) => {
    const item = whatsappStatus(status, raw, path);
    if (typeof item === 'string') parsed.problems.push(item);
    else target.items.push(item);
  });
  noteAccountErrors(parsed, value, at, account);
  if (target.items.length === 0) parsed.accounts.delete(`whatsapp:${account}`);
  if (!messages && !statuses && !arrayAt(value, 'errors')) {
    parsed.problems.push(`${at}: a messages change with no messages, statuses or errors`);
  }
}

/**
 * Who wrote: the message's own sender ids, completed from the change's `contacts[]` profile
 * (matched by BSUID or phone, or the only profile when there is one); null when nothing says.
 */
function customerContact(
  msg: z.output<typeof waMessage>,
  profiles: Array<z.output<typeof waProfileContact>>,
): ContactIdentity | null {
  const profile =
    profiles.find(
      (p) =>
        (msg.from_user_id !== undefined && p.user_id === msg.from_user_id) ||
        (msg.from !== undefined && p.wa_id === msg.from),
    ) ?? (profiles.length === 1 ? profiles[0] : undefined);
  const bsuid = msg.from_user_id ?? profile?.user_id;
  const phone = msg.from ?? profile?.wa_id;
  const externalUserId = bsuid ?? phone;
  if (!externalUserId) return null;
  return {
    externalUserId,
    phone: phone ?? null,
    bsuid: bsuid ?? null,
    name: profile?.profile?.name ?? null,
    username: profile?.profile?.username ?? null,
  };
}

/** A delivery status of one of our sends, or a problem when its status word is unknown. */
function whatsappStatus(
  s: z.output<typeof waStatus>,
  raw: Record<string, unknown>,
  path: string,
): ParsedItem | string {
  const status = deliveryStatusOf(s.status);
  if (!status) return `${path}: status ${JSON.stringify(s.status)} is not handled`;
  const error = s.errors?.[0];
  return {
    path,
    dedupeKey: `s:${s.id}:${s.status}`,
    item: {
      kind: 'status',
      report: {
        providerMessageId: s.id,
        providerStatus: s.status,
        status,
        timestamp: s.timestamp,
        recipientId: s.recipient_user_id ?? s.recipient_id ?? null,
        error: error ? statusError(error) : null,
        payload: raw,
        callbackData: s.biz_opaque_callback_data ?? null,
      },
    },
  };
}

/** Errors Meta reports for the whole number are understood, and kept as a note on the event. */
function noteAccountErrors(parsed: ParsedWebhook, value: unknown, at: string, account: string) {
  const accountErrors = (arrayAt(value, 'errors') ?? []).flatMap((raw) => {
    const e = waError.safeParse(raw);
    return e.success ? [`${e.data.code} ${e.data.title ?? e.data.message ?? ''}`.trim()] : [];
  });
  if (accountErrors.length > 0) {
    parsed.notes.push(
      `${at}: Meta reported errors for number ${account}: ${accountErrors.join('; ')}`,
    );
  }
}

function parseWhatsAppEchoes(parsed: ParsedWebhook, value: unknown, at: string, wabaId: string) {
  const number = whatsappNumber(parsed, value, at, wabaId);
  if (!number) return;
  const { account, target } = number;
  const echoes = arrayAt(value, 'message_echoes');
  if (!echoes) parsed.problems.push(`${at}: smb_message_echoes without message_echoes[]`);
  forEachValid(parsed, echoes, `${at}.value.message_echoes`, waEcho, (echo, raw, path) => {
    const item = whatsappEcho(parsed, path, raw, echo);
    if (item) target.items.push(item);
  });
  if (target.items.length === 0) parsed.accounts.delete(`whatsapp:${account}`);
}

/**
 * What the business did from the WhatsApp Business app: deleted, edited, reacted to or sent a
 * message; null when a problem was recorded instead.
 */
function whatsappEcho(
  parsed: ParsedWebhook,
  path: string,
  raw: Record<string, unknown>,
  echo: z.output<typeof waEcho>,
): ParsedItem | null {
  const bsuid = echo.to_user_id ?? echo.recipient_user_id;
  const externalUserId = bsuid ?? echo.to;
  if (!externalUserId) {
    parsed.problems.push(`${path}: echo has no recipient (to / to_user_id)`);
    return null;
  }
  const contact: ContactIdentity = {
    externalUserId,
    phone: echo.to ?? null,
    bsuid: bsuid ?? null,
  };
  const revision: EchoRevision = { timestamp: echo.timestamp, contact, by: 'business' };
  if (echo.type === 'revoke') {
    const revoke = readOrReport(parsed, `${path}.revoke`, waOriginalId, raw.revoke);
    if (revoke === null) return null;
    const target = revoke.original_message_id;
    return { path, item: { kind: 'deletion', targetProviderMessageId: target, ...revision } };
  }
  if (echo.type === 'edit') return echoEdit(parsed, path, raw, revision);
  const sent = sentOf(echo, {
    contact,
    from: 'business',
    payload: { echo: 'whatsapp_business_app' },
  });
  return whatsappItem(parsed, path, raw, sent, {
    wantsReply: false,
    lockReason: 'A team member replied from the WhatsApp Business app.',
  });
}

const waOriginalId = z.object({ original_message_id: id });
const waEdit = waOriginalId.extend({ message: z.looseObject({ type: z.string().max(64) }) });

/** When, with whom and by whom a message was deleted or edited from the app. */
type EchoRevision = Pick<DeletionItem, 'timestamp' | 'contact' | 'by'>;

function echoEdit(
  parsed: ParsedWebhook,
  path: string,
  raw: Record<string, unknown>,
  revision: EchoRevision,
): ParsedItem | null {
  const edit = readOrReport(parsed, `${path}.edit`, waEdit, raw.edit);
  if (edit === null) return null;
  const edited = whatsappContent(edit.message.type, edit.message);
  if (typeof edited === 'string') {
    parsed.problems.push(`${path}.edit.message.${edited}`);
    return null;
  }
  const { content, extras } = edited;
  return {
    path,
    item: {
      kind: 'edit',
      targetProviderMessageId: edit.original_message_id,
      ...revision,
      content,
      payload: extras,
    },
  };
}
