/**
 * Gupshup's v2 callbacks (`{app, timestamp, version: 2, type, payload}`) → the pipeline's items
 * (docs/providers.md "Gupshup"). Customer messages become the same `MessageItem`s Meta's parser
 * makes, in Meta's vocabulary where there is one (`file` → `document`, a tapped reply button →
 * `interactive.button_reply`, a template button → `button`), so the agent, intake and history read
 * them unchanged; Gupshup's own object is kept beside it under `payload.gupshup`. Message events
 * become `StatusItem`s keyed by Gupshup's message id (the send's `messageId`).
 *
 * Never throws: whatever is not understood becomes a problem with its path from the body's root
 * (`payload.payload.url: …`), and what is understood but not ingested (opt-in events, template and
 * account events) becomes a note.
 */
import { z } from 'zod';
import type { ContactIdentity, MessageItem } from '../../../db/inbound';
import type { Attachment } from '../../../db/schema';
import { deliveryStatusOf, type StatusReport } from '../../../db/statuses';
import type { ParsedItem } from '../../webhooks/parse';
import {
  id,
  isRecord,
  millisTimestamp,
  secondsTimestamp,
  shortText,
  storedOnce,
} from '../../webhooks/parse/shared';
import type { ParsedCallback, ProviderAccount } from '../adapter';
import { gupshupFailureMeaning } from './errors';

const envelope = z.object({
  app: z.string().min(1).max(256),
  /** When Gupshup received the event, Unix milliseconds. */
  timestamp: millisTimestamp,
  version: z.union([z.literal(2), z.literal('2')]).optional(),
  type: z.string().min(1).max(64),
  payload: z.unknown(),
});

/** Gupshup writes numbers as E.164 digits without `+`; a `+` is dropped so keys match Meta's wa_id. */
const customerNumber = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .transform((value) => value.replace(/^\+/, ''));

const inboundMessage = z.object({
  /** The WhatsApp id of the customer's message: the durable dedupe key. */
  id,
  source: customerNumber,
  type: z.string().min(1).max(64),
  payload: z.unknown(),
  sender: z
    .looseObject({
      phone: z.string().max(64).optional(),
      name: z.string().max(512).optional(),
    })
    .optional(),
  context: z
    .looseObject({
      /** The WhatsApp id of the quoted message. */
      id: z.string().max(512).optional(),
      /** Gupshup's id of the quoted message: ours when the customer quoted one of our sends. */
      gsId: z.string().max(512).optional(),
    })
    .optional(),
});

const messageEvent = z.object({
  /** Gupshup's id for enqueued / sync failed; WhatsApp's id for sent / delivered / read. */
  id,
  /** Gupshup's id (the send's `messageId`); absent on events more than a week after the send. */
  gsId: id.optional(),
  type: z.string().min(1).max(64),
  destination: z.string().max(64).optional(),
  /** The event's own time, Unix seconds (sent, delivered, read). */
  ts: secondsTimestamp.optional(),
  payload: z.unknown().optional(),
});

const failure = z.object({
  code: z.union([z.number().int(), z.string().min(1).max(32)]).transform(String),
  reason: shortText.optional(),
});

const userEvent = z.object({ phone: z.string().max(64), type: z.string().min(1).max(64) });

const text = z.object({ text: z.string() });
const media = z.object({
  url: z.string().min(1).max(4096),
  contentType: z.string().max(255).optional(),
  /** The field table of Gupshup's media page names it so; its examples say `contentType`. */
  'content-type': z.string().max(255).optional(),
  caption: z.string().optional(),
  name: z.string().max(1024).optional(),
  urlExpiry: z.number().optional(),
});
const location = z.object({
  latitude: z.coerce.number().min(-90).max(90),
  longitude: z.coerce.number().min(-180).max(180),
  name: z.string().max(1024).optional(),
  address: z.string().max(2048).optional(),
  url: z.string().max(4096).optional(),
});
const contactCards = z.object({
  contacts: z.array(
    z.looseObject({
      name: z.looseObject({ formatted_name: z.string().max(1024).optional() }).optional(),
    }),
  ),
});
/** `id` is the sent message's `msgid`; our own option id comes back as `postbackText`. */
const replyTap = z.object({
  title: z.string().max(1024),
  id: z.string().max(1024).optional(),
  reply: z.string().max(1024).optional(),
  postbackText: z.string().max(1024).optional(),
  description: z.string().max(2048).optional(),
});
const templateButtonTap = z.object({
  text: z.string().max(4096),
  type: z.string().max(64).optional(),
  postbackText: z.string().max(4096).optional(),
});

