import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { api, call, type Schemas } from '../api/client';
import { t } from '../i18n/i18n';
import { showError, syncMessages, threadError } from '../thread/messages';

type Template = Schemas['Template'];

/** The business's sendable approved templates, read once per page (per business). */
const templates = signal<Template[] | null>(null);

async function loadTemplates() {
  if (templates.value) return;
  const { items } = await call(() =>
    api.GET('/admin/templates', { params: { query: { status: 'APPROVED' } } }),
  );
  templates.value = items.filter((tpl) => tpl.sendable);
}

export function TemplateForm({ chatId }: { chatId: string }) {
  const [chosenId, setChosenId] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  useEffect(() => {
    loadTemplates().catch(showError);
  }, []);
  const list = templates.value ?? [];
  const template = list.find((tpl) => tpl.id === chosenId) ?? list[0];
  const names = template?.placeholders.body ?? [];

  async function submit(event: Event) {
    event.preventDefault();
    if (!template) return;
    const filled = names.map((name) => values[name] ?? '');
    const parameters =
      template.parameter_format === 'NAMED'
        ? { body: Object.fromEntries(names.map((name, i) => [name, filled[i] ?? ''])) }
        : filled;
    threadError.value = '';
    try {
      await call(() =>
        api.POST('/admin/templates/send', {
          body: { conversation_id: chatId, template_id: template.id, parameters },
        }),
      );
      await syncMessages();
    } catch (error) {
      showError(error);
    }
  }

  return (
    <form id="template-form" class="composer" onSubmit={submit}>
      <p class="muted" id="template-hint">
        {t('templateHint')}
      </p>
      {list.length === 0 && templates.value && <p class="muted">{t('noTemplates')}</p>}
      <select
        id="template-select"
        aria-label={t('template')}
        value={template?.id ?? ''}
        onChange={(e) => {
          setChosenId(e.currentTarget.value);
          setValues({});
        }}
      >
        {list.map((tpl) => (
          <option key={tpl.id} value={tpl.id}>
            {`${tpl.name} (${tpl.language}, ${tpl.category})`}
          </option>
        ))}
      </select>
      <div id="template-params">
        {names.map((name) => (
          <input
            key={`${template?.id}:${name}`}
            name={name}
            aria-label={`{{${name}}}`}
            placeholder={`{{${name}}}`}
            required
            dir="auto"
            value={values[name] ?? ''}
            onInput={(e) => {
              const value = e.currentTarget.value;
              setValues((v) => ({ ...v, [name]: value }));
            }}
          />
        ))}
      </div>
      <button type="submit" disabled={!template}>
        {t('sendTemplate')}
      </button>
    </form>
  );
}

/** A new business has its own templates. */
export function forgetTemplates() {
  templates.value = null;
}
