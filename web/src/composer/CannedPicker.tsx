import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/i18n';
import { type CannedReply, cannedReplies, loadCannedReplies, matching } from './canned';

/** "/" at the start of the reply, and what follows it on that line: the picker's filter. */
const SLASH = /^\/([^\n]*)$/;
const LIST_ID = 'canned-list';
const optionId = (index: number) => `canned-option-${index}`;

/**
 * The canned-reply picker of the reply box: typing "/" at the start (or the button, which types
 * it) opens a listbox of the business's saved answers filtered by what follows the "/". The reply
 * box keeps the focus (arrows move the active option, Enter inserts it, Escape closes); the chosen
 * reply's text replaces the "/…" for the operator to edit before sending.
 */
export function useCannedPicker(text: string, setText: (text: string) => void) {
  const query = SLASH.exec(text)?.[1];
  const [dismissed, setDismissed] = useState(false);
  const [active, setActive] = useState(0);
  const [error, setError] = useState('');
  const open = query !== undefined && !dismissed;
  const items = open ? matching(cannedReplies.value, query) : [];

  useEffect(() => {
    if (!open) return;
    setError('');
    loadCannedReplies().catch((e: Error) => setError(e.message));
  }, [open]);
  // A new filter starts at the best match; leaving the "/" re-arms the picker.
  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    if (query === undefined) setDismissed(false);
  }, [query]);

  const choose = (reply: CannedReply) => setText(reply.text);

  /** True when the key was the picker's (the reply box must not act on it too). */
  function onKeyDown(e: KeyboardEvent): boolean {
    if (!open) return false;
    if (e.key === 'Escape') {
      setDismissed(true);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (items.length === 0) return false;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((i) => (i + step + items.length) % items.length);
    } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      const reply = items[Math.min(active, items.length - 1)];
      if (!reply) return false;
      choose(reply);
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  const textareaProps = {
    'aria-controls': open ? LIST_ID : undefined,
    'aria-activedescendant': open && items.length > 0 ? optionId(active) : undefined,
  };

  const picker = open && (
    <div class="canned-picker" id="canned-picker">
      {items.length > 0 ? (
        <div id={LIST_ID} role="listbox" aria-label={t('cannedReplies')}>
          {items.map((reply, index) => (
            <div
              key={reply.id}
              id={optionId(index)}
              role="option"
              // Focusable, not tabbable: the reply box keeps the focus and names the active one.
              tabIndex={-1}
              aria-selected={index === active}
              // mousedown, not click: the reply box keeps the focus.
              onMouseDown={(e) => {
                e.preventDefault();
                choose(reply);
              }}
            >
              <span class="canned-title" dir="auto">
                {reply.title}
              </span>
              <span class="canned-text muted" dir="auto">
                {reply.text}
              </span>
            </div>
          ))}
        </div>
      ) : (
        <p class="muted" role="status">
          {error || t('noCannedReplies')}
        </p>
      )}
      <p class="muted canned-help">{t('cannedHelp')}</p>
    </div>
  );

  return { open, onKeyDown, textareaProps, picker };
}
