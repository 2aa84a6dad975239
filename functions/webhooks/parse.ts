/**
 * Meta webhook bodies → what the database ingests. One callback URL receives three products:
 * WhatsApp Cloud API (`object: whatsapp_business_account`), Messenger (`page`) and Instagram
 * (`instagram`). Every entry, change and messaging item is read (Meta batches several per POST, in
 * both layouts), each validated on its own so one odd item never hides the others. Fields Meta may
 * omit are optional. Anything not understood is reported as a problem with its path: the event is
 * then kept as dead with that reason (never dropped silently); everything understood is ingested.
 */
import { z } from 'zod';
import { graphErrorMeaning } from '../../core/messaging/graph-errors';
import type {
  ContactIdentity,
  InboundItem,
  MessageItem,
  ReactionItem,
  TemplateStatusUpdate,
} from '../../db/inbound';
import type { Attachment, Channel } from '../../db/schema';
import { deliveryStatusOf } from '../../db/statuses';

export type ParsedItem = {
  item: InboundItem;
  /** Fast-path dedupe key (Redis), for items that are each stored once. */
  dedupeKey?: string;
  path: string;
};

export type AccountGroup = { channel: Channel; externalId: string; items: ParsedItem[] };

export type ParsedWebhook = {
  object: string | null;
  /** By `${channel}:${externalId}`. */
  accounts: Map<string, AccountGroup>;
  /** Template status updates by WABA id. */
  templates: Map<string, Array<{ update: TemplateStatusUpdate; path: string }>>;
  /** Parts not understood: the event is dead with these reasons. */
  problems: string[];
  /** Understood, worth recording on the event (account-level errors from Meta, …). */
  notes: string[];
};

// ------------------------------------------------------------------------------------------
// Shared pieces
// ------------------------------------------------------------------------------------------

/** Meta ids are strings (sometimes numbers in JSON); bounded so they fit a unique index. */
const id = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(z.string().min(1).max(512));
const shortText = z.string().max(1024);

const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

function inRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST && ms < LATEST;
}

/** WhatsApp: unix seconds, sent as a string (a number is tolerated). */
const secondsTimestamp = z
  .union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative()])
  .transform((v) => Number(v) * 1000)
  .refine(inRange, 'timestamp out of range')
  .transform((ms) => new Date(ms));

/** Messenger / Instagram: unix milliseconds, a number (a digit string is tolerated). */
const millisTimestamp = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/)])
  .transform(Number)
  .refine(inRange, 'timestamp out of range')
  .transform((ms) => new Date(ms));

