import { signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';

export type CannedReply = Schemas['CannedReply'];

/**
 * The business's canned replies, as last read. Read again whenever the picker opens (a team keeps
 * tens of them, and another admin may have just added one), and after the settings screen changes
 * one.
 */
export const cannedReplies = signal<CannedReply[]>([]);

export async function loadCannedReplies(): Promise<void> {
  cannedReplies.value = (await call(() => api.GET('/admin/canned-replies'))).items;
}

/** Replies whose title or text contains the query (case- and accent-free), titles first. */
export function matching(replies: readonly CannedReply[], query: string): CannedReply[] {
  const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase();
  const q = fold(query.trim());
  if (!q) return [...replies];
  const inTitle = replies.filter((r) => fold(r.title).includes(q));
  const inText = replies.filter((r) => !inTitle.includes(r) && fold(r.text).includes(q));
  return [...inTitle, ...inText];
}
