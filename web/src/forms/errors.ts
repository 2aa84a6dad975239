import { ApiError } from '../api/client';

/**
 * A refused form's messages by field, so each shows next to its input. The API says a 400's
 * validation problems as `path: message` pairs joined by `; ` (functions/errors.ts `zodMessage`),
 * e.g. `escalation_contacts.0.whatsapp: must be a phone number…`. What no shown field claims
 * (another error, a path the form has no input for) is under `''`, for the form's own alert.
 */
export type FieldErrors = Record<string, string>;

export function fieldErrors(error: unknown, isShown: (path: string) => boolean): FieldErrors {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ApiError) || error.status !== 400) return { '': message };
  const errors: FieldErrors = {};
  const add = (path: string, text: string) => {
    errors[path] = errors[path] ? `${errors[path]}; ${text}` : text;
  };
  for (const part of message.split('; ')) {
    const match = /^([\w.]+): (.+)$/s.exec(part);
    if (match?.[1] && match[2] && isShown(match[1])) add(match[1], match[2]);
    else add('', part);
  }
  return errors;
}

/**
 * The messages about a path and everything below it, as one text: a day's opening hours gather
 * `business_hours.mon`, `business_hours.mon.0` and `business_hours.mon.0.1`. Undefined: none.
 */
export function errorsUnder(errors: FieldErrors, path: string): string | undefined {
  const found = Object.entries(errors)
    .filter(([key]) => key === path || key.startsWith(`${path}.`))
    .map(([, text]) => text);
  return found.length > 0 ? found.join('; ') : undefined;
}
