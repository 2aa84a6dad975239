import { useEffect, useRef, useState } from 'preact/hooks';
import { api, call, type Schemas } from '../api/client';
import { AddOrEdit } from '../forms/AddOrEdit';
import { EditOrDelete } from '../forms/EditOrDelete';
import { type FieldErrors, fieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { dateTime, language, t } from '../i18n/i18n';

type Article = Schemas['KnowledgeArticle'];
type Hit = Schemas['KnowledgeSearchHit'];
type Draft = { title: string; body: string; language: string; tags: string; published: boolean };

/** The languages offered for an entry; an entry in another keeps its own. */
const LANGUAGE_CODES = ['en', 'es', 'ar', 'fr', 'de', 'it', 'pt'];
const languageName = (code: string) =>
  new Intl.DisplayNames([language.value], { type: 'language' }).of(code) ?? code;

const EDITED = ['title', 'body', 'language', 'tags', 'published'];

const toDraft = (a: Article | null): Draft =>
  a
    ? { ...a, tags: a.tags.join(', ') }
    : { title: '', body: '', language: language.value, tags: '', published: true };

const fromDraft = (d: Draft) => ({
  ...d,
  tags: d.tags
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean),
});

/** The knowledge base the AI agent answers from: entries listed, searched, added, changed. */
export function Knowledge() {
  const [items, setItems] = useState<Article[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [editing, setEditing] = useState<Article | 'new' | null>(null);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [version, setVersion] = useState(0);

  // `version` asks for the list again after a change; an older answer arriving late is dropped.
  useEffect(() => {
    let current = true;
    call(() => api.GET('/admin/knowledge'))
      .then((page) => {
        if (!current) return;
        setItems(page.items);
        setNext(page.next_cursor);
      })
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [version]);

  async function loadMore() {
    if (!next) return;
    try {
      const page = await call(() =>
        api.GET('/admin/knowledge', { params: { query: { cursor: next } } }),
      );
      setItems((list) => [...list, ...page.items]);
      setNext(page.next_cursor);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function open(id: string) {
    try {
      setEditing(await call(() => api.GET('/admin/knowledge/{id}', { params: { path: { id } } })));
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function remove(a: Article) {
    setError('');
    try {
      await call(() => api.DELETE('/admin/knowledge/{id}', { params: { path: { id: a.id } } }));
      setStatus(t('entryDeleted', { title: a.title }));
      setVersion((v) => v + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section class="manage-view" id="knowledge" aria-labelledby="knowledge-title">
      <h1 id="knowledge-title">{t('knowledgeBase')}</h1>
      <p class="muted">{t('knowledgeIntro')}</p>
      <Search onOpen={(id) => void open(id)} version={version} />
      <AddOrEdit
        id="kb"
        editor={
          editing ? (
            <Editor
              article={editing === 'new' ? null : editing}
              onDone={(message) => {
                setEditing(null);
                setStatus(message);
                setVersion((v) => v + 1);
              }}
              onCancel={() => setEditing(null)}
            />
          ) : null
        }
        addLabel={t('addEntry')}
        onAdd={() => {
          setStatus('');
          setEditing('new');
        }}
        status={status}
        error={error}
        primary
      />
      <h2 class="entries-title">{t('entries')}</h2>
      {items.length === 0 && !error ? (
        <p class="muted">{t('noEntries')}</p>
      ) : (
        <ul id="kb-list" class="manage-list">
          {items.map((a) => (
            <Entry
              key={a.id}
              article={a}
              onEdit={() => {
                setStatus('');
                setEditing(a);
              }}
              onDelete={() => void remove(a)}
            />
          ))}
        </ul>
      )}
      {next && (
        <button id="kb-more" type="button" onClick={() => void loadMore()}>
          {t('loadMore')}
        </button>
      )}
    </section>
  );
}

function Entry(props: { article: Article; onEdit: () => void; onDelete: () => void }) {
  const { article: a } = props;
  return (
    <li class="kb-entry">
      <h3 dir="auto">{a.title}</h3>
      <p class="muted">
        {languageName(a.language)}
        {a.tags.length > 0 && ` · ${a.tags.join(', ')}`}
        {' · '}
        {dateTime(a.updated_at)}
        {!a.published && <span class="badge">{t('notPublished')}</span>}
      </p>
      <p class="kb-body" dir="auto">
        {a.body}
      </p>
      <EditOrDelete onEdit={props.onEdit} onDelete={props.onDelete} />
    </li>
  );
}

function Editor(props: {
  article: Article | null;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { article } = props;
  const [draft, setDraft] = useState(toDraft(article));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const title = useRef<HTMLInputElement>(null);
  useEffect(() => {
    title.current?.focus();
    title.current?.scrollIntoView({ block: 'center' });
  }, []);

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));

  async function save(event: Event) {
    event.preventDefault();
    setErrors({});
    setBusy(true);
    try {
      const body = fromDraft(draft);
      const saved = article
        ? await call(() =>
            api.PATCH('/admin/knowledge/{id}', { params: { path: { id: article.id } }, body }),
          )
        : await call(() => api.POST('/admin/knowledge', { body }));
      props.onDone(t('entrySaved', { title: saved.title }));
    } catch (e) {
      setErrors(fieldErrors(e, (path) => EDITED.includes(path.split('.')[0] ?? '')));
    } finally {
      setBusy(false);
    }
  }

  const languages = LANGUAGE_CODES.includes(draft.language)
    ? LANGUAGE_CODES
    : [draft.language, ...LANGUAGE_CODES];
  const tagError = Object.entries(errors)
    .filter(([path]) => path.split('.')[0] === 'tags')
    .map(([, message]) => message)
    .join('; ');

  return (
    <form
      id="kb-form"
      class="kb-form"
      noValidate
      aria-labelledby="kb-form-title"
      onSubmit={(e) => void save(e)}
    >
      <h2 id="kb-form-title">{article ? t('editEntry') : t('addEntry')}</h2>
      <Field id="kb-title" label={t('entryTitle')} error={errors.title}>
        <input
          id="kb-title"
          ref={title}
          dir="auto"
          maxLength={200}
          value={draft.title}
          onInput={(e) => set('title', e.currentTarget.value)}
          {...describedBy('kb-title', errors.title, false)}
        />
      </Field>
      <Field id="kb-body" label={t('entryBody')} hint={t('entryBodyHelp')} error={errors.body}>
        <textarea
          id="kb-body"
          dir="auto"
          rows={6}
          maxLength={20_000}
          value={draft.body}
          onInput={(e) => set('body', e.currentTarget.value)}
          {...describedBy('kb-body', errors.body)}
        />
      </Field>
      <div class="field-row">
        <Field id="kb-language" label={t('entryLanguage')} error={errors.language}>
          <select
            id="kb-language"
            value={draft.language}
            onChange={(e) => set('language', e.currentTarget.value)}
            {...describedBy('kb-language', errors.language, false)}
          >
            {languages.map((code) => (
              <option key={code} value={code}>
                {languageName(code)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="kb-tags" label={t('entryTags')} hint={t('entryTagsHelp')} error={tagError}>
          <input
            id="kb-tags"
            dir="auto"
            value={draft.tags}
            onInput={(e) => set('tags', e.currentTarget.value)}
            {...describedBy('kb-tags', tagError)}
          />
        </Field>
      </div>
      <label class="choice" for="kb-published">
        <input
          id="kb-published"
          type="checkbox"
          checked={draft.published}
          onChange={(e) => set('published', e.currentTarget.checked)}
        />
        <span>
          <strong>{t('published')}</strong>
          <span class="muted">{t('publishedHelp')}</span>
        </span>
      </label>
      <p id="kb-form-error" role="alert">
        {errors[''] && `${t('notSaved')} ${errors['']}`}
      </p>
      <div class="form-actions">
        <button id="kb-save" type="submit" class="primary" disabled={busy}>
          {t('save')}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

/** What the agent's knowledge_search finds for a question (published entries only). */
function Search(props: { onOpen: (id: string) => void; version: number }) {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState('');

  async function search(event?: Event) {
    event?.preventDefault();
    setError('');
    const q = query.trim();
    if (!q) {
      setHits(null);
      return;
    }
    try {
      const { items } = await call(() =>
        api.GET('/admin/knowledge/search', { params: { query: { q, limit: 5 } } }),
      );
      setHits(items);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  // After an entry changed, the results on screen are asked again.
  useEffect(() => {
    if (hits) void search();
  }, [props.version]);

  return (
    <form id="kb-search-form" class="search" onSubmit={(e) => void search(e)}>
      <label for="kb-search">{t('knowledgeSearch')}</label>
      <div class="search-row">
        <input
          id="kb-search"
          type="search"
          dir="auto"
          maxLength={300}
          value={query}
          aria-describedby="kb-search-hint"
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <button id="kb-search-go" type="submit">
          {t('search')}
        </button>
      </div>
      <p id="kb-search-hint" class="muted">
        {t('knowledgeSearchHelp')}
      </p>
      <p role="alert">{error}</p>
      {hits && (
        <div id="kb-hits" aria-live="polite">
          <h2>{t('matches')}</h2>
          {hits.length === 0 ? (
            <p class="muted">{t('noMatches')}</p>
          ) : (
            <ol class="manage-list">
              {hits.map((hit) => (
                <li key={hit.article_id} class="kb-hit">
                  <button
                    type="button"
                    class="hit-open"
                    onClick={() => props.onOpen(hit.article_id)}
                  >
                    <strong dir="auto">{hit.title}</strong>
                    <span class="kb-body" dir="auto">
                      {hit.snippet}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </form>
  );
}
