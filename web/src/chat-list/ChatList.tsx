import { type MessageKey, shortTime, t } from '../i18n/i18n';
import { refreshInbox } from '../shell/poll';
import { openChat } from '../thread/open';
import {
  CHANNEL_NAMES,
  type Channel,
  type Chat,
  channelFilter,
  chats,
  type HumanFilter,
  hasMore,
  humanFilter,
  loadMoreChats,
  resetPaging,
  searchText,
  selectedId,
} from './chats';
import { Search } from './Search';
import { TagFilters } from './TagFilters';

/** "Online": the customer wrote this recently. */
const ONLINE_MS = 5 * 60_000;

/** Who wrote last, said before the preview (nothing for the customer: theirs is the default). */
const SENDER_LABELS: Record<NonNullable<Chat['last_sender']>, MessageKey | null> = {
  user: null,
  agent: 'lastByAgent',
  operator: 'lastByOperator',
  system: 'lastBySystem',
};

/**
 * One letter in the channel's colour: tells WhatsApp, Messenger, Instagram and the website's chat
 * apart at a glance.
 */
export const CHANNEL_ICONS: Record<Channel, string> = {
  whatsapp: 'W',
  messenger: 'M',
  instagram: 'I',
  web: 'C',
};

export function ChatList() {
  return (
    <aside class="chats" aria-label={t('conversations')}>
      <Search />
      <div class="filters">
        <select
          id="filter-human"
          aria-label={t('whoAnswers')}
          value={humanFilter.value}
          onChange={(e) => {
            humanFilter.value = e.currentTarget.value as HumanFilter;
            resetPaging();
            void refreshInbox();
          }}
        >
          <option value="all">{t('allChats')}</option>
          <option value="human_only">{t('humanLocked')}</option>
          <option value="bot_only">{t('bot')}</option>
        </select>
        <select
          id="filter-channel"
          aria-label={t('channel')}
          value={channelFilter.value}
          onChange={(e) => {
            channelFilter.value = e.currentTarget.value as Channel | '';
            resetPaging();
            void refreshInbox();
          }}
        >
          <option value="">{t('allChannels')}</option>
          {Object.entries(CHANNEL_NAMES).map(([value, name]) => (
            <option key={value} value={value}>
              {name}
            </option>
          ))}
        </select>
        <TagFilters />
      </div>
      <ul id="chat-list" aria-label={t('conversations')}>
        {chats.value.map((chat) => (
          <ChatItem key={chat.id} chat={chat} />
        ))}
      </ul>
      {chats.value.length === 0 && (
        <p id="chat-list-empty" class="muted" role="status">
          {searchText.value ? t('noChatsMatch', { query: searchText.value }) : t('noConversations')}
        </p>
      )}
      {hasMore.value && (
        <button
          id="chat-list-more"
          type="button"
          class="load-more"
          onClick={() => void loadMoreChats().catch(() => {})}
        >
          {t('loadMoreChats')}
        </button>
      )}
    </aside>
  );
}

function ChatItem({ chat }: { chat: Chat }) {
  const current = chat.id === selectedId.value;
  const online =
    !!chat.last_customer_message_at &&
    Date.now() - new Date(chat.last_customer_message_at).getTime() < ONLINE_MS;
  const sender = chat.last_sender && SENDER_LABELS[chat.last_sender];
  return (
    <li>
      <button
        type="button"
        class="chat"
        aria-current={current ? 'true' : undefined}
        onClick={() => void openChat(chat.id)}
      >
        <span
          class={`channel-icon ${chat.channel_source}`}
          title={CHANNEL_NAMES[chat.channel_source]}
        >
          <span aria-hidden="true">{CHANNEL_ICONS[chat.channel_source]}</span>
          <span class="visually-hidden">{CHANNEL_NAMES[chat.channel_source]}</span>
        </span>
        <strong class="name">
          <bdi>{chat.display_name}</bdi>
          {chat.staff_name && <span class="badge staff">{t('staffBadge')}</span>}
          {online && (
            <span class="online" title={t('online')}>
              <span class="visually-hidden">{t('online')}</span>
            </span>
          )}
        </strong>
        <time class="when" dateTime={chat.timestamp ?? undefined}>
          {shortTime(chat.timestamp)}
        </time>
        <span class="preview">
          {chat.staff_name && chat.last_sender === 'user' ? (
            <span class="sender staff">{t('lastByStaff')}</span>
          ) : sender ? (
            <span class={`sender ${chat.last_sender}`}>{t(sender)}</span>
          ) : (
            chat.last_sender === 'user' && (
              <span class="visually-hidden">{t('lastByCustomer')}</span>
            )
          )}
          <bdi>{chat.last_message ?? ''}</bdi>
        </span>
        <span class="badges">
          {chat.is_locked && <span class="badge locked">{t('badgeHuman')}</span>}
          {!chat.bot_enabled && !chat.staff_name && (
            <span class="badge bot-off">{t('badgeBotOff')}</span>
          )}
          {chat.labels.map((label) => (
            <span key={label} class="badge label" dir="auto">
              {label}
            </span>
          ))}
          {chat.pending_drafts > 0 && (
            <span
              class="badge drafts-waiting"
              title={t('draftsWaiting', { count: chat.pending_drafts })}
            >
              {t('badgeDrafts', { count: chat.pending_drafts })}
            </span>
          )}
          {chat.unread_count > 0 && (
            <span class="unread">
              <span aria-hidden="true">{chat.unread_count}</span>
              <span class="visually-hidden">{t('unread', { count: chat.unread_count })}</span>
            </span>
          )}
        </span>
      </button>
    </li>
  );
}