/** Gupshup's media types → our attachment kind (and message type): `file` is a document. */
const MEDIA_KINDS: Record<string, Attachment['kind']> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  sticker: 'sticker',
  file: 'document',
};

/** Events Gupshup sends that are understood but carry nothing the pipeline ingests. */
const NOTED_EVENTS = new Set(['template-event', 'account-event', 'billing-event']);

type Content = Pick<MessageItem, 'type' | 'content' | 'attachments'> & {
  /** The Meta-shaped object the rest of the code reads (`interactive`, `button`, …). */
  extras: Record<string, unknown>;
};

/** `at` is the path from the body's root; each issue is reported under it. */
function problemAt(at: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = [at, ...issue.path.map(String)].filter((part) => part !== '').join('.');
      return `${path || '(body)'}: ${issue.message}`;
    })
    .join('; ');
}

/** `value` read with `schema`, or null with a problem at `at`. */
function read<T>(
  parsed: ParsedCallback,
  at: string,
  schema: z.ZodType<T>,
  value: unknown,
): T | null {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  parsed.problems.push(problemAt(at, result.error));
  return null;
}

/** The content of a customer message by Gupshup's type; a problem string when it is malformed. */
function content(type: string, value: unknown): Content | string {
  const at = 'payload.payload';
  const fail = (error: z.ZodError) => problemAt(at, error);
  if (type === 'text') {
    const t = text.safeParse(value);
    if (!t.success) return fail(t.error);
    return { type: 'text', content: t.data.text, attachments: [], extras: {} };
  }
  const mediaKind = MEDIA_KINDS[type];
  if (mediaKind) {
    const m = media.safeParse(value);
    if (!m.success) return fail(m.error);
    const { url, caption, name } = m.data;
    const mimeType = m.data.contentType ?? m.data['content-type'];
    const attachment: Attachment = {
      kind: mediaKind,
      url,
      ...(mimeType ? { mimeType } : {}),
      ...(caption ? { caption } : {}),
      ...(name ? { filename: name } : {}),
      // Gupshup's link expires (about a week): the media job must fetch it before then.
      ...(m.data.urlExpiry !== undefined ? { data: { urlExpiry: m.data.urlExpiry } } : {}),
    };
    return { type: mediaKind, content: caption || null, attachments: [attachment], extras: {} };
  }
  if (type === 'location') {
    const l = location.safeParse(value);
    if (!l.success) return fail(l.error);
    const place = l.data;
    const label = [place.name, place.address].filter(Boolean).join(', ');
    return {
      type: 'location',
      content: label || `Location: ${place.latitude}, ${place.longitude}`,
      attachments: [{ kind: 'location', data: { ...place } }],
      extras: {},
    };
  }
  if (type === 'contact') {
    const cards = contactCards.safeParse(value);
    if (!cards.success) return fail(cards.error);
    const names = cards.data.contacts.map((c) => c.name?.formatted_name).filter(Boolean);
    return {
      type: 'contacts',
      content: names.length > 0 ? `Contact: ${names.join(', ')}` : 'Contact card',
      attachments: [{ kind: 'contacts', data: { contacts: cards.data.contacts } }],
      extras: {},
    };
  }
  if (type === 'button_reply' || type === 'list_reply') {
    const tap = replyTap.safeParse(value);
    if (!tap.success) return fail(tap.error);
    const { title, description } = tap.data;
    // Gupshup answers a tap with the option's postbackText (ours: the button or row id), and
    // with the sent message's msgid as `id`; the id we gave is the postbackText.
    const tapped = tap.data.postbackText ?? tap.data.id ?? title;
    const reply =
      type === 'button_reply'
        ? { type: 'button_reply', button_reply: { id: tapped, title } }
        : {
            type: 'list_reply',
            list_reply: { id: tapped, title, ...(description ? { description } : {}) },
          };
    return { type: 'interactive', content: title, attachments: [], extras: { interactive: reply } };
  }
  if (type === 'quick_reply') {
    const tap = templateButtonTap.safeParse(value);
    if (!tap.success) return fail(tap.error);
    const { text: label, postbackText } = tap.data;
    return {
      type: 'button',
      content: label,
      attachments: [],
      extras: { button: { text: label, payload: postbackText ?? label } },
    };
  }
  return `payload.type: message type ${JSON.stringify(type)} is not handled`;
}

