import type { FieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { t } from '../i18n/i18n';

/** What Save sends for the business's own endpoint: typed values, or its removal. */
export type TraceExportInput = {
  endpoint: string;
  publicKey: string;
  secretKey: string;
  /** Stop using the business's own endpoint (back to the installation's). */
  remove: boolean;
};

export const emptyTraceExport: TraceExportInput = {
  endpoint: '',
  publicKey: '',
  secretKey: '',
  remove: false,
};

/**
 * `trace_export` for the API from the inputs: null to remove, an endpoint with its Langfuse keys
 * (the API says when only one is given), or undefined to leave it as it is.
 */
export function traceExportPatch(input: TraceExportInput) {
  if (input.remove) return null;
  const endpoint = input.endpoint.trim();
  if (!endpoint) return undefined;
  const publicKey = input.publicKey.trim();
  const secretKey = input.secretKey.trim();
  return {
    endpoint,
    ...(publicKey || secretKey
      ? { langfuse: { public_key: publicKey, secret_key: secretKey } }
      : {}),
  };
}

/**
 * Traces of the AI (docs/observability.md, "Traces out"): whether exported traces carry the
 * conversation's text (off unless the business turns it on), where they go, and the business's
 * own endpoint with Langfuse's keys. The keys are write-only: the page shows the endpoint and the
 * names of its headers, never their values, and saving an endpoint replaces the stored keys.
 */
export function AiTraces(props: {
  messageText: boolean;
  saved: { endpoint: string; header_names: string[] } | null;
  input: TraceExportInput;
  errors: FieldErrors;
  onMessageText: (on: boolean) => void;
  onInput: (input: TraceExportInput) => void;
}) {
  const { saved, input, errors } = props;
  const change = (patch: Partial<TraceExportInput>) => props.onInput({ ...input, ...patch });
  const error = (path: string) => errors[`trace_export.${path}`];
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
      <div class="ai-key-status">
        <p id="trace-export-target">
          {saved && input.remove ? (
            t('traceExportRemoving')
          ) : saved ? (
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
        {saved &&
          (input.remove ? (
            <button id="trace-export-keep" type="button" onClick={() => change({ remove: false })}>
              {t('traceExportKeep')}
            </button>
          ) : (
            <button
              id="trace-export-remove"
              type="button"
              class="danger"
              onClick={() => change({ ...emptyTraceExport, remove: true })}
            >
              {t('traceExportRemove')}
            </button>
          ))}
      </div>
      {!input.remove && (
        <>
          <Field
            id="set-trace_endpoint"
            label={t('traceEndpoint')}
            hint={t('traceEndpointHelp')}
            error={error('endpoint')}
          >
            <input
              id="set-trace_endpoint"
              type="url"
              dir="ltr"
              autoComplete="off"
              spellcheck={false}
              placeholder="https://cloud.langfuse.com/api/public/otel/v1/traces"
              value={input.endpoint}
              onInput={(e) => change({ endpoint: e.currentTarget.value })}
              {...describedBy('set-trace_endpoint', error('endpoint'))}
            />
          </Field>
          <div class="field-row">
            <Field
              id="set-trace_public_key"
              label={t('traceLangfusePublicKey')}
              hint={t('traceLangfuseKeysHelp')}
              error={error('langfuse.public_key')}
            >
              <input
                id="set-trace_public_key"
                type="text"
                dir="ltr"
                autoComplete="off"
                spellcheck={false}
                value={input.publicKey}
                onInput={(e) => change({ publicKey: e.currentTarget.value })}
                {...describedBy('set-trace_public_key', error('langfuse.public_key'))}
              />
            </Field>
            <Field
              id="set-trace_secret_key"
              label={t('traceLangfuseSecretKey')}
              hint={t('traceLangfuseSecretHelp')}
              error={error('langfuse.secret_key')}
            >
              <input
                id="set-trace_secret_key"
                type="password"
                dir="ltr"
                // Not the operator's sign-in password: no browser should fill or save it here.
                autoComplete="new-password"
                spellcheck={false}
                value={input.secretKey}
                onInput={(e) => change({ secretKey: e.currentTarget.value })}
                {...describedBy('set-trace_secret_key', error('langfuse.secret_key'))}
              />
            </Field>
          </div>
        </>
      )}
    </fieldset>
  );
}
