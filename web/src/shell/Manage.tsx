import { type MessageKey, t } from '../i18n/i18n';
import { Knowledge } from '../knowledge/Knowledge';
import { CannedReplies } from '../settings/CannedReplies';
import { Settings } from '../settings/Settings';
import { Webhooks } from '../webhooks/Webhooks';
import { canManage } from './account';
import { type ManageView, view } from './layout';

const TABS: Array<[ManageView, MessageKey]> = [
  ['settings', 'settingsTitle'],
  ['knowledge', 'knowledgeBase'],
  ['canned', 'cannedReplies'],
  ['webhooks', 'failedWebhooks'],
];

/**
 * The owners' and admins' screens under the topbar's "Settings", one tab each. An agent who
 * reaches one (a link, a business where they are not admin) is told why it is not for them; the
 * API refuses their changes anyway.
 */
export function Manage(props: { view: ManageView }) {
  if (!canManage.value) {
    return (
      <main class="manage" id="manage">
        <p id="manage-refused" role="alert">
          {t('manageRefused')}
        </p>
        <button
          type="button"
          onClick={() => {
            view.value = 'inbox';
          }}
        >
          {t('backToInbox')}
        </button>
      </main>
    );
  }
  return (
    <main class="manage" id="manage">
      <nav class="manage-tabs" aria-label={t('settings')}>
        {TABS.map(([tab, label]) => (
          <button
            key={tab}
            id={`tab-${tab}`}
            type="button"
            aria-pressed={props.view === tab}
            onClick={() => {
              view.value = tab;
            }}
          >
            {t(label)}
          </button>
        ))}
      </nav>
      {props.view === 'settings' ? (
        <Settings />
      ) : props.view === 'knowledge' ? (
        <Knowledge />
      ) : props.view === 'canned' ? (
        <CannedReplies />
      ) : (
        <Webhooks />
      )}
    </main>
  );
}
