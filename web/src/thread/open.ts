import { api, call } from '../api/client';
import { channelFilter, humanFilter, refreshChats, selectedId } from '../chat-list/chats';
import { pane, view } from '../shell/layout';
import { resetThread, showError, syncMessages } from './messages';

/** Opens a chat: its messages, then marks it read (the list's unread count follows). */
export async function openChat(id: string): Promise<void> {
  selectedId.value = id;
  resetThread();
  pane.value = 'thread';
  try {
    await syncMessages();
    await call(() => api.POST('/admin/chats/{id}/read', { params: { path: { id } } })).catch(
      () => {},
    );
    await refreshChats();
  } catch (error) {
    showError(error);
  }
}

/** Opens a chat from elsewhere (the agenda): the list's filters must not hide it. */
export function openConversation(id: string): Promise<void> {
  humanFilter.value = 'all';
  channelFilter.value = '';
  view.value = 'inbox';
  return openChat(id);
}
