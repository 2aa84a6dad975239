import { useEffect, useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { CHANNELS } from '../dashboard/Dashboard';
import { type MessageKey, t } from '../i18n/i18n';

const listChannels = () => call(() => api.GET('/admin/channels'));
type Account = Awaited<ReturnType<typeof listChannels>>['items'][number];

const PROVIDER: Record<Account['provider'], MessageKey> = {
  meta: 'channelProviderMeta',
  gupshup: 'channelProviderGupshup',
  ycloud: 'channelProviderYcloud',
};

/**
 * The business's channels as connected (docs/providers.md, docs/widget.md): each WhatsApp number
 * with the provider that carries it and, for a provider's number, where its callbacks must go;
 * each site widget with the tag to paste into its pages and the origins it answers. Read-only:
 * connecting numbers and widgets is the API's (`/admin/channels`), with secrets shown only once.
 */
export function Channels() {
  const [items, setItems] = useState<Account[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    listChannels()
      .then((r) => setItems(r.items))
      .catch((e: Error) => setError(e.message));
  }, []);
  return (
    <section id="channels" aria-labelledby="channels-title">
      <h2 id="channels-title">{t('channelsTitle')}</h2>
      <p class="muted">{t('channelsHelp')}</p>
      <ul id="channels-list">
        {items.map((a) => (
          <li key={a.id} data-channel={a.channel} data-provider={a.provider}>
            <p class="channel-head">
              <strong dir="auto">{a.display_name}</strong>
              <span class="badge">{t(CHANNELS[a.channel] ?? 'dashboardChannel')}</span>
              {a.channel === 'whatsapp' && <span class="badge">{t(PROVIDER[a.provider])}</span>}
            </p>
            {a.display_phone_number && <p dir="ltr">{a.display_phone_number}</p>}
            {a.callback_url && (
              <p>
                {t('channelCallbacks')} <code dir="ltr">{a.callback_url}</code>
              </p>
            )}
            {a.widget && (
              <>
                <p>
                  {t('channelScriptTag')}{' '}
                  <code dir="ltr">{`<script src="${location.origin}/widget.js" data-key="${a.external_id}" async></script>`}</code>
                </p>
                <p>
                  {t('channelOrigins')} <code dir="ltr">{a.widget.allowed_origins.join(' ')}</code>
                </p>
              </>
            )}
          </li>
        ))}
      </ul>
      <p role="alert">{error}</p>
    </section>
  );
}
