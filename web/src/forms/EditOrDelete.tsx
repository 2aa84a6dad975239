import { useState } from 'preact/hooks';
import { t } from '../i18n/i18n';

/**
 * A listed entry's Edit and Delete, where Delete asks first (the knowledge base, canned replies,
 * notes, which have no Edit): one place for the question and its Delete / Keep.
 */
export function EditOrDelete(props: {
  onEdit?: () => void;
  onDelete: () => void;
  /** What the first Delete says, when "Delete" alone would not say what goes. */
  deleteLabel?: string;
}) {
  const [confirming, setConfirming] = useState(false);
  return (
    <div class="row-actions">
      {confirming ? (
        <>
          <span>{t('deleteEntryQuestion')}</span>
          <button type="button" class="danger" onClick={props.onDelete}>
            {t('delete')}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            {t('keep')}
          </button>
        </>
      ) : (
        <>
          {props.onEdit && (
            <button type="button" onClick={props.onEdit}>
              {t('edit')}
            </button>
          )}
          <button type="button" class="ask-delete" onClick={() => setConfirming(true)}>
            {props.deleteLabel ?? t('delete')}
          </button>
        </>
      )}
    </div>
  );
}
