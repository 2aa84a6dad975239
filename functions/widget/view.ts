import type { WidgetMessageRow } from '../../db/widget';

/** A message as the widget shows it: who said it, its text, and options to tap (replies only). */
export type WidgetMessageView = {
  id: string;
  /** `visitor`: the visitor's own; `business`: the assistant's or a person's reply. */
  from: 'visitor' | 'business';
  /** Who on the business's side: the assistant (`agent`), a person (`operator`), or a notice. */
  by: 'agent' | 'operator' | 'system' | null;
  text: string;
  buttons: Array<{ id: string; title: string }>;
  at: string;
  /** The id the visitor's widget gave its own message (it replaces the one it showed at once). */
  client_message_id: string | null;
};

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

const text = (value: unknown) => (typeof value === 'string' ? value : null);

/** The options of a reply: its reply buttons or quick replies, each with the id a tap sends back. */
function buttonsOf(message: Record<string, unknown>): WidgetMessageView['buttons'] {
  const list = (value: unknown) => (Array.isArray(value) ? value.map(record) : []);
  if (message.type === 'buttons') {
    return list(message.buttons).flatMap((b) => {
      const id = text(b.id);
      const title = text(b.title);
      return id && title ? [{ id, title }] : [];
    });
  }
  if (message.type === 'quick_replies') {
    return list(message.quick_replies).flatMap((q) => {
      const id = text(q.payload);
      const title = text(q.title);
      return id && title ? [{ id, title }] : [];
    });
  }
  return [];
}

export function messageView(row: WidgetMessageRow): WidgetMessageView {
  const fromVisitor = row.direction === 'inbound';
  const message = record(row.payload.message);
  return {
    id: row.id,
    from: fromVisitor ? 'visitor' : 'business',
    by: fromVisitor ? null : row.sender === 'user' ? null : row.sender,
    text: row.content ?? '',
    buttons: fromVisitor ? [] : buttonsOf(message),
    at: row.providerTimestamp.toISOString(),
    client_message_id: fromVisitor ? text(row.payload.client_message_id) : null,
  };
}
