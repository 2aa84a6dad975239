/**
 * Meta webhook bodies → what the database ingests. One callback URL receives three products:
 * WhatsApp Cloud API (`object: whatsapp_business_account`), Messenger (`page`) and Instagram
 * (`instagram`). Every entry, change and messaging item is read (Meta batches several per POST, in
 * both layouts), each validated on its own so one odd item never hides the others. Fields Meta may
 * omit are optional. Anything not understood is reported as a problem with its path: the event is
 * then kept as dead with that reason (never dropped silently); everything understood is ingested.
 * The channels' readers are beside this file: `whatsapp.ts`, and `messaging.ts` for Messenger and
 * Instagram (one shape); `shared.ts` holds what both use.
 */
import type { InboundItem, TemplateStatusUpdate } from '../../../db/inbound';
import type { Channel } from '../../../db/schema';
import type { ProviderAccount, WhatsAppAdapter } from '../../providers/adapter';
import { parseMessagingEntry } from './messaging';
import { arrayAt, isRecord } from './shared';
import { parseWhatsAppEntry } from './whatsapp';

export type ParsedItem = {
  item: InboundItem;
  /** Fast-path dedupe key (Redis), for items that are each stored once. */
  dedupeKey?: string;
  path: string;
};

export type AccountGroup = {
  channel: Channel;
  externalId: string;
  items: ParsedItem[];
  /** WhatsApp: the WABA ids (`entry[].id`) the body names this number under. */
  wabaIds?: Set<string>;
};

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

/** Far deeper than any body Meta sends (about ten levels); deeper parts are left out, not walked. */
export const MAX_BODY_DEPTH = 64;

/**
 * Postgres text cannot hold NUL, and jsonb rejects `\u0000` and unpaired surrogates (which
 * JSON.parse happily produces from `"\ud800"`): clean every string (keys too) once, so a hostile
 * or broken body can never make the database refuse a batch.
 *
 * Objects and arrays deeper than MAX_BODY_DEPTH become null and `onTooDeep` is told where: a body
 * nested thousands of levels deep would otherwise overflow the stack here (and the body was dead
 * as "not JSON", the real messages in it too: issue 15).
 */
export function storable(value: unknown, onTooDeep: (path: string) => void = () => {}): unknown {
  // The keys down to where we are, joined into a path only when something is too deep.
  const keys: Array<string | number> = [];
  const walk = (inner: unknown): unknown => {
    if (typeof inner === 'string') return inner.replaceAll('\u0000', '').toWellFormed();
    if (!Array.isArray(inner) && !isRecord(inner)) return inner;
    if (keys.length >= MAX_BODY_DEPTH) {
      onTooDeep(bodyPath(keys));
      return null;
    }
    const child = (key: string | number, v: unknown) => {
      keys.push(key);
      const out = walk(v);
      keys.pop();
      return out;
    };
    if (Array.isArray(inner)) return inner.map((v, i) => child(i, v));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(inner)) {
      out[walk(key) as string] = child(key, v);
    }
    return out;
  };
  return walk(value);
}

/** `entry[0].changes[1].value…`: the first levels of a path, enough to find the place. */
function bodyPath(keys: ReadonlyArray<string | number>): string {
  const shown = keys
    .slice(0, 8)
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`))
    .join('');
  return keys.length > 8 ? `${shown}…` : shown;
}

/**
 * How far ahead of our clock a provider timestamp may be and still be believed (clock skew).
 * Later than that, the provider's clock or the body is wrong; believed, a timestamp years ahead
 * would keep the 24 h window open until then and pin the chat to the top of the inbox.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Takes every item timestamp later than `receivedAt` + the allowed skew as `receivedAt` itself,
 * with a note on the event; the body as Meta sent it stays in the stored raw event. Past
 * timestamps are kept: Meta retries for days and replays are late by design.
 */
function clampTimestamps(parsed: ParsedWebhook, receivedAt: Date) {
  const latest = receivedAt.getTime() + MAX_CLOCK_SKEW_MS;
  const clamp = (at: Date, path: string): Date => {
    if (at.getTime() <= latest) return at;
    parsed.notes.push(
      `${path}: timestamp ${at.toISOString()} is in the future; taken as the receipt time ${receivedAt.toISOString()}`,
    );
    return receivedAt;
  };
  for (const group of parsed.accounts.values()) {
    for (const entry of group.items) {
      const { item, path } = entry;
      if (item.kind === 'status') {
        item.report.timestamp = clamp(item.report.timestamp, path);
      } else if (item.kind === 'watermark') {
        item.report.timestamp = clamp(item.report.timestamp, path);
        item.report.watermark = clamp(item.report.watermark, `${path} watermark`);
      } else {
        item.timestamp = clamp(item.timestamp, path);
      }
    }
  }
}

export function parseWebhook(
  body: unknown,
  options: { appId: string; receivedAt?: Date },
): ParsedWebhook {
  const parsed = parseBody(body, options);
  if (options.receivedAt) clampTimestamps(parsed, options.receivedAt);
  return parsed;
}

/**
 * A provider's callback body (Gupshup, YCloud), read by its adapter, in the same shape as Meta's:
 * one account group (the account the callback URL named and authenticated), the same timestamp
 * clamp, and the same "nothing understood" rule, so the rest of processing cannot tell them apart.
 */
export function parseProviderCallback(
  adapter: WhatsAppAdapter,
  body: unknown,
  account: ProviderAccount,
  options: { receivedAt?: Date },
): ParsedWebhook {
  const { items, problems, notes } = adapter.parse(body, account);
  const parsed: ParsedWebhook = {
    object: adapter.provider,
    accounts: new Map(),
    templates: new Map(),
    problems: [...problems],
    notes: [...notes],
  };
  if (items.length > 0) {
    parsed.accounts.set(`whatsapp:${account.externalId}`, {
      channel: 'whatsapp',
      externalId: account.externalId,
      items,
    });
  }
  if (options.receivedAt) clampTimestamps(parsed, options.receivedAt);
  nothingUnderstood(parsed);
  return parsed;
}

function nothingUnderstood(parsed: ParsedWebhook) {
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
}

function parseBody(body: unknown, options: { appId: string }): ParsedWebhook {
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
  nothingUnderstood(parsed);
  return parsed;
}
