import { WhyButton } from '../ai/Trace';
import { api, call } from '../api/client';
import { selectedChat } from '../chat-list/chats';
import { dateTime, type MessageKey, t } from '../i18n/i18n';
import { AttachmentView } from './Attachment';
import { type Message, showError, syncMessages, threadError } from './messages';

const SENDER: Record<Message['sender'], MessageKey> = {
  user: 'senderUser',
  agent: 'senderAgent',
  operator: 'senderOperator',
  system: 'senderSystem',
};

/** Delivery statuses as ticks (WhatsApp's convention), with the word for screen readers. */
const TICKS: Record<string, { mark: string; word: MessageKey }> = {
  // A clock face from the geometric shapes, which every font has (emoji fonts vary).
  sending: { mark: '◔', word: 'statusPending' },
  queued: { mark: '◔', word: 'statusPending' },
  sent: { mark: '✓', word: 'statusSent' },
  delivered: { mark: '✓✓', word: 'statusDelivered' },
  read: { mark: '✓✓', word: 'statusRead' },
  failed: { mark: '!', word: 'statusFailed' },
};

function Status({ status }: { status: string }) {
  const tick = TICKS[status];
  if (!tick) return <span class="status-word">{status}</span>;
  return (
    <span class={`tick ${status}`} title={t(tick.word)}>
      <span aria-hidden="true">{tick.mark}</span>
      <span class="visually-hidden">{t(tick.word)}</span>
    </span>
  );
}

export function MessageItem({ message: m }: { message: Message }) {
  const kind = m.sender === 'system' ? 'system' : m.direction;
  const failed = !!m.error?.reason || m.status === 'failed';
  const staff = !!selectedChat.value?.staff_name;
  return (
    <li class={`msg ${kind}${m.sender === 'agent' ? ' ai' : ''}`}>
      <Body message={m} />
      {m.choices && m.choices.length > 0 && (
        // What the customer was offered: shown, not tappable here (only they can answer).
        <ul class="choices" aria-label={t('choicesOffered')}>
          {m.choices.map((c, i) => (
            <li key={i} class="option-chip" dir="auto">
              {c.title}
              {c.description && <small>{c.description}</small>}
            </li>
          ))}
        </ul>
      )}
      {m.attachments.map((a, index) => (
        <AttachmentView key={index} attachment={a} messageId={m.id} index={index} />
      ))}
      <span class="meta">
        {`${t(m.sender === 'user' && staff ? 'senderStaff' : SENDER[m.sender])} · `}
        <time dateTime={m.timestamp}>{dateTime(m.timestamp)}</time>
        {m.type === 'template' && ` · ${t('templateMessage')}`}
        {m.direction === 'outbound' && (
          <>
            {' · '}
            <Status status={m.status} />
          </>
        )}
      </span>
      {m.simulated && (
        // Live sending is off: it looks sent, but the customer never got it.
        <span class="simulated-note">{t('simulatedNotSent')}</span>
      )}
      {m.sender === 'agent' && m.correlation_id && <WhyButton correlationId={m.correlation_id} />}
      {failed && (
        <>
          {/* The API's reason is English: its own direction in an Arabic page. */}
          <span class="error" dir="auto">
            {m.error?.reason ?? t('notDelivered')}
          </span>
          <button type="button" onClick={() => void retry(m.id)}>
            {t('retry')}
          </button>
        </>
      )}
    </li>
  );
}

/** Types whose attachment says everything the summary text would (the API's English). */
const SHOWN_BY_ATTACHMENT = new Set(['location', 'contacts']);

function Body({ message: m }: { message: Message }) {
  if (m.deleted) return <div class="text">{t('deleted')}</div>;
  // A customer's tap on a button or list row: which option they chose.
  if (m.direction === 'inbound' && (m.type === 'interactive' || m.type === 'button')) {
    return (
      <div class="text">
        {`${t('customerChose')} `}
        <span class="option-chip chosen" dir="auto">
          {m.content ?? '?'}
        </span>
      </div>
    );
  }
  if (m.content === null || SHOWN_BY_ATTACHMENT.has(m.type)) {
    return m.attachments.length > 0 ? null : (
      <div class="text muted">{t('unsupportedMessage', { type: m.type })}</div>
    );
  }
  // A block of its own: its direction is its text's, whatever the page's (Latin in Arabic).
  return (
    <div class="text" dir="auto">
      {m.content}
    </div>
  );
}

async function retry(id: string) {
  try {
    await call(() => api.POST('/admin/messages/{id}/retry', { params: { path: { id } } }));
    threadError.value = '';
    await syncMessages();
  } catch (error) {
    showError(error);
  }
}
