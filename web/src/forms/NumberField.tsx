import { describedBy, Field } from './Field';

/**
 * A whole number with its label, hint (which says the range) and the API's message. The bounds
 * only steer the browser's arrows and keyboard; the API checks the value and says what is wrong.
 */
export function NumberField(props: {
  id: string;
  label: string;
  hint: string;
  error: string | undefined;
  min: number;
  max: number;
  value: number;
  onChange: (value: number) => void;
}) {
  const { id, error } = props;
  return (
    <Field id={id} label={props.label} hint={props.hint} error={error}>
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={props.min}
        max={props.max}
        step={1}
        value={props.value}
        onInput={(e) => props.onChange(e.currentTarget.valueAsNumber)}
        {...describedBy(id, error)}
      />
    </Field>
  );
}
