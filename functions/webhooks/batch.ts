/**
 * Meta batches up to 1,000 updates in one body. Up to this many are processed in the request, in
 * one transaction before the 200 (a few hundred milliseconds); a larger body is stored and handed
 * to the `webhook-event` job, so its 200 stays as fast as a single message's (issue 15).
 */
export const INLINE_UPDATES_LIMIT = 100;

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

/**
 * How many updates a body holds, counted on its outer levels only (whatever its shape: a body
 * that is not Meta's counts 0 and is judged by the processing): each Messenger/Instagram
 * `messaging` item, each WhatsApp message and status, and any other change as one.
 */
export function updatesIn(body: unknown): number {
  let updates = 0;
  for (const entry of list(field(body, 'entry'))) {
    updates += list(field(entry, 'messaging')).length;
    for (const change of list(field(entry, 'changes'))) {
      const value = field(change, 'value');
      const items = list(field(value, 'messages')).length + list(field(value, 'statuses')).length;
      updates += Math.max(1, items);
    }
  }
  return updates;
}
