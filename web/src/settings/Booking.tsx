import { errorsUnder, type FieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { NumberField } from '../forms/NumberField';
import { language, t } from '../i18n/i18n';

export type BookingRules = {
  slot_step_minutes: number;
  min_notice_minutes: number;
  max_horizon_days: number;
  /** As typed: minutes separated by commas, "1440, 120". */
  reminders: string;
};

/** Arabic-Indic and Persian digits as ASCII, so "١٤٤٠" is 1440 too. */
const asciiDigits = (text: string) =>
  text.replace(/[\u0660-\u0669\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) & 0xf));

/** The reminders field's minutes; null when a part is not a whole number (the form says so). */
export function parseReminders(text: string): number[] | null {
  const parts = asciiDigits(text)
    .split(/[\s,،;]+/)
    .filter(Boolean);
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : null;
}

export const formatReminders = (minutes: number[]) => minutes.join(', ');

/** "1 day, 2 hours": the offsets in the page's language, in the largest whole unit. */
function readReminders(minutes: number[]): string {
  const unit = (m: number) => {
    const [value, name] =
      m % 1440 === 0 ? [m / 1440, 'day'] : m % 60 === 0 ? [m / 60, 'hour'] : [m, 'minute'];
    return new Intl.NumberFormat(language.value, {
      style: 'unit',
      unit: name,
      unitDisplay: 'long',
    }).format(value);
  };
  return new Intl.ListFormat(language.value, { type: 'conjunction' }).format(minutes.map(unit));
}

/** The numbers, with the API's bounds (tenant_settings' checks). */
const NUMBERS = [
  ['slot_step_minutes', 'slotStep', 'slotStepHelp', 5, 240],
  ['min_notice_minutes', 'minNotice', 'minNoticeHelp', 0, 43_200],
  ['max_horizon_days', 'maxHorizon', 'maxHorizonHelp', 1, 366],
] as const;

/** How appointments are offered and reminded of. */
export function Booking(props: {
  rules: BookingRules;
  errors: FieldErrors;
  onChange: (patch: Partial<BookingRules>) => void;
}) {
  const { rules, errors } = props;
  const remindersError = errorsUnder(errors, 'reminder_offsets_minutes');
  const reminders = parseReminders(rules.reminders);
  const id = 'set-reminder_offsets_minutes';
  return (
    <fieldset id="set-booking" aria-describedby="booking-hint">
      <legend>{t('bookingRules')}</legend>
      <p id="booking-hint" class="muted">
        {t('bookingRulesHelp')}
      </p>
      <div class="field-row">
        {NUMBERS.map(([key, label, hint, min, max]) => (
          <NumberField
            key={key}
            id={`set-${key}`}
            label={t(label)}
            hint={t(hint)}
            error={errors[key]}
            min={min}
            max={max}
            value={rules[key]}
            onChange={(value) => props.onChange({ [key]: value })}
          />
        ))}
      </div>
      <Field id={id} label={t('reminders')} hint={t('remindersHelp')} error={remindersError}>
        <input
          id={id}
          type="text"
          dir="ltr"
          autoComplete="off"
          value={rules.reminders}
          onInput={(e) => props.onChange({ reminders: e.currentTarget.value })}
          {...describedBy(id, remindersError)}
        />
        <p id={`${id}-reading`} class="muted booking-reading">
          {reminders === null
            ? ''
            : reminders.length === 0
              ? t('remindersOff')
              : t('remindersReading', { list: readReminders(reminders) })}
        </p>
      </Field>
    </fieldset>
  );
}
