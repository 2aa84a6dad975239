import { syncDrafts } from '../ai/drafts';
import {
  assigneeFilter,
  channelFilter,
  chats,
  humanFilter,
  labelFilter,
  refreshChats,
  searchText,
  selectedChat,
  selectedId,
} from '../chat-list/chats';
import { expired } from '../session/session';
import { syncMessages, threadError } from '../thread/messages';
import { markRead } from '../thread/open';
import { noticeChanges } from './alerts';

const POLL_MS = 3000;

let failedPoll = '';

/**
 * One poll: the chat list, then the open chat's new and changed messages. A poll's failure shows
 * until a poll succeeds (not while the sign-in prompt says why already).
 */
export async function refreshInbox(): Promise<void> {
  try {
    await refreshChats();
    const filters = [humanFilter, channelFilter, searchText, labelFilter, assigneeFilter];
    noticeChanges(chats.value, filters.map((f) => f.value).join('\n'));
    if (selectedId.value) await Promise.all([syncMessages(), syncDrafts()]);
    // New messages in the chat on screen are read as they arrive: no badge climbing on it.
    const open = selectedChat.value;
    if (open && open.unread_count > 0 && !document.hidden) await markRead(open.id);
    if (failedPoll && threadError.value === failedPoll) threadError.value = '';
    failedPoll = '';
  } catch (error) {
    if (expired.value) return;
    failedPoll = (error as Error).message;
    threadError.value = failedPoll;
  }
}

/**
 * Polls every 3 s while the tab is visible and the session is valid (a hidden tab or the sign-in
 * prompt would only make failing or unseen requests), and at once when the tab is shown again, so
 * what came meanwhile is there when the operator looks. Returns the stop function.
 */
export function startPolling(): () => void {
  void refreshInbox();
  const timer = setInterval(() => {
    if (document.hidden || expired.value) return;
    void refreshInbox();
  }, POLL_MS);
  const onShown = () => {
    if (!document.hidden && !expired.value) void refreshInbox();
  };
  document.addEventListener('visibilitychange', onShown);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onShown);
  };
}
