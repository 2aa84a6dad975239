import { chooseLanguage, LANGUAGES, type Language, language, t } from '../i18n/i18n';
import { signOut } from '../session/session';
import { AlertsMenu } from './AlertsMenu';
import { canManage, me, switchTenant } from './account';
import { isManageView, view } from './layout';

const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', es: 'Español', ar: 'العربية' };

export function Topbar() {
  const who = me.value;
  if (!who) return null;
  const current = who.memberships.find((m) => m.tenant_id === who.tenant_id);
  return (
    <header class="topbar">
      <strong id="tenant-name">{current?.tenant_name ?? ''}</strong>
      {who.memberships.length > 1 && (
        <select
          id="tenant-switch"
          aria-label={t('business')}
          value={who.tenant_id}
          onChange={(e) => void switchTenant(e.currentTarget.value)}
        >
          {who.memberships.map((m) => (
            <option key={m.tenant_id} value={m.tenant_id}>
              {m.tenant_name}
            </option>
          ))}
        </select>
      )}
      <nav class="views" aria-label={t('view')}>
        <button
          id="view-inbox"
          type="button"
          aria-pressed={view.value === 'inbox'}
          onClick={() => {
            view.value = 'inbox';
          }}
        >
          {t('inbox')}
        </button>
        <button
          id="view-agenda"
          type="button"
          aria-pressed={view.value === 'agenda'}
          onClick={() => {
            view.value = 'agenda';
          }}
        >
          {t('agenda')}
        </button>
        <button
          id="view-follow-ups"
          type="button"
          aria-pressed={view.value === 'follow-ups'}
          onClick={() => {
            view.value = 'follow-ups';
          }}
        >
          {t('followUps')}
        </button>
        <button
          id="view-dashboard"
          type="button"
          aria-pressed={view.value === 'dashboard'}
          onClick={() => {
            view.value = 'dashboard';
          }}
        >
          {t('dashboard')}
        </button>
        {canManage.value && (
          <button
            id="view-settings"
            type="button"
            aria-pressed={isManageView(view.value)}
            onClick={() => {
              if (!isManageView(view.value)) view.value = 'settings';
            }}
          >
            {t('settings')}
          </button>
        )}
      </nav>
      <span class="spacer" />
      <AlertsMenu />
      <select
        id="language"
        aria-label={t('language')}
        value={language.value}
        onChange={(e) => chooseLanguage(e.currentTarget.value as Language)}
      >
        {Object.keys(LANGUAGES).map((code) => (
          <option key={code} value={code} lang={code}>
            {LANGUAGE_NAMES[code as Language]}
          </option>
        ))}
      </select>
      <span id="operator-email">{`${who.email ?? ''} (${who.role})`}</span>
      <button id="signout" type="button" onClick={() => void signOut()}>
        {t('signOut')}
      </button>
    </header>
  );
}
