import type { ComponentChildren } from 'preact';

/**
 * One labelled input with its hint and the API's message about it. The input itself is the
 * caller's: give it `id` and the `aria` props of `describedBy(id, error)`.
 */
export function Field(props: {
  id: string;
  label: string;
  hint?: string;
  error?: string | undefined;
  children: ComponentChildren;
}) {
  const { id, label, hint, error } = props;
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{label}</label>
      {props.children}
      {hint && (
        <p id={`${id}-hint`} class="muted field-hint">
          {hint}
        </p>
      )}
      <p id={`${id}-error`} class="field-error">
        {error}
      </p>
    </div>
  );
}

/** The input's link to its hint and error (read out with it), and whether it is refused. */
export const describedBy = (id: string, error: string | undefined, hasHint = true) => ({
  'aria-describedby': hasHint ? `${id}-hint ${id}-error` : `${id}-error`,
  'aria-invalid': error ? ('true' as const) : undefined,
});
