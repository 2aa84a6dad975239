import { openOptInForm } from '../contact-panel/panel';
import { t } from '../i18n/i18n';
import { optInWouldHelp, threadError } from './messages';

/**
 * What went wrong in the open chat, and, when the customer's consent is what refused the send, the
 * way out: a button that opens the contact panel at its opt-in form.
 */
export function ThreadError() {
  const error = threadError.value;
  return (
    <div class="thread-error">
      <p id="thread-error" role="alert" dir="auto">
        {error}
      </p>
      {error && error === optInWouldHelp.value && (
        <button type="button" id="thread-error-opt-in" onClick={openOptInForm}>
          {t('recordOptInFirst')}
        </button>
      )}
    </div>
  );
}
