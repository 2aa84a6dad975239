import { signal } from '@preact/signals';
import { ApiError, api, call, type Schemas } from '../api/client';
import { refreshChats, selectedChat, selectedId } from '../chat-list/chats';
import { t } from '../i18n/i18n';
import { syncMessages } from '../thread/messages';

export type Draft = Schemas['AgentDraft'];
export type ReplyMode = Schemas['TenantSettings']['reply_mode'];

/** How the business's AI answers (GET /admin/settings): read again whenever a chat opens. */
export const replyMode = signal<ReplyMode | null>(null);
/** The open chat's drafts waiting for an operator, oldest first (the order they would be sent). */
export const drafts = signal<Draft[]>([]);
/** Why the last decision failed, in the page's language; cleared by the next success. */
export const draftError = signal('');

export function resetDrafts() {
  drafts.value = [];
  draftError.value = '';
}

export async function loadReplyMode(): Promise<void> {
  replyMode.value = (await call(() => api.GET('/admin/settings'))).reply_mode;
}

/**
 * The open chat's pending drafts. Asked in approval mode, and in any mode when the chat has some
 * (a follow-up the agent wrote for an opportunity is a draft whatever the mode: docs/follow-ups.md),
 * so the 3-second poll costs nothing more elsewhere.
 */
export async function syncDrafts(): Promise<void> {
  const id = selectedId.value;
  const waiting = (selectedChat.value?.pending_drafts ?? 0) > 0;
  if (!id || (replyMode.value !== 'approval' && !waiting)) {
    drafts.value = [];
    return;
  }
  const page = await call(() =>
    api.GET('/admin/drafts', {
      params: { query: { status: 'pending', conversation_id: id, limit: 100 } },
    }),
  );
  if (id !== selectedId.value) return;
  drafts.value = [...page.items].sort(
    (a, b) => a.created_at.localeCompare(b.created_at) || a.position - b.position,
  );
}

export type DraftAction =
  | { action: 'approve' }
  | { action: 'cancel' }
  | { action: 'edit'; text: string };

/** Decides a draft, then shows the thread and the drafts as they are now. True when it worked. */
export async function decideDraft(id: string, decision: DraftAction): Promise<boolean> {
  const path = { params: { path: { id } } };
  try {
    if (decision.action === 'edit') {
      await call(() =>
        api.POST('/admin/drafts/{id}/edit', { ...path, body: { text: decision.text } }),
      );
    } else if (decision.action === 'approve') {
      await call(() => api.POST('/admin/drafts/{id}/approve', path));
    } else {
      await call(() => api.POST('/admin/drafts/{id}/cancel', path));
    }
    draftError.value = '';
    return true;
  } catch (error) {
    // The chat as it is now tells a conflict's two causes apart (see decisionError).
    if (error instanceof ApiError && error.status === 409) await refreshChats().catch(() => {});
    draftError.value = decisionError(error);
    return false;
  } finally {
    // Also after a failure: a draft decided elsewhere leaves the list, its message shows.
    await Promise.all([syncDrafts(), syncMessages()]).catch(() => {});
  }
}

/**
 * The API's conflict message is English free text; the page says it in its own language. A 409 is
 * either a draft decided elsewhere (another operator, the staff WhatsApp card) or a chat a person
 * has taken over, which the open chat tells apart.
 */
function decisionError(error: unknown): string {
  if (error instanceof ApiError && error.status === 409) {
    return selectedChat.value?.is_locked ? t('draftChatLocked') : t('draftAlreadyDecided');
  }
  if (error instanceof ApiError && error.status === 400) return t('draftTextInvalid');
  // Refused by the channel's rules (a closed window, …): the API's reason says which.
  if (error instanceof ApiError && error.status === 422) {
    return t('draftRefused', { reason: error.message });
  }
  return t('draftFailed', { reason: (error as Error).message });
}
