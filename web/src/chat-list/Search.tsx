import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/i18n';
import { refreshInbox } from '../shell/poll';
import { resetPaging, searchText } from './chats';

/** Typing pauses this long before the list is asked again: one request per burst of keys. */
const DEBOUNCE_MS = 250;

/** The list's search box: name, phone or message text; results follow as one types. */
export function Search() {
  const [text, setText] = useState(searchText.value);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => () => clearTimeout(timer.current), []);
  // Cleared elsewhere (opening a chat from the agenda). Not otherwise: the search is the trimmed
  // text, and putting it back in the box would eat the space just typed.
  useEffect(() => {
    if (!searchText.value) setText('');
  }, [searchText.value]);

  function search(next: string, delay: number) {
    setText(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      // The API takes 1–100 characters, trimmed.
      const q = next.trim().slice(0, 100);
      if (q === searchText.value) return;
      searchText.value = q;
      resetPaging();
      void refreshInbox();
    }, delay);
  }

  return (
    <search class="chat-search">
      <input
        id="chat-search"
        ref={input}
        type="search"
        value={text}
        maxLength={100}
        placeholder={t('searchPlaceholder')}
        aria-label={t('searchChats')}
        onInput={(e) => search(e.currentTarget.value, DEBOUNCE_MS)}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && text) search('', 0);
        }}
      />
      {text && (
        <button
          id="chat-search-clear"
          type="button"
          aria-label={t('clearSearch')}
          onClick={() => {
            search('', 0);
            input.current?.focus();
          }}
        >
          <span aria-hidden="true">×</span>
        </button>
      )}
    </search>
  );
}
