import { loadReplyMode, resetDrafts, syncDrafts } from '../ai/drafts';
import { api, call } from '../api/client';
import {
  channelFilter,
  chats,
  humanFilter,
  refreshChats,
  resetPaging,
  searchText,
  selectedId,
} from '../chat-list/chats';
import { pane, view } from '../shell/layout';
import { resetThread, showError, syncMessages } from './messages';

/** Opens a chat: its messages, then marks it read (the list's unread count follows). */
export async function openChat(id: string): Promise<void> {
  selectedId.value = id;
  resetThread();
  resetDrafts();
  pane.value = 'thread';
  try {
    await Promise.all([syncMessages(), loadReplyMode().then(syncDrafts)]);
    await markRead(id);
    await refreshChats();
  } catch (error) {
    showError(error);
  }
}

/** Opens a chat from elsewhere (the agenda): the list's filters must not hide it. */
export function openConversation(id: string): Promise<void> {
  humanFilter.value = 'all';
  channelFilter.value = '';
  searchText.value = '';
  resetPaging();
  view.value = 'inbox';
  return openChat(id);
}

/**
 * The operator has read the chat (sends the read receipt where the channel has one). The list
 * shows it at once; a failure only leaves the badge for the next poll to retry.
 */
export async function markRead(id: string): Promise<void> {
  try {
    await call(() => api.POST('/admin/chats/{id}/read', { params: { path: { id } } }));
    chats.value = chats.value.map((c) => (c.id === id ? { ...c, unread_count: 0 } : c));
  } catch {}
}
