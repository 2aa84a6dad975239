import { useEffect, useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { dateTime, type MessageKey, t } from '../i18n/i18n';
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
  const text = m.deleted ? t('deleted') : (m.content ?? `[${m.type}]`);
  const failed = !!m.error?.reason || m.status === 'failed';
  return (
    <li class={`msg ${kind}`}>
      {/* A block of its own: its direction is its text's, whatever the page's (Latin in Arabic). */}
      <div class="text" dir="auto">
        {text}
      </div>
      {m.attachments.map((a, index) =>
        a.url && a.kind === 'image' ? (
          <ImagePreview
            key={`img${index}`}
            messageId={m.id}
            index={index}
            alt={a.caption ?? a.filename ?? t('image')}
          />
        ) : null,
      )}
      {m.attachments.map((a, index) =>
        a.url ? (
          <a
            key={index}
            href={a.url}
            onClick={(e) => {
              e.preventDefault();
              void openAttachment(m.id, index);
            }}
          >
            {` 📎 ${a.filename ?? a.kind}`}
          </a>
        ) : (
          <span key={index} class="meta">{`📎 ${a.kind} (${a.download.status})`}</span>
        ),
      )}
      <span class="meta">
        {`${t(SENDER[m.sender])} · `}
        <time dateTime={m.timestamp}>{dateTime(m.timestamp)}</time>
        {m.simulated && ` · ${t('simulated')}`}
        {m.direction === 'outbound' && (
          <>
            {' · '}
            <Status status={m.status} />
          </>
        )}
      </span>
      {failed && (
        <>
          <span class="error">{m.error?.reason ?? t('notDelivered')}</span>
          <button type="button" onClick={() => void retry(m.id)}>
            {t('retry')}
          </button>
        </>
      )}
    </li>
  );
}

/**
 * A customer's photo shown in the thread. The file needs the operator's token and business, so
 * it is fetched through the API client and shown from an object URL (freed when it goes).
 */
function ImagePreview(props: { messageId: string; index: number; alt: string }) {
  const { messageId, index } = props;
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    call(() =>
      api.GET('/admin/media/{message_id}/{index}', {
        params: { path: { message_id: messageId, index: String(index) } },
        parseAs: 'blob',
      }),
    )
      .then((blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      })
      // Without a preview the link below still opens the file (and says why it cannot).
      .catch(() => {});
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [messageId, index]);
  return src ? <img class="preview-image" src={src} alt={props.alt} /> : null;
}

/** A customer's file, fetched with the operator's token and business, opened in a new tab. */
async function openAttachment(messageId: string, index: number) {
  try {
    const blob = await call(() =>
      api.GET('/admin/media/{message_id}/{index}', {
        params: { path: { message_id: messageId, index: String(index) } },
        parseAs: 'blob',
      }),
    );
    window.open(URL.createObjectURL(blob), '_blank');
  } catch (error) {
    threadError.value = t('fileNotOpened', { reason: (error as Error).message });
  }
}

async function retry(id: string) {
  try {
    await call(() => api.POST('/admin/messages/{id}/retry', { params: { path: { id } } }));
    await syncMessages();
  } catch (error) {
    showError(error);
  }
}
