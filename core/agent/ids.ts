import { stripAccents } from '../text';
/**
 * The id grammar of everything a customer or staff member can tap (reply buttons, list rows,
 * Messenger/Instagram quick replies and postbacks): `kind:{id}:action`.
 *
 * - `msg:{draft_id}:approve|edit|cancel` — an agent draft, from the escalation contact (approval mode);
 * - `conv:{conversation_id}:take` — a staff member takes a handed-off conversation;
 * - `appt:{appointment_id}:confirm|reschedule|cancel` — the customer's own appointment;
 * - `slot:{service_id}.{staff_id}.{epoch_minutes}:book` — a free time the agent offered: book it;
 * - `slot:{appointment_id}.{staff_id}.{epoch_minutes}:move` — a new time for the customer's
 *   appointment (after "reschedule");
 * - `opt:{option}:pick` — an option the agent offered (send_buttons / send_list): goes to the agent.
 *
 * Ids are stable (the same option always gets the same id) and short enough for every channel
 * (WhatsApp button ids ≤ 256, list row ids ≤ 200; a slot id is at most 95 characters).
 */
export type InteractiveId = { kind: string; id: string; action: string };

const GRAMMAR = /^([a-z]{2,12}):([A-Za-z0-9_.-]{1,120}):([a-z_]{2,20})$/;

export function parseInteractiveId(raw: string | null | undefined): InteractiveId | null {
  if (!raw) return null;
  const match = GRAMMAR.exec(raw.trim());
  if (!match?.[1] || !match[2] || !match[3]) return null;
  return { kind: match[1], id: match[2], action: match[3] };
}

export function formatInteractiveId(kind: string, id: string, action: string): string {
  const formatted = `${kind}:${id}:${action}`;
  if (!GRAMMAR.test(formatted)) throw new Error(`not a valid interactive id: ${formatted}`);
  return formatted;
}

/** A stable option slug from what the model called the option: lowercase ASCII, dashes. */
export function optionSlug(value: string): string {
  const slug = stripAccents(value)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  if (slug) return slug;
  // Titles in Arabic (or emoji only) have no ASCII letters: a short stable hash keeps ids stable.
  let hash = 0;
  for (const ch of value) hash = (Math.imul(hash, 31) + (ch.codePointAt(0) ?? 0)) >>> 0;
  return `o${hash.toString(36)}`;
}

/** A slot id's parts: `target` is a service id (`book`) or an appointment id (`move`). */
export type SlotId = {
  action: 'book' | 'move';
  target: string;
  staffId: string;
  start: Date;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MINUTE = 60_000;

/**
 * `slot:{target}.{staff_id}.{epoch_minutes}:book|move`. Minutes since the epoch (not an ISO time)
 * keep the id inside the grammar's characters and short; slots never start on a fraction of a
 * minute.
 */
export function formatSlotId(slot: SlotId): string {
  const minutes = Math.floor(slot.start.getTime() / MINUTE);
  return formatInteractiveId('slot', `${slot.target}.${slot.staffId}.${minutes}`, slot.action);
}

/** The slot an id names, or null when it is not a well-formed slot id. */
export function parseSlotId(id: InteractiveId): SlotId | null {
  if (id.kind !== 'slot' || (id.action !== 'book' && id.action !== 'move')) return null;
  const [target, staffId, minutes, ...rest] = id.id.split('.');
  if (rest.length > 0 || !target || !staffId || !minutes) return null;
  if (!UUID.test(target) || !UUID.test(staffId) || !/^\d{1,10}$/.test(minutes)) return null;
  return { action: id.action, target, staffId, start: new Date(Number(minutes) * MINUTE) };
}
