import { signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';
import { selectedId } from '../chat-list/chats';
import { expired } from '../session/session';

export type Message = Schemas['ChatMessage'];

/** The open chat's messages by id, oldest first when read through `sortedMessages`. */
export const messages = signal<Map<string, Message>>(new Map());
export const threadError = signal('');
let cursor: string | null = null;

/**
 * Shows what went wrong in the open chat, until the next success replaces it. Not while the
 * sign-in prompt is open: it says why already, and the failure ends with signing in.
 */
export function showError(error: unknown) {
  if (!expired.value) showError(error);
}

export function resetThread() {
  messages.value = new Map();
  cursor = null;
  threadError.value = '';
}

/** Delta sync: only messages created or changed since the last cursor (new ones, statuses, …). */
export async function syncMessages(): Promise<void> {
  const id = selectedId.value;
  let more = true;
  while (more && id && id === selectedId.value) {
    const query = cursor ? { after: cursor } : {};
    const page = await call(() =>
      api.GET('/admin/chats/{id}/messages', { params: { path: { id }, query } }),
    );
    if (id !== selectedId.value) return;
    if (page.items.length > 0) {
      const next = new Map(messages.value);
      for (const m of page.items) next.set(m.id, m);
      messages.value = next;
    }
    cursor = page.next_cursor;
    more = page.has_more;
  }
}

export const sortedMessages = (all: Map<string, Message>) =>
  [...all.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
