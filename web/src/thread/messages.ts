import { signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';
import { selectedId } from '../chat-list/chats';
import { expired } from '../session/session';

export type Message = Schemas['ChatMessage'];

/** The open chat's messages by id, oldest first when read through `sortedMessages`. */
export const messages = signal<Map<string, Message>>(new Map());
export const threadError = signal('');
/** Where the page before the oldest shown message starts; null when the first one is shown. */
export const olderCursor = signal<string | null>(null);
/**
 * Set while older messages are being put above the shown ones: the list's distance from its
 * bottom to the scroll position, restored after they render, so what the operator was reading
 * stays where it was.
 */
export const scrollAnchor: { fromBottom: number | null } = { fromBottom: null };
let cursor: string | null = null;

/**
 * Shows what went wrong in the open chat, until the next success replaces it. Not while the
 * sign-in prompt is open: it says why already, and the failure ends with signing in.
 */
export function showError(error: unknown) {
  if (!expired.value) threadError.value = (error as Error).message;
}

/**
 * The shown error that recording the customer's opt-in would clear (a template refused for
 * consent): then the error offers the contact panel's opt-in form. Any other error hides it.
 */
export const optInWouldHelp = signal('');

/** The open chat's error is gone once the operator did what it asked (or a send succeeded). */
export function clearOptInError() {
  if (threadError.value && threadError.value === optInWouldHelp.value) threadError.value = '';
}

export function resetThread() {
  messages.value = new Map();
  cursor = null;
  olderCursor.value = null;
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
    // Only the first page (no cursor) says where older messages start.
    if (!cursor) olderCursor.value = page.older_cursor;
    merge(page.items);
    cursor = page.next_cursor;
    more = page.has_more;
  }
}

function merge(items: Message[]) {
  if (items.length === 0) return;
  const next = new Map(messages.value);
  for (const m of items) next.set(m.id, m);
  messages.value = next;
}

/** The page of messages before the oldest shown one; `list` keeps its scroll position. */
export async function loadOlderMessages(list: HTMLElement | null): Promise<void> {
  const id = selectedId.value;
  const before = olderCursor.value;
  if (!id || !before) return;
  try {
    const page = await call(() =>
      api.GET('/admin/chats/{id}/messages', { params: { path: { id }, query: { before } } }),
    );
    if (id !== selectedId.value) return;
    if (list) scrollAnchor.fromBottom = list.scrollHeight - list.scrollTop;
    olderCursor.value = page.older_cursor;
    merge(page.items);
  } catch (error) {
    showError(error);
  }
}

export const sortedMessages = (all: Map<string, Message>) =>
  [...all.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
