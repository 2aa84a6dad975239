import { t } from '../i18n/i18n';
import { alertChoice, alertsBlocked, chooseAlerts } from './alerts';

/** The topbar's alerts menu: sound and desktop notifications, each off until switched on. */
export function AlertsMenu() {
  const choice = alertChoice.value;
  return (
    <details class="alerts-menu">
      <summary id="alerts-menu">{t('alerts')}</summary>
      <div class="alerts-options">
        <label>
          <input
            id="alert-sound"
            type="checkbox"
            checked={choice.sound}
            onChange={(e) => void chooseAlerts({ sound: e.currentTarget.checked })}
          />
          {t('alertSound')}
        </label>
        <label>
          <input
            id="alert-desktop"
            type="checkbox"
            checked={choice.desktop}
            onChange={(e) => void chooseAlerts({ desktop: e.currentTarget.checked })}
          />
          {t('alertDesktop')}
        </label>
        {alertsBlocked.value && (
          <p class="muted" role="status">
            {t('alertsBlocked')}
          </p>
        )}
      </div>
    </details>
  );
}
