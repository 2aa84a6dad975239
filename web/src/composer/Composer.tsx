import { useRef, useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { type Chat, refreshChats } from '../chat-list/chats';
import { t } from '../i18n/i18n';
import { showError, syncMessages, threadError } from '../thread/messages';
import { humanTagOpen } from '../thread/Thread';
import { useCannedPicker } from './CannedPicker';
import { TemplateForm } from './TemplateForm';

/**
 * The reply box, or the template form when WhatsApp's 24-hour window is closed (then only an
 * approved template may be sent) or the operator chose "Template".
 */
export function Composer({ chat }: { chat: Chat }) {
  const templatesOnly =
    chat.channel_source === 'whatsapp' && !chat.window.open && !humanTagOpen(chat);
  const [templateOpen, setTemplateOpen] = useState(false);
  if (templatesOnly) return <TemplateForm chatId={chat.id} />;
  if (templateOpen) return <TemplateForm chatId={chat.id} onClose={() => setTemplateOpen(false)} />;
  // Templates are WhatsApp's; with the window open they are a choice, not the only way.
  const onTemplate = chat.channel_source === 'whatsapp' ? () => setTemplateOpen(true) : undefined;
  return <ReplyForm chat={chat} onTemplate={onTemplate} />;
}

function ReplyForm({ chat, onTemplate }: { chat: Chat; onTemplate?: (() => void) | undefined }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  const canned = useCannedPicker(text, setText);

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
      {canned.picker}
      <textarea
        id="composer-text"
        ref={box}
        name="message"
        rows={2}
        dir="auto"
        aria-label={t('reply')}
        aria-describedby="composer-hint"
        placeholder={t('writeReply')}
        required
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        {...canned.textareaProps}
        onKeyDown={(e) => {
          if (canned.onKeyDown(e)) return;
          // Enter sends, Shift+Enter is a new line; not while an IME is composing a word.
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void send();
          }
        }}
      />
      <button
        id="canned-open"
        type="button"
        aria-label={t('cannedReplies')}
        title={t('cannedReplies')}
        onClick={() => {
          // Types the "/" that opens the picker, so both ways share one keyboard.
          setText('/');
          box.current?.focus();
        }}
      >
        /
      </button>
      {onTemplate && (
        <button id="template-open" type="button" onClick={onTemplate}>
          {t('template')}
        </button>
      )}
      <button type="submit" disabled={sending}>
        {t('send')}
      </button>
      <p id="composer-hint" class="visually-hidden">
        {t('sendHint')}
      </p>
    </form>
  );
}
