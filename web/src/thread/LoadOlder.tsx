import { useState } from 'preact/hooks';
import { t } from '../i18n/i18n';
import { loadOlderMessages, olderCursor } from './messages';

/** "Load older messages", the first item of the thread; absent once its first message is shown. */
export function LoadOlder() {
  const [loading, setLoading] = useState(false);
  if (!olderCursor.value) return null;
  return (
    <li class="load-older">
      <button
        id="load-older"
        type="button"
        disabled={loading}
        onClick={async (e) => {
          setLoading(true);
          await loadOlderMessages(e.currentTarget.closest('ol'));
          setLoading(false);
        }}
      >
        {t('loadOlderMessages')}
      </button>
    </li>
  );
}
