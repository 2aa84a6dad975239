import { useState } from 'preact/hooks';
import { dateTime, t } from '../i18n/i18n';
import { type Draft, type DraftAction, decideDraft, draftError, drafts } from './drafts';

/**
 * The open chat's AI drafts waiting for approval, under the thread where the next reply would
 * appear: each is approved (sent as written), corrected and sent, or cancelled (nothing sent).
 */
export function DraftList() {
  const pending = drafts.value;
  const error = draftError.value;
  if (pending.length === 0 && !error) return null;
  return (
    <section id="drafts" class="drafts" aria-labelledby="drafts-title">
      <h3 id="drafts-title">{t('draftsWaiting', { count: pending.length })}</h3>
      <p id="drafts-error" role="alert">
        {error}
      </p>
      <ol>
        {pending.map((d) => (
          <DraftItem key={d.id} draft={d} />
        ))}
      </ol>
    </section>
  );
}

function DraftItem({ draft }: { draft: Draft }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(draft.preview);
  const [busy, setBusy] = useState(false);
  const labelId = `draft-${draft.id}`;

  async function decide(decision: DraftAction) {
    setBusy(true);
    // The item goes away with its draft once decided; only a failure leaves it to act on again.
    if (!(await decideDraft(draft.id, decision))) setBusy(false);
  }

  return (
    <li class="draft" aria-labelledby={labelId}>
      <span class="meta" id={labelId}>
        {`${t('draftLabel')} · `}
        <time dateTime={draft.created_at}>{dateTime(draft.created_at)}</time>
      </span>
      {editing ? (
        <form
          class="draft-edit"
          onSubmit={(e) => {
            e.preventDefault();
            void decide({ action: 'edit', text });
          }}
        >
          <textarea
            dir="auto"
            aria-label={t('draftCorrection')}
            value={text}
            rows={3}
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <div class="draft-actions">
            <button type="submit" disabled={busy || !text.trim()}>
              {t('draftSendCorrected')}
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setEditing(false);
                setText(draft.preview);
              }}
            >
              {t('draftStopEditing')}
            </button>
          </div>
        </form>
      ) : (
        <>
          <div class="text" dir="auto">
            {draft.preview}
          </div>
          <div class="draft-actions">
            <button
              type="button"
              class="primary"
              disabled={busy}
              onClick={() => void decide({ action: 'approve' })}
            >
              {t('draftApprove')}
            </button>
            <button type="button" disabled={busy} onClick={() => setEditing(true)}>
              {t('draftEdit')}
            </button>
            <button type="button" disabled={busy} onClick={() => void decide({ action: 'cancel' })}>
              {t('draftCancel')}
            </button>
          </div>
        </>
      )}
    </li>
  );
}
