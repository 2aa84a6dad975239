/**
 * Calendar arithmetic for the agenda. The API's local dates (`YYYY-MM-DD`) are days in the
 * business's time zone; times show on the business's clock in the browser's language.
 */
const DAY = 86_400_000;

/** `YYYY-MM-DD` of an instant in `zone` (en-CA writes dates that way). */
export const localDate = (instant: Date, zone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(instant);

/** Local dates are calendar days: arithmetic on them in UTC has no clock changes. */
export const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00Z`) + days * DAY).toISOString().slice(0, 10);

/** ISO weekday: Monday 1 … Sunday 7. */
export const weekday = (date: string) => new Date(`${date}T00:00Z`).getUTCDay() || 7;

export const dayName = (date: string, style: Intl.DateTimeFormatOptions) =>
  new Intl.DateTimeFormat(undefined, { ...style, timeZone: 'UTC' }).format(
    new Date(`${date}T00:00Z`),
  );

export const LONG_DAY: Intl.DateTimeFormatOptions = {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
};

/** "10:00 – 10:45 AM" in the browser's language, on the business's clock. */
export function timeRange(a: { starts_at: string; ends_at: string }, zone: string) {
  const format = new Intl.DateTimeFormat(undefined, {
    hour: 'numeric',
    minute: '2-digit',
    timeZone: zone,
  });
  return format.formatRange(new Date(a.starts_at), new Date(a.ends_at));
}

export const dateAndTime = (a: { starts_at: string; ends_at: string }, zone: string) =>
  `${new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: zone }).format(new Date(a.starts_at))}, ${timeRange(a, zone)}`;
