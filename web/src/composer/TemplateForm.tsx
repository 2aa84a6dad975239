import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, call, type Schemas } from '../api/client';
import { type FieldErrors, fieldErrors } from '../forms/errors';
import { t } from '../i18n/i18n';
import { canManage } from '../shell/account';
import { optInWouldHelp, showError, syncMessages, threadError } from '../thread/messages';

type Template = Schemas['Template'];
type SendBody = Schemas['SendTemplateRequest'];

/** The business's sendable approved templates, read once per page (per business). */
const templates = signal<Template[] | null>(null);

const sendableOf = (items: Template[]) =>
  items.filter((tpl) => tpl.status === 'APPROVED' && tpl.sendable);

async function loadTemplates() {
  if (templates.value) return;
  const { items } = await call(() =>
    api.GET('/admin/templates', { params: { query: { status: 'APPROVED' } } }),
  );
  templates.value = sendableOf(items);
}

/** What the operator has typed: values by placeholder name, a media link, buttons by index. */
type Values = {
  header: Record<string, string>;
  body: Record<string, string>;
  link: string;
  buttons: Record<number, string>;
};
const EMPTY: Values = { header: {}, body: {}, link: '', buttons: {} };

/** The `parameters` of POST /admin/templates/send: every part the template takes, as it takes it. */
function parametersOf(tpl: Template, v: Values): SendBody['parameters'] {
  const named = tpl.parameter_format === 'NAMED';
  const values = (names: string[], given: Record<string, string>) =>
    named
      ? Object.fromEntries(names.map((name) => [name, given[name] ?? '']))
      : names.map((name) => given[name] ?? '');
  const { header, body, buttons } = tpl.placeholders;
  const parameters: Record<string, unknown> = { body: values(body, v.body) };
  if (header && header.format !== 'TEXT') {
    parameters.header = { [header.format.toLowerCase()]: { link: v.link.trim() } };
  } else if (header && header.names.length > 0) {
    parameters.header = values(header.names, v.header);
  }
  const pressed = buttons.flatMap(
    (b): Array<{ index: number; text?: string; payload?: string }> => {
      const value = v.buttons[b.index]?.trim() ?? '';
      if (b.type === 'URL') return [{ index: b.index, text: value }];
      // A quick reply's payload is optional: sent only when given.
      return value ? [{ index: b.index, payload: value }] : [];
    },
  );
  if (pressed.length > 0) parameters.buttons = pressed;
  return parameters as SendBody['parameters'];
}

type Component = {
  type?: string;
  format?: string;
  text?: string;
  buttons?: Array<{ text?: string }>;
};

/** The template's text as the customer will see it, the typed values in their places. */
function previewOf(tpl: Template, v: Values): string[] {
  const fill = (text: string, given: Record<string, string>) =>
    text.replace(/\{\{\s*([\w]+)\s*\}\}/g, (whole, name: string) => given[name]?.trim() || whole);
  const lines: string[] = [];
  for (const c of tpl.components as Component[]) {
    if (c.type === 'HEADER') {
      if (c.format && c.format !== 'TEXT') lines.push(`[${c.format}] ${v.link.trim()}`);
      else if (c.text) lines.push(fill(c.text, v.header));
    } else if ((c.type === 'BODY' || c.type === 'FOOTER') && c.text) {
      lines.push(fill(c.text, v.body));
    } else if (c.type === 'BUTTONS' && c.buttons) {
      lines.push(c.buttons.map((b) => `[${b.text ?? ''}]`).join(' '));
    }
  }
  return lines;
}

/**
 * Where an API message about `parameters` shows: beside one field (`body.first_name`, `header.1`,
 * `buttons.0`) when it names one, else under its part (`header`, `body`, `buttons`); '' when it
 * is about neither (the thread's alert shows those).
 */
const errorKeyOf = (path: string) =>
  /^parameters\.((?:header|body|buttons)(?:\.\w+)?)/.exec(path)?.[1] ?? '';

/** One value's input, its label, and the API's messages about it (its own and its part's). */
function TemplateField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  errors: string[];
  /** A link: typed left to right, with the URL keyboard on phones. */
  url?: boolean;
}) {
  const { id, errors } = props;
  const refused = errors.filter(Boolean).join('; ');
  // The API's message stands until the value is changed; a new refusal shows again.
  const [message, setMessage] = useState(refused);
  useEffect(() => setMessage(refused), [refused]);
  return (
    <div class="template-field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={id.replace(/^template-/, '')}
        inputMode={props.url ? 'url' : undefined}
        dir={props.url ? 'ltr' : 'auto'}
        value={props.value}
        onInput={(e) => {
          setMessage('');
          props.onInput(e.currentTarget.value);
        }}
        aria-invalid={message ? 'true' : undefined}
        aria-describedby={`${id}-error`}
      />
      <p id={`${id}-error`} class="field-error">
        {message}
      </p>
    </div>
  );
}

/**
 * The template picker: the business's approved templates, a field for every value the chosen one
 * takes (header text or media link, body, buttons), a preview of the message as it will be sent,
 * and the API's refusals next to the fields they are about. The only way to write when WhatsApp's
 * 24-hour window is closed; with it open, reached from the reply box (`onClose` goes back).
 */
