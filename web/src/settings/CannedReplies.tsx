import { useEffect, useRef, useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { type CannedReply, cannedReplies, loadCannedReplies } from '../composer/canned';
import { AddOrEdit } from '../forms/AddOrEdit';
import { EditOrDelete } from '../forms/EditOrDelete';
import { type FieldErrors, fieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { t } from '../i18n/i18n';

/** The API's limits (functions/admin/canned-replies), so the inputs stop where it would refuse. */
const TITLE_MAX = 60;
const TEXT_MAX = 4096;

/** The business's canned replies for owners and admins: listed, added, changed, deleted. */
export function CannedReplies() {
  const [editing, setEditing] = useState<CannedReply | 'new' | null>(null);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');

  const reload = () => loadCannedReplies().catch((e: Error) => setError(e.message));
  useEffect(() => void reload(), []);

  async function remove(reply: CannedReply) {
    setError('');
    try {
      await call(() =>
        api.DELETE('/admin/canned-replies/{id}', { params: { path: { id: reply.id } } }),
      );
      setStatus(t('entryDeleted', { title: reply.title }));
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section class="manage-view" id="canned" aria-labelledby="canned-title">
      <h1 id="canned-title">{t('cannedReplies')}</h1>
      <p class="muted">{t('cannedIntro')}</p>
      <AddOrEdit
        id="canned"
        editor={
          editing ? (
            <Editor
              reply={editing === 'new' ? null : editing}
              onDone={(message) => {
                setEditing(null);
                setStatus(message);
                void reload();
              }}
              onCancel={() => setEditing(null)}
            />
          ) : null
        }
        addLabel={t('addCannedReply')}
        onAdd={() => {
          setStatus('');
          setEditing('new');
        }}
        status={status}
        error={error}
        primary
      />
      {cannedReplies.value.length === 0 && !error ? (
        <p class="muted">{t('noCannedReplies')}</p>
      ) : (
        <ul id="canned-admin-list" class="manage-list">
          {cannedReplies.value.map((reply) => (
            <Entry
              key={reply.id}
              reply={reply}
              onEdit={() => {
                setStatus('');
                setEditing(reply);
              }}
              onDelete={() => void remove(reply)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function Entry(props: { reply: CannedReply; onEdit: () => void; onDelete: () => void }) {
  const { reply } = props;
  return (
    <li class="kb-entry">
      <h2 dir="auto">{reply.title}</h2>
      <p class="kb-body" dir="auto">
        {reply.text}
      </p>
      <EditOrDelete onEdit={props.onEdit} onDelete={props.onDelete} />
    </li>
  );
}

function Editor(props: {
  reply: CannedReply | null;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { reply } = props;
  const [draft, setDraft] = useState({ title: reply?.title ?? '', text: reply?.text ?? '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const title = useRef<HTMLInputElement>(null);
  useEffect(() => title.current?.focus(), []);

  async function save(event: Event) {
    event.preventDefault();
    setErrors({});
    setBusy(true);
    try {
      const body = draft;
      const saved = reply
        ? await call(() =>
            api.PATCH('/admin/canned-replies/{id}', { params: { path: { id: reply.id } }, body }),
          )
        : await call(() => api.POST('/admin/canned-replies', { body }));
      props.onDone(t('entrySaved', { title: saved.title }));
    } catch (e) {
      setErrors(fieldErrors(e, (path) => path === 'title' || path === 'text'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      id="canned-form"
      class="kb-form"
      noValidate
      aria-labelledby="canned-form-title"
      onSubmit={(e) => void save(e)}
    >
      <h2 id="canned-form-title">{reply ? t('editCannedReply') : t('addCannedReply')}</h2>
      <Field id="canned-title-input" label={t('cannedTitle')} error={errors.title}>
        <input
          id="canned-title-input"
          ref={title}
          dir="auto"
          maxLength={TITLE_MAX}
          value={draft.title}
          onInput={(e) => setDraft((d) => ({ ...d, title: e.currentTarget.value }))}
          {...describedBy('canned-title-input', errors.title, false)}
        />
      </Field>
      <Field id="canned-text-input" label={t('cannedText')} error={errors.text}>
        <textarea
          id="canned-text-input"
          dir="auto"
          rows={5}
          maxLength={TEXT_MAX}
          value={draft.text}
          onInput={(e) => setDraft((d) => ({ ...d, text: e.currentTarget.value }))}
          {...describedBy('canned-text-input', errors.text, false)}
        />
      </Field>
      <p id="canned-form-error" role="alert">
        {errors[''] && `${t('notSaved')} ${errors['']}`}
      </p>
      <div class="form-actions">
        <button id="canned-save" type="submit" class="primary" disabled={busy}>
          {t('save')}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}
