import { useEffect, useState } from 'preact/hooks';
import { forgetZone } from '../agenda/appointments';
import { api, call } from '../api/client';
import { type FieldErrors, fieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { NumberField } from '../forms/NumberField';
import { dateTime, type MessageKey, t } from '../i18n/i18n';
import { AiBudget } from './AiBudget';
import { AiModel } from './AiModel';
import { AiPrices } from './AiPrices';
import { AiTraces, emptyTraceExport, type TraceExportInput, traceExportPatch } from './AiTraces';
import { Booking, formatReminders, parseReminders } from './Booking';
import { Channels } from './Channels';
import { isHoursPath, OpeningHours, sameHours } from './OpeningHours';

const getSettings = () => call(() => api.GET('/admin/settings'));
// As the client types the answer (its business hours are looser than the schema's tuples).
type TenantSettings = Awaited<ReturnType<typeof getSettings>>;
type Contact = TenantSettings['escalation_contacts'][number];

/** Every setting the API offers; the API key apart, as it is write-only. */
const EDITED = [
  'reply_mode',
  'debounce_seconds',
  'send_spacing_seconds',
  'lock_on_operator_reply',
  'time_zone',
  'business_hours',
  'slot_step_minutes',
  'min_notice_minutes',
  'max_horizon_days',
  'reminder_offsets_minutes',
  'follow_up_min_days_apart',
  'ai_monthly_budget_usd',
  'ai_budget_hard_stop',
  'trace_message_text',
  'persona',
  'business_description',
  'instructions',
  'escalation_contacts',
  'model',
] as const;
type Values = Pick<TenantSettings, (typeof EDITED)[number]>;
type Patch = Partial<Values> & {
  api_key?: string | null;
  trace_export?: ReturnType<typeof traceExportPatch>;
};
/** The values as the inputs hold them: reminders and the model as typed, and a key to send. */
type Form = Omit<Values, 'reminder_offsets_minutes' | 'model'> & {
  reminders: string;
  model: string;
  /** A new key, null to remove the one set, undefined to leave it. */
  api_key: string | null | undefined;
  /** The business's own trace endpoint as typed (write-only keys, like the API key). */
  trace_export: TraceExportInput;
};

const MODES: Array<[Form['reply_mode'], MessageKey, MessageKey]> = [
  ['auto', 'replyModeAuto', 'replyModeAutoHelp'],
  ['approval', 'replyModeApproval', 'replyModeApprovalHelp'],
  ['off', 'replyModeOff', 'replyModeOffHelp'],
];
const MAX_CONTACTS = 10;

const toForm = (s: TenantSettings): Form => {
  const values = Object.fromEntries(EDITED.map((key) => [key, s[key]])) as Values;
  const { reminder_offsets_minutes: reminders, model, ...rest } = values;
  return {
    ...rest,
    reminders: formatReminders(reminders),
    model: model ?? '',
    api_key: undefined,
    trace_export: emptyTraceExport,
  };
};

/** A contact as the API takes it: empty optional fields left out, not sent as "". */
const cleanContact = ({ name, whatsapp, email }: Contact): Contact => ({
  name,
  ...(whatsapp?.trim() ? { whatsapp: whatsapp.trim() } : {}),
  ...(email?.trim() ? { email: email.trim() } : {}),
});

/**
 * Only what changed: another admin's change to a field left alone is not overwritten. Refused
 * here only what cannot be sent at all (reminders that are not numbers).
 */
function changes(form: Form, saved: TenantSettings): { body: Patch } | { refused: FieldErrors } {
  const reminders = parseReminders(form.reminders);
  if (reminders === null) return { refused: { reminder_offsets_minutes: t('remindersInvalid') } };
  const { reminders: _typed, api_key: apiKey, trace_export: traceExport, ...rest } = form;
  const next: Values = {
    ...rest,
    escalation_contacts: form.escalation_contacts.map(cleanContact),
    reminder_offsets_minutes: reminders,
    model: form.model.trim() || null,
  };
  const same = (key: (typeof EDITED)[number]) =>
    key === 'business_hours'
      ? sameHours(next.business_hours, saved.business_hours)
      : JSON.stringify(next[key]) === JSON.stringify(saved[key]);
  const body: Patch = Object.fromEntries(
    EDITED.filter((key) => !same(key)).map((key) => [key, next[key]]),
  );
  if (apiKey !== undefined) body.api_key = apiKey === null ? null : apiKey.trim();
  const trace = traceExportPatch(traceExport);
  if (trace !== undefined) body.trace_export = trace;
  return { body };
}

/** The paths of the API's messages this form has a place for, next to an input. */
const isShown = (path: string) =>
  path.startsWith('escalation_contacts.')
    ? /^escalation_contacts\.\d+\.(name|whatsapp|email)$/.test(path)
    : path.startsWith('business_hours')
      ? isHoursPath(path)
      : /^reminder_offsets_minutes(\.\d+)?$/.test(path) ||
        path === 'api_key' ||
        /^trace_export\.(endpoint|langfuse\.(public_key|secret_key))$/.test(path) ||
        (EDITED as readonly string[]).includes(path);

const zones = (current: string) => {
  const all = Intl.supportedValuesOf('timeZone');
  return all.includes(current) ? all : [current, ...all];
};

/** The business's settings for owners and admins: how the AI agent answers, and who it calls. */
export function Settings() {
  const [saved, setSaved] = useState<TenantSettings | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    getSettings()
      .then((s) => {
        setSaved(s);
        setForm(toForm(s));
      })
      .catch((e: Error) => setErrors({ '': e.message }));
  }, []);

  const update = (patch: Partial<Form>) => {
    setForm((f) => f && { ...f, ...patch });
    setStatus('');
  };
  const set = <K extends keyof Form>(key: K, value: Form[K]) => update({ [key]: value });
  const setContact = (index: number, patch: Partial<Contact>) => {
    if (!form) return;
    set(
      'escalation_contacts',
      form.escalation_contacts.map((c, i) => (i === index ? { ...c, ...patch } : c)),
    );
  };

  async function save(event: Event) {
    event.preventDefault();
    if (!form || !saved) return;
    const change = changes(form, saved);
    if ('refused' in change) {
      setErrors(change.refused);
      setStatus('');
      return;
    }
    const { body } = change;
    setErrors({});
    if (Object.keys(body).length === 0) {
      setStatus(t('nothingChanged'));
      return;
    }
    setBusy(true);
    try {
      const updated = await call(() => api.PATCH('/admin/settings', { body }));
      if (body.time_zone) forgetZone();
      setSaved(updated);
      setForm(toForm(updated));
      setStatus(t('savedAt', { time: dateTime(updated.updated_at) }));
    } catch (e) {
      setErrors(fieldErrors(e, isShown));
      setStatus('');
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (path: string) => errors[path];
  const refused = errors[''];

  return (
    <section class="manage-view" id="settings" aria-labelledby="settings-title">
      <h1 id="settings-title">{t('settingsTitle')}</h1>
      {!form ? (
        <p id="settings-error" role="alert">
          {errors['']}
        </p>
      ) : (
        <form id="settings-form" noValidate onSubmit={(e) => void save(e)}>
          <fieldset id="set-reply_mode" class="choices" aria-describedby="set-reply_mode-error">
            <legend>{t('replyMode')}</legend>
            {MODES.map(([mode, title, help]) => (
              <label key={mode} class="choice">
                <input
                  type="radio"
                  name="reply_mode"
                  value={mode}
                  checked={form.reply_mode === mode}
                  onChange={() => set('reply_mode', mode)}
                />
                <span>
                  <strong>{t(title)}</strong>
                  <span class="muted">{t(help)}</span>
                </span>
              </label>
            ))}
            <p id="set-reply_mode-error" class="field-error">
              {fieldError('reply_mode')}
            </p>
          </fieldset>

          <div class="field-row">
            <NumberField
              id="set-debounce_seconds"
              label={t('debounceSeconds')}
              hint={t('debounceHelp')}
              error={fieldError('debounce_seconds')}
              min={0}
              max={300}
              value={form.debounce_seconds}
              onChange={(v) => set('debounce_seconds', v)}
            />
            <NumberField
              id="set-send_spacing_seconds"
              label={t('sendSpacing')}
              hint={t('sendSpacingHelp')}
              error={fieldError('send_spacing_seconds')}
              min={0}
              max={60}
              value={form.send_spacing_seconds}
              onChange={(v) => set('send_spacing_seconds', v)}
            />
          </div>

          <label class="choice" for="set-lock_on_operator_reply">
            <input
              id="set-lock_on_operator_reply"
              type="checkbox"
              checked={form.lock_on_operator_reply}
              onChange={(e) => set('lock_on_operator_reply', e.currentTarget.checked)}
            />
            <span>
              <strong>{t('lockOnReply')}</strong>
              <span class="muted">{t('lockOnReplyHelp')}</span>
            </span>
          </label>

          <Field
            id="set-time_zone"
            label={t('timeZone')}
            hint={t('timeZoneHelp')}
            error={fieldError('time_zone')}
          >
            <select
              id="set-time_zone"
              value={form.time_zone}
              onChange={(e) => set('time_zone', e.currentTarget.value)}
              {...describedBy('set-time_zone', fieldError('time_zone'))}
            >
              {zones(form.time_zone).map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
          </Field>

          <OpeningHours
            hours={form.business_hours}
            zone={form.time_zone}
            errors={errors}
            onChange={(hours) => set('business_hours', hours)}
          />

          <Booking rules={form} errors={errors} onChange={update} />

          {/* Follow-ups (docs/follow-ups.md): the frequency cap's period, with the API's bounds. */}
          <fieldset id="set-follow-ups" aria-describedby="follow-ups-settings-hint">
            <legend>{t('followUps')}</legend>
            <p id="follow-ups-settings-hint" class="muted">
              {t('followUpCapHelp')}
            </p>
            <NumberField
              id="set-follow_up_min_days_apart"
              label={t('followUpCap')}
              hint={t('followUpCapRange')}
              error={fieldError('follow_up_min_days_apart')}
              min={1}
              max={90}
              value={form.follow_up_min_days_apart}
              onChange={(value) => set('follow_up_min_days_apart', value)}
            />
          </fieldset>

          {(
            [
              ['persona', 'persona', 'personaHelp', 2000],
              ['business_description', 'businessDescription', 'businessDescriptionHelp', 4000],
              ['instructions', 'agentInstructions', 'agentInstructionsHelp', 10_000],
            ] as const
          ).map(([key, label, hint, max]) => (
            <Field
              key={key}
              id={`set-${key}`}
              label={t(label)}
              hint={t(hint)}
              error={fieldError(key)}
            >
              <textarea
                id={`set-${key}`}
                dir="auto"
                rows={4}
                maxLength={max}
                value={form[key]}
                onInput={(e) => set(key, e.currentTarget.value)}
                {...describedBy(`set-${key}`, fieldError(key))}
              />
            </Field>
          ))}

          <fieldset id="set-escalation_contacts" aria-describedby="contacts-hint">
            <legend>{t('escalationContacts')}</legend>
            <p id="contacts-hint" class="muted">
              {t('escalationContactsHelp')}
            </p>
            <ol class="contacts">
              {form.escalation_contacts.map((contact, i) => (
                <ContactRow
                  // Contacts have no id; the inputs are controlled, so position is enough.
                  key={i}
                  index={i}
                  contact={contact}
                  errors={errors}
                  onChange={(patch) => setContact(i, patch)}
                  onRemove={() =>
                    set(
                      'escalation_contacts',
                      form.escalation_contacts.filter((_, j) => j !== i),
                    )
                  }
                />
              ))}
            </ol>
            <p class="field-error">{fieldError('escalation_contacts')}</p>
            {form.escalation_contacts.length < MAX_CONTACTS && (
              <button
                id="add-contact"
                type="button"
                onClick={() =>
                  set('escalation_contacts', [...form.escalation_contacts, { name: '' }])
                }
              >
                {t('addContact')}
              </button>
            )}
          </fieldset>

          {saved && (
            <AiBudget
              budget={form.ai_monthly_budget_usd}
              hardStop={form.ai_budget_hard_stop}
              saved={{
                budget: saved.ai_monthly_budget_usd,
                hardStop: saved.ai_budget_hard_stop,
                spent: saved.ai_spent_this_month_usd,
              }}
              errors={errors}
              onBudget={(budget) => set('ai_monthly_budget_usd', budget)}
              onHardStop={(hardStop) => set('ai_budget_hard_stop', hardStop)}
            />
          )}

          {saved && (
            <AiTraces
              messageText={form.trace_message_text}
              saved={saved.trace_export}
              input={form.trace_export}
              errors={errors}
              onMessageText={(on) => set('trace_message_text', on)}
              onInput={(input) => set('trace_export', input)}
            />
          )}

          {saved && (
            <AiModel
              model={form.model}
              saved={saved.api_key}
              pending={form.api_key}
              errors={errors}
              onModel={(model) => set('model', model)}
              onKey={(key) => set('api_key', key)}
            />
          )}

          <div class="form-actions">
            <button id="settings-save" type="submit" class="primary" disabled={busy}>
              {t('save')}
            </button>
            <p id="settings-status" role="status">
              {status}
            </p>
          </div>
          <p id="settings-error" role="alert">
            {refused && `${t('notSaved')} ${refused}`}
          </p>
        </form>
      )}
      {/* Its own resource with its own saves: a price changes on its own, not with the form. */}
      {form && <AiPrices />}
      {form && <Channels />}
    </section>
  );
}

function ContactRow(props: {
  index: number;
  contact: Contact;
  errors: FieldErrors;
  onChange: (patch: Partial<Contact>) => void;
  onRemove: () => void;
}) {
  const { index, contact, errors } = props;
  // The keyboard a phone shows; the API checks the value.
  const input = (key: keyof Contact, label: MessageKey, mode: 'text' | 'tel' | 'email') => {
    const id = `contact-${index}-${key}`;
    const error = errors[`escalation_contacts.${index}.${key}`];
    return (
      <Field id={id} label={t(label)} error={error}>
        <input
          id={id}
          type="text"
          inputMode={mode}
          dir={key === 'name' ? 'auto' : 'ltr'}
          autoComplete="off"
          value={contact[key] ?? ''}
          onInput={(e) => props.onChange({ [key]: e.currentTarget.value })}
          {...describedBy(id, error, false)}
        />
      </Field>
    );
  };
  return (
    <li class="contact">
      {input('name', 'contactName', 'text')}
      {input('whatsapp', 'contactWhatsapp', 'tel')}
      {input('email', 'contactEmail', 'email')}
      <button
        type="button"
        class="remove"
        aria-label={t('removeContact', { name: contact.name || String(index + 1) })}
        onClick={props.onRemove}
      >
        {t('remove')}
      </button>
    </li>
  );
}