/** A failed status's error, with the same operator-facing reason a failed send gets. */
function statusError(error: {
  code: number | string;
  title?: string | null;
  message?: string | null;
  error_data?: { details?: string | null } | null;
}) {
  const title = error.title ?? error.message ?? null;
  const details = error.error_data?.details ?? null;
  const words = [title, details].filter(Boolean).join(': ');
  return {
    code: String(error.code),
    title,
    details,
    reason: graphErrorMeaning({ code: error.code, message: words || undefined }).reason,
  };
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
  return {
    path,
    dedupeKey: `m:${id}`,
    item: {
      kind: 'message',
      providerMessageId: id,
      content: content.content,
      attachments: content.attachments,
      payload: { ...content.extras, ...whatsappEnvelopeExtras(raw), ...payload },
      replyToProviderMessageId: replyTo ?? null,
      ...rest,
    },
  };
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
  const r = waReaction.safeParse(reaction);
  if (!r.success) {
    parsed.problems.push(`${path}.reaction: ${issues(r.error)}`);
    return null;
  }
  const { id, ...rest } = message;
  return {
    path,
    dedupeKey: `m:${id}`,
    item: {
      kind: 'reaction',
      providerMessageId: id,
      targetProviderMessageId: r.data.message_id,
      emoji: r.data.emoji || null,
      ...rest,
    },
  };
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`)
    .join('; ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayAt(value: unknown, key: string): unknown[] | undefined {
  if (!isRecord(value)) return undefined;
  const found = value[key];
  return Array.isArray(found) ? found : undefined;
}

function group(parsed: ParsedWebhook, channel: Channel, externalId: string): AccountGroup {
  const key = `${channel}:${externalId}`;
  let found = parsed.accounts.get(key);
  if (!found) {
    found = { channel, externalId, items: [] };
    parsed.accounts.set(key, found);
  }
  return found;
}

/**
 * Postgres text cannot hold NUL, and jsonb rejects `\u0000` and unpaired surrogates (which
 * JSON.parse happily produces from `"\ud800"`): clean every string (keys too) once, so a hostile
 * or broken body can never make the database refuse a batch.
 */
export function storable(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '').toWellFormed();
  if (Array.isArray(value)) return value.map(storable);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      out[storable(key) as string] = storable(inner);
    return out;
  }
  return value;
}

export function parseWebhook(body: unknown, options: { appId: string }): ParsedWebhook {
  const parsed: ParsedWebhook = {
    object: null,
    accounts: new Map(),
    templates: new Map(),
    problems: [],
    notes: [],
  };
  if (!isRecord(body)) {
    parsed.problems.push('body is not a JSON object');
    return parsed;
  }
  parsed.object = typeof body.object === 'string' ? body.object.slice(0, 100) : null;
  const entries = arrayAt(body, 'entry');
  if (!entries) {
    parsed.problems.push('body has no entry[] array');
    return parsed;
  }
  if (parsed.object === 'whatsapp_business_account') {
    for (const [i, entry] of entries.entries()) parseWhatsAppEntry(parsed, entry, `entry[${i}]`);
  } else if (parsed.object === 'page' || parsed.object === 'instagram') {
    const channel: Channel = parsed.object === 'page' ? 'messenger' : 'instagram';
    for (const [i, entry] of entries.entries()) {
      parseMessagingEntry(parsed, channel, entry, `entry[${i}]`, options);
    }
  } else {
    parsed.problems.push(`object ${JSON.stringify(parsed.object)} is not handled`);
  }
  if (
    parsed.problems.length === 0 &&
    parsed.accounts.size === 0 &&
    parsed.templates.size === 0 &&
    parsed.notes.length === 0
  ) {
    parsed.problems.push(
      'the body carries nothing we understand (no messages, statuses or updates)',
    );
  }
  return parsed;
}

// ------------------------------------------------------------------------------------------
// WhatsApp Cloud API
// ------------------------------------------------------------------------------------------

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
const waMessage = z.object({
  id,
  timestamp: secondsTimestamp,
  type: z.string().min(1).max(64),
  from: z.string().max(64).optional(),
  from_user_id: z.string().max(256).optional(),
  context: waContext.optional(),
});
const waEcho = z.object({
  id,
  timestamp: secondsTimestamp,
  type: z.string().min(1).max(64),
  to: z.string().max(64).optional(),
  to_user_id: z.string().max(256).optional(),
  recipient_user_id: z.string().max(256).optional(),
  context: waContext.optional(),
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

type WaContent = {
  content: string | null;
  attachments: Attachment[];
  extras: Record<string, unknown>;
};

const waMediaKinds = new Set(['image', 'audio', 'video', 'document', 'sticker']);

/**
 * The type-specific part of a WhatsApp message (inbound or echo): its text, its attachments and
 * the raw type object kept in `payload` (buttons, referral, …) for replay and for the agent.
 * Returns a problem string when the declared type's object is malformed.
 */
function whatsappContent(type: string, raw: Record<string, unknown>): WaContent | string {
  const body = raw[type];
  const extras: Record<string, unknown> = body === undefined ? {} : { [type]: body };
  if (type === 'text') {
    const text = z.object({ body: z.string() }).safeParse(body);
    return text.success
      ? { content: text.data.body, attachments: [], extras }
      : `text: ${issues(text.error)}`;
  }
  if (waMediaKinds.has(type)) {
    const media = waMedia.safeParse(body);
    if (!media.success) return `${type}: ${issues(media.error)}`;
    const m = media.data;
    const attachment: Attachment = {
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
    return { content: m.caption ?? null, attachments: [attachment], extras };
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

function parseWhatsAppEntry(parsed: ParsedWebhook, entry: unknown, path: string) {
  const e = waEntry.safeParse(entry);
  if (!e.success) {
    parsed.problems.push(`${path}: ${issues(e.error)}`);
    return;
  }
  e.data.changes.forEach((change, j) => {
    const at = `${path}.changes[${j}]`;
    const c = waChange.safeParse(change);
    if (!c.success) {
      parsed.problems.push(`${at}: ${issues(c.error)}`);
      return;
    }
    const { field, value } = c.data;
    if (field === 'messages') parseWhatsAppMessages(parsed, value, at);
    else if (field === 'smb_message_echoes') parseWhatsAppEchoes(parsed, value, at);
    else if (field === 'message_template_status_update') {
      const t = waTemplateStatus.safeParse(value);
      if (!t.success) {
        parsed.problems.push(`${at}: ${issues(t.error)}`);
        return;
      }
      const updates = parsed.templates.get(e.data.id) ?? [];
      updates.push({
        path: at,
        update: {
          wabaId: e.data.id,
          providerTemplateId: t.data.message_template_id,
          name: t.data.message_template_name ?? null,
          language: t.data.message_template_language ?? null,
          event: t.data.event,
          reason: t.data.reason ?? null,
        },
      });
      parsed.templates.set(e.data.id, updates);
    } else parsed.problems.push(`${at}: field ${JSON.stringify(field)} is not handled`);
  });
}

function parseWhatsAppMessages(parsed: ParsedWebhook, value: unknown, at: string) {
  const metadata = waMetadata.safeParse(isRecord(value) ? value.metadata : undefined);
  if (!metadata.success || !isRecord(value)) {
    parsed.problems.push(`${at}: value.metadata.phone_number_id is missing`);
    return;
  }
  const account = metadata.data.phone_number_id;
  const target = group(parsed, 'whatsapp', account);
  const profiles = (arrayAt(value, 'contacts') ?? []).flatMap((c) => {
    const p = waProfileContact.safeParse(c);
    return p.success ? [p.data] : [];
  });

  (arrayAt(value, 'messages') ?? []).forEach((raw, k) => {
    const path = `${at}.value.messages[${k}]`;
    const m = waMessage.safeParse(raw);
    if (!m.success || !isRecord(raw)) {
      parsed.problems.push(`${path}: ${m.success ? 'not an object' : issues(m.error)}`);
      return;
    }
    const msg = m.data;
    const profile =
      profiles.find(
        (p) =>
          (msg.from_user_id !== undefined && p.user_id === msg.from_user_id) ||
          (msg.from !== undefined && p.wa_id === msg.from),
      ) ?? (profiles.length === 1 ? profiles[0] : undefined);
    const bsuid = msg.from_user_id ?? profile?.user_id;
    const phone = msg.from ?? profile?.wa_id;
    const externalUserId = bsuid ?? phone;
    if (!externalUserId) {
      parsed.problems.push(`${path}: message has neither from nor from_user_id`);
      return;
    }
    const contact: ContactIdentity = {
      externalUserId,
      phone: phone ?? null,
      bsuid: bsuid ?? null,
      name: profile?.profile?.name ?? null,
      username: profile?.profile?.username ?? null,
    };
    if (msg.type === 'reaction') {
      const item = whatsappReaction(parsed, path, raw.reaction, {
        id: msg.id,
        timestamp: msg.timestamp,
        contact,
        from: 'customer',
        payload: {},
      });
      if (item) target.items.push(item);
      return;
    }
    const item = whatsappMessage(parsed, path, raw, {
      id: msg.id,
      type: msg.type,
      timestamp: msg.timestamp,
      replyTo: msg.context?.id,
      contact,
      from: 'customer',
      payload: {},
      wantsReply: true,
    });
    if (item) target.items.push(item);
  });

  (arrayAt(value, 'statuses') ?? []).forEach((raw, k) => {
    const path = `${at}.value.statuses[${k}]`;
    const s = waStatus.safeParse(raw);
    if (!s.success || !isRecord(raw)) {
      parsed.problems.push(`${path}: ${s.success ? 'not an object' : issues(s.error)}`);
      return;
    }
    const status = deliveryStatusOf(s.data.status);
    if (!status) {
      parsed.problems.push(`${path}: status ${JSON.stringify(s.data.status)} is not handled`);
      return;
    }
    const error = s.data.errors?.[0];
    target.items.push({
      path,
      dedupeKey: `s:${s.data.id}:${s.data.status}`,
      item: {
        kind: 'status',
        report: {
          providerMessageId: s.data.id,
          providerStatus: s.data.status,
          status,
          timestamp: s.data.timestamp,
          recipientId: s.data.recipient_user_id ?? s.data.recipient_id ?? null,
          error: error ? statusError(error) : null,
          payload: raw,
          callbackData: s.data.biz_opaque_callback_data ?? null,
        },
      },
    });
  });

  const accountErrors = (arrayAt(value, 'errors') ?? []).flatMap((raw) => {
    const e = waError.safeParse(raw);
    return e.success ? [`${e.data.code} ${e.data.title ?? e.data.message ?? ''}`.trim()] : [];
  });
  if (accountErrors.length > 0) {
    parsed.notes.push(
      `${at}: Meta reported errors for number ${account}: ${accountErrors.join('; ')}`,
    );
  }
  if (target.items.length === 0) parsed.accounts.delete(`whatsapp:${account}`);
  if (!arrayAt(value, 'messages') && !arrayAt(value, 'statuses') && !arrayAt(value, 'errors')) {
    parsed.problems.push(`${at}: a messages change with no messages, statuses or errors`);
  }
}

function parseWhatsAppEchoes(parsed: ParsedWebhook, value: unknown, at: string) {
  const metadata = waMetadata.safeParse(isRecord(value) ? value.metadata : undefined);
  if (!metadata.success || !isRecord(value)) {
    parsed.problems.push(`${at}: value.metadata.phone_number_id is missing`);
    return;
  }
  const target = group(parsed, 'whatsapp', metadata.data.phone_number_id);
  const echoes = arrayAt(value, 'message_echoes');
  if (!echoes) parsed.problems.push(`${at}: smb_message_echoes without message_echoes[]`);
  (echoes ?? []).forEach((raw, k) => {
    const path = `${at}.value.message_echoes[${k}]`;
    const m = waEcho.safeParse(raw);
    if (!m.success || !isRecord(raw)) {
      parsed.problems.push(`${path}: ${m.success ? 'not an object' : issues(m.error)}`);
      return;
    }
    const echo = m.data;
    const bsuid = echo.to_user_id ?? echo.recipient_user_id;
    const externalUserId = bsuid ?? echo.to;
    if (!externalUserId) {
      parsed.problems.push(`${path}: echo has no recipient (to / to_user_id)`);
      return;
    }
    const contact: ContactIdentity = {
      externalUserId,
      phone: echo.to ?? null,
      bsuid: bsuid ?? null,
    };
    const originalId = z.object({ original_message_id: id });
    if (echo.type === 'revoke') {
      const r = originalId.safeParse(raw.revoke);
      if (!r.success) {
        parsed.problems.push(`${path}.revoke: ${issues(r.error)}`);
        return;
      }
      target.items.push({
        path,
        item: {
          kind: 'deletion',
          targetProviderMessageId: r.data.original_message_id,
          timestamp: echo.timestamp,
          contact,
          by: 'business',
        },
      });
      return;
    }
    if (echo.type === 'edit') {
      const edit = originalId
        .extend({ message: z.looseObject({ type: z.string().max(64) }) })
        .safeParse(raw.edit);
      if (!edit.success) {
        parsed.problems.push(`${path}.edit: ${issues(edit.error)}`);
        return;
      }
      const edited = whatsappContent(edit.data.message.type, edit.data.message);
      if (typeof edited === 'string') {
        parsed.problems.push(`${path}.edit.message.${edited}`);
        return;
      }
      target.items.push({
        path,
        item: {
          kind: 'edit',
          targetProviderMessageId: edit.data.original_message_id,
          timestamp: echo.timestamp,
          contact,
          by: 'business',
          content: edited.content,
          payload: edited.extras,
        },
      });
      return;
    }
    if (echo.type === 'reaction') {
      const item = whatsappReaction(parsed, path, raw.reaction, {
        id: echo.id,
        timestamp: echo.timestamp,
        contact,
        from: 'business',
        payload: { echo: 'whatsapp_business_app' },
      });
      if (item) target.items.push(item);
      return;
    }
    const item = whatsappMessage(parsed, path, raw, {
      id: echo.id,
      type: echo.type,
      timestamp: echo.timestamp,
      replyTo: echo.context?.id,
      contact,
      from: 'business',
      payload: { echo: 'whatsapp_business_app' },
      wantsReply: false,
      lockReason: 'A team member replied from the WhatsApp Business app.',
    });
    if (item) target.items.push(item);
  });
  if (target.items.length === 0)
    parsed.accounts.delete(`whatsapp:${metadata.data.phone_number_id}`);
}

// ------------------------------------------------------------------------------------------
// Messenger and Instagram
// ------------------------------------------------------------------------------------------

const messagingEntry = z.object({
  id,
  time: z.unknown().optional(),
  messaging: z.array(z.unknown()).optional(),
  standby: z.array(z.unknown()).optional(),
  changes: z.array(z.unknown()).optional(),
});
const messagingEvent = z.object({
  sender: z.object({ id }),
  recipient: z.object({ id }),
  timestamp: millisTimestamp,
});
const messagingAttachment = z.object({
  type: z.string().max(64),
  payload: z
    .looseObject({ url: z.string().max(8192).optional(), title: z.string().max(1024).optional() })
    .nullable()
    .optional(),
});
const messagingMessage = z.object({
  mid: id,
  text: z.string().optional(),
  attachments: z.array(messagingAttachment).optional(),
  quick_reply: z.object({ payload: z.string().max(4096) }).optional(),
  reply_to: z
    .object({ mid: z.string().max(512).optional(), story: z.looseObject({}).optional() })
    .optional(),
  is_echo: z.boolean().optional(),
  app_id: z.union([z.string().max(64), z.number()]).optional(),
  is_deleted: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
});
const messagingPostback = z.object({
  mid: z.string().max(512).optional(),
  title: z.string().max(1024).optional(),
  payload: z.string().max(4096).optional(),
});
const messagingRead = z.object({
  watermark: millisTimestamp.optional(),
  mid: z.string().max(512).optional(),
});
const messagingDelivery = z.object({
  mids: z.array(z.string().max(512)).optional(),
  watermark: millisTimestamp.optional(),
});
const messagingReaction = z.object({
  mid: id,
  action: z.enum(['react', 'unreact']).optional(),
  reaction: z.string().max(64).optional(),
  emoji: z.string().max(64).optional(),
});
const messagingEdit = z.object({
  mid: id,
  text: z.string().optional(),
  num_edit: z.number().optional(),
});

const messagingAttachmentKinds: Record<string, Attachment['kind']> = {
  image: 'image',
  audio: 'audio',
  video: 'video',
  file: 'file',
  sticker: 'sticker',
};

function parseMessagingEntry(
  parsed: ParsedWebhook,
  channel: Channel,
  entry: unknown,
  path: string,
  options: { appId: string },
) {
  const e = messagingEntry.safeParse(entry);
  if (!e.success) {
    parsed.problems.push(`${path}: ${issues(e.error)}`);
    return;
  }
  const account = e.data.id;
  if (e.data.changes?.length) {
    parsed.problems.push(
      `${path}.changes: ${channel} change webhooks (comments, mentions, …) are not handled`,
    );
  }
  if (!e.data.messaging && !e.data.standby && !e.data.changes) {
    parsed.problems.push(`${path}: entry without messaging[]`);
  }
  const target = group(parsed, channel, account);
  const layouts: Array<[string, unknown[] | undefined, boolean]> = [
    ['messaging', e.data.messaging, true],
    // Another app owns the thread (handover protocol): keep the messages, let that app answer.
    ['standby', e.data.standby, false],
  ];
  for (const [key, events, active] of layouts) {
    (events ?? []).forEach((raw, k) => {
      const at = `${path}.${key}[${k}]`;
      const outcome = parseMessagingEvent(target, channel, account, raw, at, active, options);
      if (outcome?.problem) parsed.problems.push(outcome.problem);
      if (outcome?.note) parsed.notes.push(outcome.note);
    });
  }
  if (target.items.length === 0) parsed.accounts.delete(`${channel}:${account}`);
}

/** A problem when the event is not understood; a note when it is deliberately not stored. */
type EventOutcome = { problem?: string; note?: string } | null;

function parseMessagingEvent(
  target: AccountGroup,
  channel: Channel,
  account: string,
  raw: unknown,
  at: string,
  active: boolean,
  options: { appId: string },
): EventOutcome {
  const ev = messagingEvent.safeParse(raw);
  if (!ev.success || !isRecord(raw))
    return { problem: `${at}: ${ev.success ? 'not an object' : issues(ev.error)}` };
  const { sender, recipient, timestamp } = ev.data;
  const customer = (id: string): ContactIdentity => ({ externalUserId: id });

  if (raw.message !== undefined) {
    const m = messagingMessage.safeParse(raw.message);
    if (!m.success) return { problem: `${at}.message: ${issues(m.error)}` };
    const msg = m.data;
    if (msg.is_echo) {
      // Our own sends come back as echoes: the send job records them, never store them twice.
      if (msg.app_id !== undefined && String(msg.app_id) === options.appId) {
        return { note: `${at}: echo of our own send ${msg.mid} (recorded by the send job)` };
      }
    }
    // Echoes are reversed: the business is the sender, the customer the recipient.
    const contact = customer(msg.is_echo ? recipient.id : sender.id);
    if (msg.is_deleted) {
      target.items.push({
        path: at,
        item: {
          kind: 'deletion',
          targetProviderMessageId: msg.mid,
          timestamp,
          contact,
          by: msg.is_echo ? 'business' : 'customer',
        },
      });
      return null;
    }
    const attachments: Attachment[] = (msg.attachments ?? []).map((a) => {
      const kind = messagingAttachmentKinds[a.type] ?? 'other';
      const url = a.payload?.url;
      return {
        kind,
        ...(url ? { url } : {}),
        ...(a.payload?.title ? { caption: a.payload.title } : {}),
        ...(kind === 'other' ? { data: { type: a.type, payload: a.payload ?? null } } : {}),
      };
    });
    const type = msg.is_unsupported
      ? 'unsupported'
      : msg.quick_reply
        ? 'quick_reply'
        : msg.text !== undefined && attachments.length === 0
          ? 'text'
          : (msg.attachments?.[0]?.type ?? 'text');
    const payload: Record<string, unknown> = {};
    if (msg.quick_reply) payload.quick_reply = msg.quick_reply;
    if (msg.reply_to) payload.reply_to = msg.reply_to;
    if (isRecord(raw.message) && raw.message.referral !== undefined)
      payload.referral = raw.message.referral;
    if (msg.is_echo) {
      payload.echo = channel === 'messenger' ? 'page_inbox' : 'instagram_app';
      if (msg.app_id !== undefined) payload.app_id = String(msg.app_id);
    }
    if (!active) payload.standby = true;
    const item: MessageItem = {
      kind: 'message',
      providerMessageId: msg.mid,
      timestamp,
      contact,
      from: msg.is_echo ? 'business' : 'customer',
      type,
      content: msg.text ?? null,
      attachments,
      payload,
      replyToProviderMessageId: msg.reply_to?.mid ?? null,
      wantsReply: active && !msg.is_echo,
      ...(msg.is_echo
        ? {
            lockReason:
              channel === 'messenger'
                ? 'A team member replied from the Facebook Page inbox.'
                : 'A team member replied from the Instagram app.',
          }
        : {}),
    };
    target.items.push({ path: at, dedupeKey: `m:${msg.mid}`, item });
    return null;
  }

  if (raw.postback !== undefined) {
    const p = messagingPostback.safeParse(raw.postback);
    if (!p.success) return { problem: `${at}.postback: ${issues(p.error)}` };
    // Older postbacks have no mid: the sender and time identify the tap.
    const providerMessageId = p.data.mid ?? `postback:${sender.id}:${timestamp.getTime()}`;
    target.items.push({
      path: at,
      dedupeKey: `m:${providerMessageId}`,
      item: {
        kind: 'message',
        providerMessageId,
        timestamp,
        contact: customer(sender.id),
        from: 'customer',
        type: 'postback',
        content: p.data.title ?? p.data.payload ?? null,
        attachments: [],
        payload: { postback: raw.postback, ...(active ? {} : { standby: true }) },
        wantsReply: active,
      },
    });
    return null;
  }

  if (raw.read !== undefined) {
    const r = messagingRead.safeParse(raw.read);
    if (!r.success) return { problem: `${at}.read: ${issues(r.error)}` };
    if (r.data.mid) {
      target.items.push({
        path: at,
        dedupeKey: `s:${r.data.mid}:read`,
        item: {
          kind: 'status',
          report: {
            providerMessageId: r.data.mid,
            providerStatus: 'read',
            status: 'read',
            timestamp,
            recipientId: sender.id,
            payload: { read: raw.read },
          },
        },
      });
      return null;
    }
    if (r.data.watermark) {
      target.items.push({
        path: at,
        item: {
          kind: 'watermark',
          report: {
            recipientId: sender.id,
            status: 'read',
            watermark: r.data.watermark,
            timestamp,
          },
        },
      });
      return null;
    }
    return { problem: `${at}.read: neither mid nor watermark` };
  }

  if (raw.delivery !== undefined) {
    const d = messagingDelivery.safeParse(raw.delivery);
    if (!d.success) return { problem: `${at}.delivery: ${issues(d.error)}` };
    for (const mid of d.data.mids ?? []) {
      if (!mid) continue;
      target.items.push({
        path: at,
        dedupeKey: `s:${mid}:delivered`,
        item: {
          kind: 'status',
          report: {
            providerMessageId: mid,
            providerStatus: 'delivered',
            status: 'delivered',
            timestamp,
            recipientId: sender.id,
            payload: { delivery: raw.delivery },
          },
        },
      });
    }
    if (d.data.watermark) {
      target.items.push({
        path: at,
        item: {
          kind: 'watermark',
          report: {
            recipientId: sender.id,
            status: 'delivered',
            watermark: d.data.watermark,
            timestamp,
          },
        },
      });
    }
    return d.data.mids?.length || d.data.watermark
      ? null
      : { problem: `${at}.delivery: neither mids nor watermark` };
  }

  if (raw.reaction !== undefined) {
    const r = messagingReaction.safeParse(raw.reaction);
    if (!r.success) return { problem: `${at}.reaction: ${issues(r.error)}` };
    const removed = r.data.action === 'unreact';
    // Reactions have no id of their own: who, on what, and when identifies one.
    const providerMessageId = `reaction:${r.data.mid}:${sender.id}:${timestamp.getTime()}`;
    const fromBusiness = sender.id === account;
    target.items.push({
      path: at,
      dedupeKey: `m:${providerMessageId}`,
      item: {
        kind: 'reaction',
        providerMessageId,
        targetProviderMessageId: r.data.mid,
        emoji: removed ? null : (r.data.emoji ?? r.data.reaction ?? null),
        timestamp,
        contact: customer(fromBusiness ? recipient.id : sender.id),
        from: fromBusiness ? 'business' : 'customer',
        payload: { reaction: raw.reaction },
      },
    });
    return null;
  }

  if (raw.message_edit !== undefined) {
    const edit = messagingEdit.safeParse(raw.message_edit);
    if (!edit.success) return { problem: `${at}.message_edit: ${issues(edit.error)}` };
    target.items.push({
      path: at,
      item: {
        kind: 'edit',
        targetProviderMessageId: edit.data.mid,
        timestamp,
        contact: customer(sender.id),
        by: sender.id === account ? 'business' : 'customer',
        content: edit.data.text ?? null,
        payload: {},
      },
    });
    return null;
  }

  const keys = Object.keys(raw).filter((k) => !['sender', 'recipient', 'timestamp'].includes(k));
  return { problem: `${at}: messaging event ${JSON.stringify(keys.slice(0, 5))} is not handled` };
}
