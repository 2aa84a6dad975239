import { useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { type Chat, refreshChats } from '../chat-list/chats';
import { t } from '../i18n/i18n';
import { showError, syncMessages, threadError } from '../thread/messages';
import { humanTagOpen } from '../thread/Thread';
import { TemplateForm } from './TemplateForm';

/**
 * The reply box, or the template form when WhatsApp's 24-hour window is closed (then only an
 * approved template may be sent).
 */
export function Composer({ chat }: { chat: Chat }) {
  const templatesOnly =
    chat.channel_source === 'whatsapp' && !chat.window.open && !humanTagOpen(chat);
  if (templatesOnly) return <TemplateForm chatId={chat.id} />;
  return <ReplyForm chat={chat} />;
}

function ReplyForm({ chat }: { chat: Chat }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);

  async function send() {
    const message = text.trim();
    if (!message || sending) return;
    threadError.value = '';
    setSending(true);
    try {
      await call(() =>
        api.POST('/admin/whatsapp/send', {
          body: { conversation_id: chat.id, message, channel_source: chat.channel_source },
        }),
      );
      setText('');
      await syncMessages();
      await refreshChats();
    } catch (error) {
      showError(error);
    } finally {
      setSending(false);
    }
  }

  return (
    <form
      id="composer"
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <textarea
        id="composer-text"
        name="message"
        rows={2}
        dir="auto"
        aria-label={t('reply')}
        aria-describedby="composer-hint"
        placeholder={t('writeReply')}
        required
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          // Enter sends, Shift+Enter is a new line; not while an IME is composing a word.
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void send();
          }
        }}
      />
      <button type="submit" disabled={sending}>
        {t('send')}
      </button>
      <p id="composer-hint" class="visually-hidden">
        {t('sendHint')}
      </p>
    </form>
  );
}
