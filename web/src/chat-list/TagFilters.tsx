import { useEffect } from 'preact/hooks';
import { loadTeam, team } from '../contact-panel/panel';
import { t } from '../i18n/i18n';
import { me } from '../shell/account';
import { forgetSeenChats } from '../shell/alerts';
import { refreshInbox } from '../shell/poll';
import { assigneeFilter, knownLabels, labelFilter, resetPaging } from './chats';

/** The list's label and assignee filters (the API's `label` and `assignee`). */
export function TagFilters() {
  useEffect(() => {
    if (team.value.length === 0) void loadTeam().catch(() => {});
  }, []);
  const apply = () => {
    resetPaging();
    forgetSeenChats();
    void refreshInbox();
  };
  const others = team.value.filter((m) => m.user_id !== me.value?.user_id);
  return (
    <>
      <select
        id="filter-label"
        aria-label={t('labelFilter')}
        value={labelFilter.value}
        onChange={(e) => {
          labelFilter.value = e.currentTarget.value;
          apply();
        }}
      >
        <option value="">{t('allLabels')}</option>
        {knownLabels.value.map((label) => (
          <option key={label} value={label}>
            {label}
          </option>
        ))}
      </select>
      <select
        id="filter-assignee"
        aria-label={t('assigneeFilter')}
        value={assigneeFilter.value}
        onChange={(e) => {
          assigneeFilter.value = e.currentTarget.value;
          apply();
        }}
      >
        <option value="">{t('anyone')}</option>
        <option value="me">{t('mine')}</option>
        <option value="none">{t('unassigned')}</option>
        {others.map((m) => (
          <option key={m.user_id} value={m.user_id}>
            {m.name}
          </option>
        ))}
      </select>
    </>
  );
}
