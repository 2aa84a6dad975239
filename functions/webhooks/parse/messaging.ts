/**
 * Messenger (`object: page`) and Instagram (`object: instagram`): both speak the Messenger
 * Platform's shape, an entry per Page or account with `messaging[]` (and `standby[]` when another
 * app owns the thread) of events: message, postback, read, delivery, reaction, message_edit.
 */
import { z } from 'zod';
import type { ContactIdentity, MessageItem } from '../../../db/inbound';
import type { Attachment, Channel } from '../../../db/schema';
import type { AccountGroup, ParsedItem, ParsedWebhook } from './index';
import { group, id, isRecord, issues, millisTimestamp, readOrReport, storedOnce } from './shared';

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
  /** What the sender set on the send (ours: our message id); anyone's app can set anything. */
  metadata: z.string().max(1000).optional().catch(undefined),
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

export function parseMessagingEntry(
  parsed: ParsedWebhook,
  channel: Channel,
  entry: unknown,
  path: string,
  options: { appId: string },
) {
  const e = readOrReport(parsed, path, messagingEntry, entry);
  if (e === null) return;
  const account = e.id;
  if (e.changes?.length) {
    parsed.problems.push(
      `${path}.changes: ${channel} change webhooks (comments, mentions, …) are not handled`,
    );
  }
  if (!e.messaging && !e.standby && !e.changes) {
    parsed.problems.push(`${path}: entry without messaging[]`);
  }
  const target = group(parsed, channel, account);
  const layouts: Array<[string, unknown[] | undefined, boolean]> = [
    ['messaging', e.messaging, true],
    // Another app owns the thread (handover protocol): keep the messages, let that app answer.
    ['standby', e.standby, false],
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

/** One messaging event's envelope, and the account group its items go to. */
type MessagingEvent = {
  target: AccountGroup;
  channel: Channel;
  /** The Page or Instagram account the entry is for. */
  account: string;
  raw: Record<string, unknown>;
  at: string;
  /** False in `standby[]`: another app answers this thread. */
  active: boolean;
  sender: string;
  recipient: string;
  timestamp: Date;
};

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
  const event: MessagingEvent = {
    target,
    channel,
    account,
    raw,
    at,
    active,
    sender: sender.id,
    recipient: recipient.id,
    timestamp,
  };
  if (raw.message !== undefined) return messageEvent(event, options);
  if (raw.postback !== undefined) return postbackEvent(event);
  if (raw.read !== undefined) return readEvent(event);
  if (raw.delivery !== undefined) return deliveryEvent(event);
  if (raw.reaction !== undefined) return reactionEvent(event);
  if (raw.message_edit !== undefined) return editEvent(event);
  const keys = Object.keys(raw).filter((k) => !['sender', 'recipient', 'timestamp'].includes(k));
  return { problem: `${at}: messaging event ${JSON.stringify(keys.slice(0, 5))} is not handled` };
}

function customer(id: string): ContactIdentity {
  return { externalUserId: id };
}

type MessagingMessage = z.output<typeof messagingMessage>;

function messageEvent(event: MessagingEvent, options: { appId: string }): EventOutcome {
  const { target, raw, at, timestamp } = event;
  const m = messagingMessage.safeParse(raw.message);
  if (!m.success) return { problem: `${at}.message: ${issues(m.error)}` };
  const msg = m.data;
  if (msg.is_echo) {
    // Our own sends come back as echoes: the send job records them, never store them twice.
    if (msg.app_id !== undefined && String(msg.app_id) === options.appId) {
      // The echo says Meta has it: a `sent` status naming our message (`metadata`), which binds
      // the mid to a send whose answer was lost (db/statuses.ts), and is a no-op otherwise.
      if (msg.metadata) {
        target.items.push(ownSendEcho(event, msg.mid, { callbackData: msg.metadata }));
        return null;
      }
      // Instagram's send API takes no `metadata`: its echo names the customer and the text, and
      // binds a send whose answer was lost by those (db/statuses.ts). Media: the send job's.
      if (msg.text) {
        target.items.push(ownSendEcho(event, msg.mid, { echoText: msg.text }));
        return null;
      }
      return { note: `${at}: echo of our own send ${msg.mid} (recorded by the send job)` };
    }
  }
  // Echoes are reversed: the business is the sender, the customer the recipient.
  const contact = customer(msg.is_echo ? event.recipient : event.sender);
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
  const attachments = messagingAttachments(msg);
  const empty = isEmptyMessage(msg, attachments);
  const payload = messagePayload(event, msg);
  // Nothing to read: kept (and shown) as a message we cannot show, and no turn for it, neither
  // scheduled nor chosen later (`routing.turn` false), so the agent never answers a blank.
  if (empty) payload.routing = { turn: false, outcome: 'empty' };
  const item: MessageItem = {
    kind: 'message',
    providerMessageId: msg.mid,
    timestamp,
    contact,
    from: msg.is_echo ? 'business' : 'customer',
    type: empty ? 'unsupported' : messageType(msg, attachments),
    content: empty ? null : (msg.text ?? null),
    attachments,
    payload,
    replyToProviderMessageId: msg.reply_to?.mid ?? null,
    wantsReply: event.active && !msg.is_echo && !empty,
    ...(msg.is_echo
      ? {
          lockReason:
            event.channel === 'messenger'
              ? 'A team member replied from the Facebook Page inbox.'
              : 'A team member replied from the Instagram app.',
        }
      : {}),
  };
  target.items.push(storedOnce(at, item));
  return null;
}

function messagingAttachments(msg: MessagingMessage): Attachment[] {
  return (msg.attachments ?? []).map((a) => {
    const kind = messagingAttachmentKinds[a.type] ?? 'other';
    const url = a.payload?.url;
    return {
      kind,
      ...(url ? { url } : {}),
      ...(a.payload?.title ? { caption: a.payload.title } : {}),
      ...(kind === 'other' ? { data: { type: a.type, payload: a.payload ?? null } } : {}),
    };
  });
}

/**
 * A message with no text (or only spaces), no files and no tapped reply: Meta sends such for
 * things it does not describe. The agent has nothing to answer in it.
 */
function isEmptyMessage(msg: MessagingMessage, attachments: Attachment[]): boolean {
  return !msg.text?.trim() && attachments.length === 0 && !msg.quick_reply && !msg.is_unsupported;
}

function messageType(msg: MessagingMessage, attachments: Attachment[]): string {
  return msg.is_unsupported
    ? 'unsupported'
    : msg.quick_reply
      ? 'quick_reply'
      : msg.text !== undefined && attachments.length === 0
        ? 'text'
        : (msg.attachments?.[0]?.type ?? 'text');
}

/** What the message carries beyond its text and files, kept for replay and for the agent. */
function messagePayload(event: MessagingEvent, msg: MessagingMessage): Record<string, unknown> {
  const { raw } = event;
  const payload: Record<string, unknown> = {};
  if (msg.quick_reply) payload.quick_reply = msg.quick_reply;
  if (msg.reply_to) payload.reply_to = msg.reply_to;
  if (isRecord(raw.message) && raw.message.referral !== undefined)
    payload.referral = raw.message.referral;
  if (msg.is_echo) {
    payload.echo = event.channel === 'messenger' ? 'page_inbox' : 'instagram_app';
    if (msg.app_id !== undefined) payload.app_id = String(msg.app_id);
  }
  if (!event.active) payload.standby = true;
  return payload;
}

function postbackEvent(event: MessagingEvent): EventOutcome {
  const { raw, at, sender, timestamp, active } = event;
  const p = messagingPostback.safeParse(raw.postback);
  if (!p.success) return { problem: `${at}.postback: ${issues(p.error)}` };
  // Older postbacks have no mid: the sender and time identify the tap.
  const providerMessageId = p.data.mid ?? `postback:${sender}:${timestamp.getTime()}`;
  event.target.items.push(
    storedOnce(at, {
      kind: 'message',
      providerMessageId,
      timestamp,
      contact: customer(sender),
      from: 'customer',
      type: 'postback',
      content: p.data.title ?? p.data.payload ?? null,
      attachments: [],
      payload: { postback: raw.postback, ...(active ? {} : { standby: true }) },
      wantsReply: active,
    }),
  );
  return null;
}

/**
 * The echo of our own send, as a `sent` status: carrying the message id we sent as `metadata`
 * (Messenger), or only its text (Instagram).
 */
function ownSendEcho(
  event: MessagingEvent,
  mid: string,
  names: { callbackData: string } | { echoText: string },
): ParsedItem {
  return {
    path: event.at,
    dedupeKey: `s:${mid}:sent`,
    item: {
      kind: 'status',
      report: {
        providerMessageId: mid,
        providerStatus: 'echo',
        status: 'sent',
        timestamp: event.timestamp,
        recipientId: event.recipient,
        payload: { echo: true },
        ...names,
      },
    },
  };
}

/** The customer read or received one of the business's messages, named by its mid. */
function receipt(
  event: MessagingEvent,
  mid: string,
  status: 'read' | 'delivered',
  payload: Record<string, unknown>,
): ParsedItem {
  return {
    path: event.at,
    dedupeKey: `s:${mid}:${status}`,
    item: {
      kind: 'status',
      report: {
        providerMessageId: mid,
        providerStatus: status,
        status,
        timestamp: event.timestamp,
        recipientId: event.sender,
        payload,
      },
    },
  };
}

/** The customer read or received everything the business sent up to `watermark`. */
function watermark(event: MessagingEvent, status: 'read' | 'delivered', upTo: Date): ParsedItem {
  return {
    path: event.at,
    item: {
      kind: 'watermark',
      report: {
        recipientId: event.sender,
        status,
        watermark: upTo,
        timestamp: event.timestamp,
      },
    },
  };
}

function readEvent(event: MessagingEvent): EventOutcome {
  const { raw, at, target } = event;
  const r = messagingRead.safeParse(raw.read);
  if (!r.success) return { problem: `${at}.read: ${issues(r.error)}` };
  if (r.data.mid) {
    target.items.push(receipt(event, r.data.mid, 'read', { read: raw.read }));
    return null;
  }
  if (r.data.watermark) {
    target.items.push(watermark(event, 'read', r.data.watermark));
    return null;
  }
  return { problem: `${at}.read: neither mid nor watermark` };
}

function deliveryEvent(event: MessagingEvent): EventOutcome {
  const { raw, at, target } = event;
  const d = messagingDelivery.safeParse(raw.delivery);
  if (!d.success) return { problem: `${at}.delivery: ${issues(d.error)}` };
  for (const mid of d.data.mids ?? []) {
    if (!mid) continue;
    target.items.push(receipt(event, mid, 'delivered', { delivery: raw.delivery }));
  }
  if (d.data.watermark) target.items.push(watermark(event, 'delivered', d.data.watermark));
  return d.data.mids?.length || d.data.watermark
    ? null
    : { problem: `${at}.delivery: neither mids nor watermark` };
}

function reactionEvent(event: MessagingEvent): EventOutcome {
  const { raw, at, sender, recipient, timestamp } = event;
  const r = messagingReaction.safeParse(raw.reaction);
  if (!r.success) return { problem: `${at}.reaction: ${issues(r.error)}` };
  const removed = r.data.action === 'unreact';
  // Reactions have no id of their own: who, on what, and when identifies one.
  const providerMessageId = `reaction:${r.data.mid}:${sender}:${timestamp.getTime()}`;
  const fromBusiness = sender === event.account;
  event.target.items.push(
    storedOnce(at, {
      kind: 'reaction',
      providerMessageId,
      targetProviderMessageId: r.data.mid,
      emoji: removed ? null : (r.data.emoji ?? r.data.reaction ?? null),
      timestamp,
      contact: customer(fromBusiness ? recipient : sender),
      from: fromBusiness ? 'business' : 'customer',
      payload: { reaction: raw.reaction },
    }),
  );
  return null;
}

function editEvent(event: MessagingEvent): EventOutcome {
  const { raw, at, sender } = event;
  const edit = messagingEdit.safeParse(raw.message_edit);
  if (!edit.success) return { problem: `${at}.message_edit: ${issues(edit.error)}` };
  event.target.items.push({
    path: at,
    item: {
      kind: 'edit',
      targetProviderMessageId: edit.data.mid,
      timestamp: event.timestamp,
      contact: customer(sender),
      by: sender === event.account ? 'business' : 'customer',
      content: edit.data.text ?? null,
      payload: {},
    },
  });
  return null;
}
