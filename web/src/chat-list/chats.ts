import { computed, signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';

export type Chat = Schemas['ChatSummary'];
export type HumanFilter = 'all' | 'human_only' | 'bot_only';
export type Channel = Chat['channel_source'];

/** The chat list as the last poll saw it, with its filters and the open chat. */
export const chats = signal<Chat[]>([]);
export const humanFilter = signal<HumanFilter>('all');
export const channelFilter = signal<Channel | ''>('');
export const selectedId = signal<string | null>(null);
export const selectedChat = computed(
  () => chats.value.find((c) => c.id === selectedId.value) ?? null,
);

let lastAsked = 0;
let lastShown = 0;

/**
 * Reads the list again. Polls and actions overlap: an answer to an older request that arrives
 * after a newer one's is dropped, so a stale list never undoes what the operator just did.
 */
export async function refreshChats(): Promise<void> {
  const asked = ++lastAsked;
  const query = {
    human_filter: humanFilter.value,
    limit: 100,
    ...(channelFilter.value ? { channel: channelFilter.value } : {}),
  };
  const { items } = await call(() => api.GET('/admin/chats/summary', { params: { query } }));
  if (asked < lastShown) return;
  lastShown = asked;
  chats.value = items;
}

export const CHANNEL_NAMES: Record<Channel, string> = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
};
