import { useEffect, useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { AddOrEdit } from '../forms/AddOrEdit';
import { type FieldErrors, fieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { t } from '../i18n/i18n';

const listPrices = () => call(() => api.GET('/admin/ai-prices'));
type ModelPrice = Awaited<ReturnType<typeof listPrices>>['items'][number];
type Rates = Pick<
  ModelPrice,
  'input_usd_per_million' | 'cached_input_usd_per_million' | 'output_usd_per_million'
>;
const RATES: Array<[keyof Rates, 'aiPriceInput' | 'aiPriceCached' | 'aiPriceOutput']> = [
  ['input_usd_per_million', 'aiPriceInput'],
  ['cached_input_usd_per_million', 'aiPriceCached'],
  ['output_usd_per_million', 'aiPriceOutput'],
];

/** A price per million tokens as the table shows it: dollars, with the cents a rate needs. */
const rate = (value: number) =>
  new Intl.NumberFormat('en', { maximumFractionDigits: 4 }).format(value);

/**
 * What each model's tokens cost the business (docs/observability.md): the list prices, and the
 * business's own where an owner or admin set one (a negotiated rate, a model the list lacks).
 * A change prices the runs that finish after it; Reset brings the list price back.
 */
export function AiPrices() {
  const [items, setItems] = useState<ModelPrice[]>([]);
  const [editing, setEditing] = useState<ModelPrice | 'new' | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');

  const reload = () =>
    listPrices()
      .then((r) => setItems(r.items))
      .catch((e: Error) => setError(e.message));
  useEffect(() => void reload(), []);

  async function reset(model: string) {
    setError('');
    try {
      await call(() => api.DELETE('/admin/ai-prices/{model}', { params: { path: { model } } }));
      setStatus(t('aiPriceReset', { model }));
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <section id="ai-prices" aria-labelledby="ai-prices-title">
      <h2 id="ai-prices-title">{t('aiPrices')}</h2>
      <p class="muted">{t('aiPricesHelp')}</p>
      <div class="table-scroll">
        <table id="ai-prices-table">
          <caption class="visually-hidden">{t('aiPrices')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('aiPriceModel')}</th>
              {RATES.map(([key, label]) => (
                <th key={key} scope="col">
                  {t(label)}
                </th>
              ))}
              <th scope="col">
                <span class="visually-hidden">{t('aiPriceActions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.model} data-model={item.model}>
                <th scope="row" dir="ltr">
                  {item.model}
                  {item.own && <span class="badge">{t('aiPriceOwn')}</span>}
                </th>
                {RATES.map(([key, label]) => (
                  // The label again for a phone, where the rows stack and the heads are hidden.
                  <td key={key} class="rate" data-label={t(label)}>
                    <span dir="ltr">{rate(item[key])}</span>
                  </td>
                ))}
                <td class="price-actions">
                  <button
                    type="button"
                    aria-label={`${t('edit')} ${item.model}`}
                    onClick={() => {
                      setStatus('');
                      setEditing(item);
                    }}
                  >
                    {t('edit')}
                  </button>
                  {item.own && (
                    <button
                      type="button"
                      // The visible words first, as a voice user says them; then which model.
                      aria-label={`${item.list_price ? t('aiPriceUseList') : t('delete')} ${item.model}`}
                      onClick={() => void reset(item.model)}
                    >
                      {item.list_price ? t('aiPriceUseList') : t('delete')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <AddOrEdit
        id="ai-prices"
        editor={
          editing ? (
            <PriceEditor
              price={editing === 'new' ? null : editing}
              onDone={(model) => {
                setEditing(null);
                setStatus(t('aiPriceSaved', { model }));
                void reload();
              }}
              onCancel={() => setEditing(null)}
            />
          ) : null
        }
        addLabel={t('aiPriceAdd')}
        onAdd={() => {
          setStatus('');
          setEditing('new');
        }}
        status={status}
        error={error}
      />
    </section>
  );
}

function PriceEditor(props: {
  price: ModelPrice | null;
  onDone: (model: string) => void;
  onCancel: () => void;
}) {
  const { price } = props;
  const [model, setModel] = useState(price?.model ?? '');
  const [rates, setRates] = useState<Record<keyof Rates, string>>({
    input_usd_per_million: String(price?.input_usd_per_million ?? ''),
    cached_input_usd_per_million: String(price?.cached_input_usd_per_million ?? ''),
    output_usd_per_million: String(price?.output_usd_per_million ?? ''),
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  async function save(event: Event) {
    event.preventDefault();
    setErrors({});
    setBusy(true);
    const name = model.trim();
    if (name === '') {
      setErrors({ model: t('aiPriceModelRequired') });
      setBusy(false);
      return;
    }
    try {
      // An empty box is not a price of 0: it goes as null, which the API refuses by its name.
      const body = Object.fromEntries(
        RATES.map(([key]) => [key, rates[key].trim() === '' ? null : Number(rates[key])]),
      ) as unknown as Rates;
      await call(() =>
        api.PUT('/admin/ai-prices/{model}', { params: { path: { model: name } }, body }),
      );
      props.onDone(name);
    } catch (e) {
      setErrors(fieldErrors(e, (path) => path === 'model' || RATES.some(([k]) => k === path)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form id="ai-price-form" class="ai-price-form" noValidate onSubmit={(e) => void save(e)}>
      <Field id="ai-price-model" label={t('aiPriceModel')} error={errors.model}>
        <input
          id="ai-price-model"
          type="text"
          dir="ltr"
          autoComplete="off"
          readOnly={price !== null}
          value={model}
          onInput={(e) => setModel(e.currentTarget.value)}
          {...describedBy('ai-price-model', errors.model, false)}
        />
      </Field>
      {RATES.map(([key, label]) => {
        const id = `ai-price-${key}`;
        return (
          <Field key={key} id={id} label={`${t(label)} (US$)`} error={errors[key]}>
            <input
              id={id}
              type="number"
              inputMode="decimal"
              min={0}
              step="any"
              dir="ltr"
              value={rates[key]}
              onInput={(e) => {
                const value = e.currentTarget.value;
                setRates((r) => ({ ...r, [key]: value }));
              }}
              {...describedBy(id, errors[key], false)}
            />
          </Field>
        );
      })}
      <p class="field-error" role="alert">
        {errors['']}
      </p>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy}>
          {t('save')}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}