function customerMessage(
  parsed: ParsedCallback,
  timestamp: Date,
  payload: unknown,
): ParsedItem | null {
  const m = read(parsed, 'payload', inboundMessage, payload);
  if (m === null) return null;
  const body = content(m.type, m.payload);
  if (typeof body === 'string') {
    parsed.problems.push(body);
    return null;
  }
  const contact: ContactIdentity = {
    externalUserId: m.source,
    phone: m.source,
    name: m.sender?.name ?? null,
  };
  const { extras, ...rest } = body;
  return storedOnce('payload', {
    kind: 'message',
    providerMessageId: m.id,
    timestamp,
    contact,
    from: 'customer',
    ...rest,
    payload: {
      ...extras,
      ...(m.context ? { context: m.context } : {}),
      gupshup: { type: m.type, payload: m.payload },
    },
    // Our sends are known by Gupshup's id; a quoted customer message only by WhatsApp's.
    replyToProviderMessageId: m.context?.gsId ?? m.context?.id ?? null,
    wantsReply: true,
  });
}

/** Gupshup's event words → ours: `enqueued` only confirms what the send's answer said. */
const STATUS_WORDS: Record<string, string> = {
  enqueued: 'sent',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};

/**
 * When the status happened: the event's own `ts` (whole seconds), made exact to the millisecond by
 * the envelope's time when that falls within the same second (else a status and the next one
 * could tie or swap within a second); the envelope's time when there is no `ts` (enqueued).
 */
function eventTime(ts: Date | undefined, received: Date): Date {
  if (!ts) return received;
  const late = received.getTime() - ts.getTime();
  return late >= 0 && late < 1000 ? received : ts;
}

function deliveryEvent(
  parsed: ParsedCallback,
  received: Date,
  payload: unknown,
  raw: Record<string, unknown>,
): ParsedItem | null {
  const e = read(parsed, 'payload', messageEvent, payload);
  if (e === null) return null;
  // The send's answer named Gupshup's id; events name it `gsId`, or `id` before WhatsApp has one.
  const providerMessageId = e.gsId ?? e.id;
  if (e.type === 'deleted' || e.type === 'mismatch') {
    const what =
      e.type === 'deleted'
        ? 'the customer deleted'
        : "WhatsApp id does not match the number sent to (e.g. Brazil's 9th digit), for";
    parsed.notes.push(`payload: Gupshup event ${e.type}: ${what} message ${providerMessageId}`);
    return null;
  }
  const word = STATUS_WORDS[e.type];
  const status = word ? deliveryStatusOf(word) : null;
  if (!status) {
    parsed.problems.push(`payload.type: message event ${JSON.stringify(e.type)} is not handled`);
    return null;
  }
  let error: StatusReport['error'] = null;
  if (status === 'failed') {
    const f = read(parsed, 'payload.payload', failure, e.payload);
    if (f === null) return null;
    error = {
      code: f.code,
      title: f.reason ?? null,
      details: null,
      reason: gupshupFailureMeaning(f.code, f.reason ?? null).reason,
    };
  }
  return {
    path: 'payload',
    dedupeKey: `s:${providerMessageId}:${e.type}`,
    item: {
      kind: 'status',
      report: {
        providerMessageId,
        providerStatus: e.type,
        status,
        timestamp: eventTime(e.ts, received),
        recipientId: e.destination ?? null,
        error,
        payload: raw,
      },
    },
  };
}

/** Opt-in / opt-out and sandbox events: understood; the contract has no item for them yet. */
function noteUserEvent(parsed: ParsedCallback, payload: unknown) {
  const u = read(parsed, 'payload', userEvent, payload);
  if (u === null) return;
  parsed.notes.push(`payload: Gupshup user event ${u.type} for ${u.phone} (nothing ingested)`);
}

export function parseGupshup(body: unknown, account: ProviderAccount): ParsedCallback {
  const parsed: ParsedCallback = { items: [], problems: [], notes: [] };
  if (!isRecord(body)) {
    parsed.problems.push('(body): not a JSON object');
    return parsed;
  }
  const e = read(parsed, '', envelope, body);
  if (e === null) return parsed;
  if (e.app !== account.externalId) {
    parsed.problems.push(
      `app: ${JSON.stringify(e.app)} is not this account's Gupshup app (${JSON.stringify(account.externalId)})`,
    );
    return parsed;
  }
  if (e.type === 'message') {
    const item = customerMessage(parsed, e.timestamp, e.payload);
    if (item) parsed.items.push(item);
  } else if (e.type === 'message-event') {
    const item = deliveryEvent(parsed, e.timestamp, e.payload, body);
    if (item) parsed.items.push(item);
  } else if (e.type === 'user-event') {
    noteUserEvent(parsed, e.payload);
  } else if (NOTED_EVENTS.has(e.type)) {
    parsed.notes.push(`type: Gupshup ${e.type} (nothing ingested)`);
  } else {
    parsed.problems.push(`type: callback type ${JSON.stringify(e.type)} is not handled`);
  }
  return parsed;
}
