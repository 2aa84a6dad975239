import { useEffect, useState } from 'preact/hooks';
import { api, call, type Schemas } from '../api/client';
import { dateTime, language, t } from '../i18n/i18n';

type WebhookEvent = Schemas['WebhookEvent'];

/** What a replay of one event did, shown in its row. */
type Replayed = { outcome: 'processed' | 'dead' | 'failed'; message: string };

const size = (bytes: number) =>
  new Intl.NumberFormat(language.value, {
    style: 'unit',
    unit: bytes < 1024 ? 'byte' : 'kilobyte',
    unitDisplay: 'narrow',
    maximumFractionDigits: 1,
  }).format(bytes < 1024 ? bytes : bytes / 1024);

/**
 * Deliveries from Meta kept but not fully placed (an account not connected yet, a shape we did
 * not understand), newest first, each with a Replay once the cause is fixed.
 */
export function Webhooks() {
  const [items, setItems] = useState<WebhookEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [replayed, setReplayed] = useState<Record<string, Replayed>>({});
  const [busy, setBusy] = useState<string | null>(null);

  async function load(cursor?: string) {
    setError('');
    try {
      const page = await call(() =>
        api.GET('/admin/webhook-events', {
          params: { query: { outcome: 'dead', ...(cursor ? { cursor } : {}) } },
        }),
      );
      setItems((list) => (cursor ? [...(list ?? []), ...page.items] : page.items));
      setNext(page.next_cursor);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  useEffect(() => {
    void load();
  }, []);

  async function replay(id: string) {
    setBusy(id);
    try {
      const event = await call(() =>
        api.POST('/admin/webhook-events/{id}/replay', { params: { path: { id } } }),
      );
      // The row stays with the result until the list is reloaded: the operator sees what happened.
      setItems((list) => list?.map((e) => (e.id === id ? event : e)) ?? null);
      setReplayed((r) => ({
        ...r,
        [id]:
          event.outcome === 'dead'
            ? { outcome: 'dead', message: t('replayStillFailed') }
            : { outcome: 'processed', message: t('replayProcessed') },
      }));
    } catch (e) {
      setReplayed((r) => ({
        ...r,
        [id]: { outcome: 'failed', message: t('replayFailed', { reason: (e as Error).message }) },
      }));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section class="manage-view" id="webhooks" aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">{t('failedWebhooks')}</h1>
      <p class="muted">{t('failedWebhooksIntro')}</p>
      <button id="webhooks-reload" type="button" onClick={() => void load()}>
        {t('reload')}
      </button>
      <p id="webhooks-error" role="alert">
        {error}
      </p>
      {items && items.length === 0 && <p class="muted">{t('noFailedWebhooks')}</p>}
      {items && items.length > 0 && (
        <ul id="webhook-list" class="manage-list">
          {items.map((event) => {
            const result = replayed[event.id];
            return (
              <li key={event.id} data-id={event.id} class={`webhook ${event.outcome}`}>
                <p>
                  <time dateTime={event.received_at}>
                    <strong>{dateTime(event.received_at)}</strong>
                  </time>
                  <span class="muted">
                    {' · '}
                    {event.object ?? '—'}
                    {' · '}
                    {size(event.size_bytes)}
                    {' · '}
                    {t('attempts', { count: event.attempts })}
                  </span>
                </p>
                {event.reason && (
                  <p class="webhook-reason" dir="ltr" lang="en">
                    {event.reason}
                  </p>
                )}
                <div class="row-actions">
                  {/* Once stored, a replay would do nothing more. */}
                  {event.outcome === 'dead' && (
                    <button
                      type="button"
                      disabled={busy === event.id}
                      onClick={() => void replay(event.id)}
                    >
                      {t('replay')}
                    </button>
                  )}
                  <span role="status" class={`replay-result ${result?.outcome ?? ''}`}>
                    {result?.message}
                  </span>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {next && (
        <button id="webhooks-more" type="button" onClick={() => void load(next)}>
          {t('loadMore')}
        </button>
      )}
    </section>
  );
}
