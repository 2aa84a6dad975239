import { computed, signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';

export type Chat = Schemas['ChatSummary'];
export type HumanFilter = 'all' | 'human_only' | 'bot_only';
export type Channel = Chat['channel_source'];

const PAGE = 30;
/** The API's largest page. */
const MAX_PAGE = 100;

/** The chat list as the last poll saw it, with its filters and the open chat. */
export const chats = signal<Chat[]>([]);
export const humanFilter = signal<HumanFilter>('all');
export const channelFilter = signal<Channel | ''>('');
export const selectedId = signal<string | null>(null);
/** Only chats with this label ('' for any). */
export const labelFilter = signal('');
/** Only chats assigned to: 'me', 'none' (nobody), a member's user id, or '' for anyone. */
export const assigneeFilter = signal('');
/** Every label the list has shown since the page opened: the label filter's choices. */
export const knownLabels = signal<string[]>([]);
/** The search box's text, as sent (`q`); '' for none. */
export const searchText = signal('');
/** Whether the list goes on past what is shown. */
export const hasMore = signal(false);
export const selectedChat = computed(
  () => chats.value.find((c) => c.id === selectedId.value) ?? null,
);

let lastAsked = 0;
let lastShown = 0;
let nextCursor: string | null = null;
/** How many chats the operator has asked to see: a page, plus one per "Load more". */
let wanted = PAGE;

function listQuery(limit: number, cursor: string | null) {
  return {
    human_filter: humanFilter.value,
    limit,
    ...(channelFilter.value ? { channel: channelFilter.value } : {}),
    ...(searchText.value ? { q: searchText.value } : {}),
    ...(labelFilter.value ? { label: labelFilter.value } : {}),
    ...(assigneeFilter.value ? { assignee: assigneeFilter.value } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/** Shows an answer unless a newer request's answer is on screen already. */
function show(asked: number, items: Chat[], cursor: string | null) {
  if (asked < lastShown) return;
  lastShown = asked;
  chats.value = items;
  const labels = new Set([...knownLabels.value, ...items.flatMap((c) => c.labels)]);
  if (labels.size > knownLabels.value.length) knownLabels.value = [...labels].sort();
  nextCursor = cursor;
  hasMore.value = cursor !== null;
}

/**
 * Reads the list again, as far down as the operator has loaded (`wanted`; one request up to the
 * API's 100, paged by cursor beyond), so a poll never takes back a "Load more". Polls and actions
 * overlap: an answer to an older request that arrives after a newer one's is dropped, so a stale
 * list never undoes what the operator just did.
 */
export async function refreshChats(): Promise<void> {
  const asked = ++lastAsked;
  const count = wanted;
  const items: Chat[] = [];
  let cursor: string | null = null;
  do {
    const query = listQuery(Math.min(MAX_PAGE, count - items.length), cursor);
    const page = await call(() => api.GET('/admin/chats/summary', { params: { query } }));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < count);
  show(asked, items, cursor);
}

/** The next page after what is shown, from the last answer's cursor. */
export async function loadMoreChats(): Promise<void> {
  if (!nextCursor) return;
  // Raised first: a poll that starts meanwhile reads this far down too.
  wanted = chats.value.length + PAGE;
  const asked = ++lastAsked;
  const page = await call(() =>
    api.GET('/admin/chats/summary', { params: { query: listQuery(PAGE, nextCursor) } }),
  );
  const shown = chats.value;
  const known = new Set(shown.map((c) => c.id));
  show(asked, [...shown, ...page.items.filter((c) => !known.has(c.id))], page.next_cursor);
}

/** A new filter or search starts again from the first page. */
export function resetPaging() {
  wanted = PAGE;
}

export const CHANNEL_NAMES: Record<Channel, string> = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  web: 'Website chat',
};
