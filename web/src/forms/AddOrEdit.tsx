import type { ComponentChildren } from 'preact';

/**
 * A managed list's "add" button, or the editor open in its place, then the list's status and
 * error lines (read out as they change): the knowledge base, canned replies and model prices share
 * it. Ids: `${id}-add`, `${id}-status`, `${id}-error`.
 */
export function AddOrEdit(props: {
  id: string;
  /** The open editor; null shows the add button. */
  editor: ComponentChildren | null;
  addLabel: string;
  onAdd: () => void;
  status: string;
  error: string;
  primary?: boolean;
}) {
  const { id } = props;
  return (
    <>
      {props.editor ?? (
        <button
          id={`${id}-add`}
          type="button"
          class={props.primary ? 'primary' : undefined}
          onClick={props.onAdd}
        >
          {props.addLabel}
        </button>
      )}
      <p id={`${id}-status`} role="status">
        {props.status}
      </p>
      <p id={`${id}-error`} role="alert">
        {props.error}
      </p>
    </>
  );
}
