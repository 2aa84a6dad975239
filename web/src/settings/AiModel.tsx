import type { FieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { t } from '../i18n/i18n';

/**
 * The AI model and the business's own API key. The key is write-only: the page knows only
 * whether one is set and its last four characters; `pending` is what Save will send (a new key,
 * null to remove it, undefined to leave it).
 */
export function AiModel(props: {
  model: string;
  saved: { set: boolean; hint: string | null };
  pending: string | null | undefined;
  errors: FieldErrors;
  onModel: (model: string) => void;
  onKey: (key: string | null | undefined) => void;
}) {
  const { saved, pending, errors } = props;
  const removing = pending === null;
  return (
    <fieldset id="set-ai_model">
      <legend>{t('aiModel')}</legend>
      <Field id="set-model" label={t('modelName')} hint={t('modelNameHelp')} error={errors.model}>
        <input
          id="set-model"
          type="text"
          dir="ltr"
          autoComplete="off"
          spellcheck={false}
          value={props.model}
          onInput={(e) => props.onModel(e.currentTarget.value)}
          {...describedBy('set-model', errors.model)}
        />
      </Field>
      <div class="ai-key-status">
        <p id="api-key-status">
          {removing
            ? t('apiKeyRemoving')
            : saved.set
              ? t('apiKeySet', { hint: saved.hint ?? '' })
              : t('apiKeyNone')}
        </p>
        {removing ? (
          <button id="api-key-keep" type="button" onClick={() => props.onKey(undefined)}>
            {t('apiKeyKeep')}
          </button>
        ) : (
          saved.set && (
            <button
              id="api-key-remove"
              type="button"
              class="danger"
              onClick={() => props.onKey(null)}
            >
              {t('apiKeyRemove')}
            </button>
          )
        )}
      </div>
      <Field
        id="set-api_key"
        label={saved.set ? t('apiKeyReplace') : t('apiKeyNew')}
        hint={t('apiKeyHelp')}
        error={errors.api_key}
      >
        <input
          id="set-api_key"
          type="password"
          dir="ltr"
          // Not the operator's sign-in password: no browser should fill or offer to save it there.
          autoComplete="new-password"
          spellcheck={false}
          value={typeof pending === 'string' ? pending : ''}
          onInput={(e) => props.onKey(e.currentTarget.value || undefined)}
          {...describedBy('set-api_key', errors.api_key)}
        />
      </Field>
    </fieldset>
  );
}
