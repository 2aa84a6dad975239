import { t } from '../i18n/i18n';

/**
 * Traces of the AI (docs/observability.md, "Traces out"): whether exported traces carry the
 * conversation's text (off unless the business turns it on), and where they go. The business's
 * own endpoint and its credentials are set through the API (PATCH /admin/settings `trace_export`);
 * the page shows the endpoint and the names of its headers, never their values.
 */
export function AiTraces(props: {
  messageText: boolean;
  saved: { endpoint: string; header_names: string[] } | null;
  onMessageText: (on: boolean) => void;
}) {
  const { saved } = props;
  return (
    <fieldset id="set-traces" aria-describedby="traces-help">
      <legend>{t('traces')}</legend>
      <p id="traces-help" class="muted">
        {t('tracesHelp')}
      </p>
      <label class="choice" for="set-trace_message_text">
        <input
          id="set-trace_message_text"
          type="checkbox"
          checked={props.messageText}
          onChange={(e) => props.onMessageText(e.currentTarget.checked)}
        />
        <span>
          <strong>{t('traceMessageText')}</strong>
          <span class="muted">{t('traceMessageTextHelp')}</span>
        </span>
      </label>
      <p id="trace-export-target">
        {saved ? (
          <>
            {t('traceExportOwn')}{' '}
            <bdi class="trace-endpoint" dir="ltr">
              {saved.endpoint}
            </bdi>
            {saved.header_names.length > 0 &&
              ` ${t('traceExportHeaders', { names: saved.header_names.join(', ') })}`}
          </>
        ) : (
          t('traceExportDeployment')
        )}
      </p>
    </fieldset>
  );
}
