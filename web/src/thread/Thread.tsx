import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { type Appointment, upcomingAppointments } from '../agenda/appointments';
import { DraftList } from '../ai/DraftList';
import { replyMode } from '../ai/drafts';
import { TraceDialog } from '../ai/Trace';
import { api, call } from '../api/client';
import {
  CHANNEL_NAMES,
  type Chat,
  refreshChats,
  selectedChat,
  selectedId,
} from '../chat-list/chats';
import { Composer } from '../composer/Composer';
import { panelOpen, showPanel } from '../contact-panel/panel';
import { dateTime, type MessageKey, t } from '../i18n/i18n';
import { pane } from '../shell/layout';
import { LoadOlder } from './LoadOlder';
import { MessageItem } from './MessageItem';
import { messages, scrollAnchor, showError, sortedMessages } from './messages';
import { ThreadError } from './ThreadError';

/** Whether the closed 24-hour window still allows human replies (Messenger's Human Agent tag). */
export const humanTagOpen = (chat: Chat) =>
  !chat.window.open &&
  !!chat.window.human_agent_until &&
  new Date(chat.window.human_agent_until) > new Date();

/** Who locked the chat, in the operator's language (the API's reason is English free text). */
const LOCKED_BY: Record<NonNullable<Chat['locked_by']>, MessageKey> = {
  operator: 'lockedByOperator',
  echo: 'lockedByEcho',
  escalation: 'lockedByEscalation',
  keyword: 'lockedByKeyword',
};

/** What the AI does in an unlocked chat, by the business's reply mode. */
const AI_MODE: Record<NonNullable<typeof replyMode.value>, MessageKey> = {
  auto: 'aiAnswers',
  approval: 'aiDrafts',
  off: 'aiOff',
};

export function Thread() {
  const chat = selectedChat.value;
  return (
    <main class="thread" id="thread" aria-labelledby="thread-name">
      <header class="thread-header">
        <button
          type="button"
          class="back"
          aria-label={t('back')}
          onClick={() => {
            pane.value = 'list';
          }}
        >
          <span aria-hidden="true">‹</span>
        </button>
        {chat && <ThreadHeader chat={chat} />}
      </header>
      <MessageList />
      <DraftList />
      <ThreadError />
      {chat && <Composer chat={chat} />}
      <TraceDialog />
    </main>
  );
}

function ThreadHeader({ chat }: { chat: Chat }) {
  const w = chat.window;
  // The website's chat has no messaging window (docs/widget.md): it never closes.
  const windowText = w.open
    ? w.closes_at
      ? t('windowOpenUntil', { time: dateTime(w.closes_at) })
      : t('windowNone')
    : humanTagOpen(chat)
      ? t('windowHumanTag', { time: dateTime(w.human_agent_until) })
      : t('windowClosed');

  async function toggleLock() {
    try {
      await call(() =>
        api.POST('/admin/conversations/{id}/human-override', {
          params: { path: { id: chat.id } },
          body: { locked: !chat.is_locked },
        }),
      );
      await refreshChats();
    } catch (error) {
      showError(error);
    }
  }

  return (
    <>
      <div class="thread-title">
        <h2 id="thread-name" dir="auto">
          {chat.display_name}
        </h2>
        <span id="thread-channel" class="badge">
          {`${CHANNEL_NAMES[chat.channel_source]} · ${chat.platform_origin}`}
        </span>
        {chat.staff_name && (
          <span id="thread-staff" class="badge staff">
            {t('staffBadge')}
          </span>
        )}
        {chat.staff_name && (
          <div class="muted" dir="auto">
            {t('staffChat', { name: chat.staff_name })}
          </div>
        )}
        <div id="thread-window" class="muted">
          {windowText}
        </div>
        <Upcoming contactId={chat.contact_id} />
      </div>
      <span class="spacer" />
      <span id="thread-lock" class="muted" title={chat.lock_reason ?? undefined}>
        {chat.is_locked
          ? t('humanOverride', {
              reason: chat.locked_by ? t(LOCKED_BY[chat.locked_by]) : t('humanOverrideOn'),
            })
          : chat.bot_enabled
            ? t(AI_MODE[replyMode.value ?? 'auto'])
            : t('botOffHere')}
      </span>
      <button id="lock-toggle" type="button" onClick={toggleLock}>
        {chat.is_locked ? t('giveBack') : t('takeOver')}
      </button>
      <button
        id="contact-toggle"
        type="button"
        aria-expanded={panelOpen.value}
        aria-controls="contact-panel"
        onClick={showPanel}
      >
        {t('contact')}
      </button>
    </>
  );
}

/** The customer's next appointments, under the thread's name. */
function Upcoming({ contactId }: { contactId: string }) {
  const [upcoming, setUpcoming] = useState<Appointment[]>([]);
  useEffect(() => {
    let current = true;
    setUpcoming([]);
    upcomingAppointments(contactId)
      .catch(() => [])
      .then((list) => {
        if (current) setUpcoming(list);
      });
    return () => {
      current = false;
    };
  }, [contactId]);
  if (upcoming.length === 0) return null;
  return (
    <ul id="thread-appointments" class="thread-appointments" aria-label={t('upcomingAppointments')}>
      {upcoming.map((a) => (
        <li key={a.id}>
          <time dateTime={a.starts_at}>{a.when}</time>
          {' · '}
          <span dir="auto">{a.service_name}</span>
          {' · '}
          <span dir="auto">{a.staff_name}</span>
          {a.status === 'pending' && <span class="badge">{t('pending')}</span>}
        </li>
      ))}
    </ul>
  );
}

/** The messages, kept scrolled to the newest unless the operator scrolled up to read. */
function MessageList() {
  const list = useRef<HTMLOListElement>(null);
  const sorted = sortedMessages(messages.value);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = list.current;
    if (el && scrollAnchor.fromBottom !== null) {
      el.scrollTop = el.scrollHeight - scrollAnchor.fromBottom;
      scrollAnchor.fromBottom = null;
    } else if (el && (stick.current || sorted.length < 30)) el.scrollTop = el.scrollHeight;
  });
  // The open chat changed: start at its newest message.
  const chatId = selectedId.value;
  useEffect(() => {
    stick.current = true;
  }, [chatId]);
  return (
    <ol
      id="messages"
      aria-label={t('messages')}
      aria-live="polite"
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (axe: scrollable-region-focusable)
      tabIndex={0}
      ref={list}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      <LoadOlder />
      {sorted.map((m) => (
        <MessageItem key={m.id} message={m} />
      ))}
    </ol>
  );
}
