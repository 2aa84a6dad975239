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
import { parseMessagingEntry } from './messaging';
import { arrayAt, isRecord } from './shared';
import { parseWhatsAppEntry } from './whatsapp';

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