export function TemplateForm({ chatId, onClose }: { chatId: string; onClose?: () => void }) {
  const [chosenId, setChosenId] = useState('');
  const [values, setValues] = useState<Values>(EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    loadTemplates().catch(showError);
  }, []);
  const list = templates.value ?? [];
  const template = list.find((tpl) => tpl.id === chosenId) ?? list[0];

  const set = (part: 'header' | 'body', name: string, value: string) =>
    setValues((v) => ({ ...v, [part]: { ...v[part], [name]: value } }));

  async function submit(event: Event) {
    event.preventDefault();
    if (!template || busy) return;
    threadError.value = '';
    setErrors({});
    setStatus('');
    setBusy(true);
    try {
      await call(() =>
        api.POST('/admin/templates/send', {
          body: {
            conversation_id: chatId,
            template_id: template.id,
            parameters: parametersOf(template, values),
          },
        }),
      );
      setValues(EMPTY);
      await syncMessages();
      onClose?.();
    } catch (error) {
      const byPath = fieldErrors(error, (path) => errorKeyOf(path) !== '');
      const byKey: FieldErrors = {};
      for (const [path, message] of Object.entries(byPath)) {
        const key = errorKeyOf(path);
        byKey[key] = byKey[key] ? `${byKey[key]}; ${message}` : message;
      }
      setErrors(byKey);
      if (byKey['']) showError(error);
      // Only sendable (approved) templates are offered, so a refusal (422) is the customer's
      // consent: opted out, no marketing opt-in, never wrote. Recording an opt-in is the way out.
      if (error instanceof ApiError && error.status === 422) optInWouldHelp.value = error.message;
    } finally {
      setBusy(false);
    }
  }

  async function sync() {
    setStatus('');
    setBusy(true);
    try {
      const synced = await call(() => api.POST('/admin/templates/sync'));
      templates.value = sendableOf(synced.items);
      setStatus(t('templatesSynced', { count: String(synced.synced) }));
    } catch (error) {
      showError(error);
    } finally {
      setBusy(false);
    }
  }

  const header = template?.placeholders.header;
  /** The messages for one field: its own, and its part's (a wrong count, a media header). */
  const errorsOf = (part: string, key: string) => [
    errors[`${part}.${key}`] ?? '',
    errors[part] ?? '',
  ];

  return (
    <form id="template-form" class="composer" noValidate onSubmit={submit}>
      <p class="muted" id="template-hint">
        {onClose ? t('templateAnytimeHint') : t('templateHint')}
      </p>
      {list.length === 0 && templates.value && <p class="muted">{t('noTemplates')}</p>}
      <div class="template-choose">
        <select
          id="template-select"
          aria-label={t('template')}
          value={template?.id ?? ''}
          onChange={(e) => {
            setChosenId(e.currentTarget.value);
            setValues(EMPTY);
            setErrors({});
          }}
        >
          {list.map((tpl) => (
            <option key={tpl.id} value={tpl.id}>
              {`${tpl.name} (${tpl.language}, ${tpl.category})`}
            </option>
          ))}
        </select>
        {canManage.value && (
          <button id="template-sync" type="button" disabled={busy} onClick={() => void sync()}>
            {t('syncTemplates')}
          </button>
        )}
      </div>
      {template && (
        <div id="template-params" key={template.id}>
          {header && header.format !== 'TEXT' && (
            <TemplateField
              id="template-header-link"
              url
              label={t('templateMediaLink', { format: header.format.toLowerCase() })}
              value={values.link}
              onInput={(link) => setValues((v) => ({ ...v, link }))}
              errors={[errors.header ?? '']}
            />
          )}
          {header?.format === 'TEXT' &&
            header.names.map((name) => (
              <TemplateField
                key={`header:${name}`}
                id={`template-header-${name}`}
                label={`${t('templateHeader')} {{${name}}}`}
                value={values.header[name] ?? ''}
                onInput={(value) => set('header', name, value)}
                errors={errorsOf('header', name)}
              />
            ))}
          {template.placeholders.body.map((name) => (
            <TemplateField
              key={`body:${name}`}
              id={`template-body-${name}`}
              label={`{{${name}}}`}
              value={values.body[name] ?? ''}
              onInput={(value) => set('body', name, value)}
              errors={errorsOf('body', name)}
            />
          ))}
          {template.placeholders.buttons
            .filter((b) => b.type === 'URL' || b.type === 'QUICK_REPLY')
            .map((b) => (
              <TemplateField
                key={`button:${b.index}`}
                id={`template-button-${b.index}`}
                label={t(b.type === 'URL' ? 'templateButtonLink' : 'templateButtonPayload', {
                  text: b.text,
                })}
                value={values.buttons[b.index] ?? ''}
                onInput={(value) =>
                  setValues((v) => ({ ...v, buttons: { ...v.buttons, [b.index]: value } }))
                }
                errors={errorsOf('buttons', String(b.index))}
              />
            ))}
        </div>
      )}
      {template && (
        <figure id="template-preview" class="template-preview">
          <figcaption class="muted">{t('templatePreview')}</figcaption>
          {previewOf(template, values).map((line, i) => (
            <p key={i} dir="auto">
              {line}
            </p>
          ))}
        </figure>
      )}
      <p id="template-status" role="status" class="muted">
        {status}
      </p>
      <div class="template-actions">
        <button type="submit" class="primary" disabled={!template || busy}>
          {t('sendTemplate')}
        </button>
        {onClose && (
          <button id="template-close" type="button" onClick={onClose}>
            {t('backToReply')}
          </button>
        )}
      </div>
    </form>
  );
}

/** A new business has its own templates. */
export function forgetTemplates() {
  templates.value = null;
}
