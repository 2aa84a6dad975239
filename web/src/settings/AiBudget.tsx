import type { FieldErrors } from '../forms/errors';
import { describedBy, Field } from '../forms/Field';
import { t, usd } from '../i18n/i18n';

/**
 * The AI's monthly budget (docs/observability.md): the amount (empty: none), whether the AI stops
 * when it is spent, and this month's spend so far as saved; spent, it says so plainly.
 */
export function AiBudget(props: {
  budget: number | null;
  hardStop: boolean;
  saved: { budget: number | null; hardStop: boolean; spent: number };
  errors: FieldErrors;
  onBudget: (budget: number | null) => void;
  onHardStop: (hardStop: boolean) => void;
}) {
  const { saved, errors } = props;
  const over = saved.budget !== null && saved.spent >= saved.budget;
  return (
    <fieldset id="set-ai_budget" aria-describedby="ai-budget-help">
      <legend>{t('aiBudget')}</legend>
      <p id="ai-budget-help" class="muted">
        {t('aiBudgetHelp')}
      </p>
      <Field
        id="set-ai_monthly_budget_usd"
        label={t('aiBudgetAmount')}
        hint={t('aiBudgetAmountHint')}
        error={errors.ai_monthly_budget_usd}
      >
        <input
          id="set-ai_monthly_budget_usd"
          type="number"
          inputMode="decimal"
          min={0.01}
          step={0.01}
          dir="ltr"
          value={props.budget ?? ''}
          onInput={(e) => {
            const typed = e.currentTarget.value.trim();
            props.onBudget(typed === '' ? null : e.currentTarget.valueAsNumber);
          }}
          {...describedBy('set-ai_monthly_budget_usd', errors.ai_monthly_budget_usd)}
        />
      </Field>
      <label class="choice" for="set-ai_budget_hard_stop">
        <input
          id="set-ai_budget_hard_stop"
          type="checkbox"
          checked={props.hardStop}
          onChange={(e) => props.onHardStop(e.currentTarget.checked)}
        />
        <span>{t('aiBudgetHardStop')}</span>
      </label>
      <p id="ai-budget-spent">
        {saved.budget === null
          ? t('aiBudgetSpentNoBudget', { spent: usd(saved.spent) })
          : t('aiBudgetSpent', { spent: usd(saved.spent), budget: usd(saved.budget) })}
      </p>
      {over && (
        <p id="ai-budget-over" class="ai-budget-over" role="status">
          {t(saved.hardStop ? 'aiBudgetOverStops' : 'aiBudgetOverWarns')}
        </p>
      )}
    </fieldset>
  );
}
