import { shortTime, t } from '../i18n/i18n';
import { refreshInbox } from '../shell/poll';
import { openChat } from '../thread/open';
import {
  CHANNEL_NAMES,
  type Channel,
  type Chat,
  channelFilter,
  chats,
  type HumanFilter,
  humanFilter,
  selectedId,
} from './chats';

/** One letter in the channel's colour: tells WhatsApp, Messenger and Instagram apart at a glance. */
export const CHANNEL_ICONS: Record<Channel, string> = {
  whatsapp: 'W',
  messenger: 'M',
  instagram: 'I',
};

export function ChatList() {
  return (
    <aside class="chats" aria-label={t('conversations')}>
      <div class="filters">
        <select
          id="filter-human"
          aria-label={t('whoAnswers')}
          value={humanFilter.value}
          onChange={(e) => {
            humanFilter.value = e.currentTarget.value as HumanFilter;
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
      </div>
      <ul id="chat-list" aria-label={t('conversations')}>
        {chats.value.map((chat) => (
          <ChatItem key={chat.id} chat={chat} />
        ))}
      </ul>
      {chats.value.length === 0 && (
        <p id="chat-list-empty" class="muted">
          {t('noConversations')}
        </p>
      )}
    </aside>
  );
}

function ChatItem({ chat }: { chat: Chat }) {
  const current = chat.id === selectedId.value;
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
        <strong class="name" dir="auto">
          {chat.display_name}
        </strong>
        <time class="when" dateTime={chat.timestamp ?? undefined}>
          {shortTime(chat.timestamp)}
        </time>
        <span class="preview" dir="auto">
          {chat.last_message ?? ''}
        </span>
        <span class="badges">
          {chat.is_locked && <span class="badge locked">{t('badgeHuman')}</span>}
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
