/** Pieces every channel's parser reads with: ids, timestamps, problem wording, grouping. */
import { z } from 'zod';
import { graphErrorMeaning } from '../../../core/messaging/graph-errors';
import type { MessageItem, ReactionItem } from '../../../db/inbound';
import type { Channel } from '../../../db/schema';
import type { AccountGroup, ParsedItem, ParsedWebhook } from './index';

/** Meta ids are strings (sometimes numbers in JSON); bounded so they fit a unique index. */
export const id = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(z.string().min(1).max(512));
export const shortText = z.string().max(1024);

const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

function inRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST && ms < LATEST;
}

/** WhatsApp: unix seconds, sent as a string (a number is tolerated). */
export const secondsTimestamp = z
  .union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative()])
  .transform((v) => Number(v) * 1000)
  .refine(inRange, 'timestamp out of range')
  .transform((ms) => new Date(ms));

/** Messenger / Instagram: unix milliseconds, a number (a digit string is tolerated). */
export const millisTimestamp = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/)])
  .transform(Number)
  .refine(inRange, 'timestamp out of range')
  .transform((ms) => new Date(ms));

/** A failed status's error, with the same operator-facing reason a failed send gets. */
export function statusError(error: {
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

export function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`)
    .join('; ');
}

/** `value` read with `schema`; null, with a problem at `at`, when it does not fit. */
export function readOrReport<T>(
  parsed: ParsedWebhook,
  at: string,
  schema: z.ZodType<T>,
  value: unknown,
): T | null {
  const read = schema.safeParse(value);
  if (read.success) return read.data;
  parsed.problems.push(`${at}: ${issues(read.error)}`);
  return null;
}

/** A message or reaction: each is stored once, so its provider id is its fast-path dedupe key. */
export function storedOnce(path: string, item: MessageItem | ReactionItem): ParsedItem {
  return { path, dedupeKey: `m:${item.providerMessageId}`, item };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function arrayAt(value: unknown, key: string): unknown[] | undefined {
  if (!isRecord(value)) return undefined;
  const found = value[key];
  return Array.isArray(found) ? found : undefined;
}

export function group(parsed: ParsedWebhook, channel: Channel, externalId: string): AccountGroup {
  const key = `${channel}:${externalId}`;
  let found = parsed.accounts.get(key);
  if (!found) {
    found = { channel, externalId, items: [] };
    parsed.accounts.set(key, found);
  }
  return found;
}
