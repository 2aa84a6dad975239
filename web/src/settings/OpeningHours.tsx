import { errorsUnder, type FieldErrors } from '../forms/errors';
import { language, t } from '../i18n/i18n';

/** The API's days, Monday first, as `business_hours` keys them. */
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
type Day = (typeof DAYS)[number];
/** [from, to], "HH:MM"; typed as the API client types it (looser than the schema's tuples). */
type Range = string[];
/** A day left out is not said (the agent does not mention it); [] is closed that day. */
export type Hours = Partial<Record<Day, Range[]>>;

const MAX_RANGES = 4;

/** Whether two hours say the same, whatever order their days were written in. */
export const sameHours = (a: Hours, b: Hours) =>
  JSON.stringify(DAYS.map((day) => a[day] ?? null)) ===
  JSON.stringify(DAYS.map((day) => b[day] ?? null));

/** The paths of the API's messages shown beside a day: `business_hours.mon`, `….mon.0`, `….mon.0.1`. */
export const isHoursPath = (path: string) =>
  /^business_hours(\.(mon|tue|wed|thu|fri|sat|sun)(\.\d+(\.[01])?)?)?$/.test(path);

/** The day's name in the page's language, as a label ("Lunes", not "lunes"); 1 January 2024 was a Monday. */
function dayName(index: number): string {
  const name = new Intl.DateTimeFormat(language.value, { weekday: 'long', timeZone: 'UTC' }).format(
    new Date(Date.UTC(2024, 0, 1 + index)),
  );
  return name.charAt(0).toLocaleUpperCase(language.value) + name.slice(1);
}

/** A new range: the working day for the first, else the hour after the last one closes. */
function nextRange(ranges: Range[]): Range {
  const closes = ranges.at(-1)?.[1];
  if (!closes) return ['09:00', '17:00'];
  const [h = 0, m = 0] = closes.split(':').map(Number);
  const end = Math.min(h * 60 + m + 60, 23 * 60 + 59);
  const pad = (n: number) => String(n).padStart(2, '0');
  return [closes, `${pad(Math.floor(end / 60))}:${pad(end % 60)}`];
}

/** The business's weekly opening hours: per day up to four ranges, closed, or not said. */
export function OpeningHours(props: {
  hours: Hours;
  /** The business's time zone, which the hours are in. */
  zone: string;
  errors: FieldErrors;
  onChange: (hours: Hours) => void;
}) {
  const { hours, errors } = props;
  const setDay = (day: Day, ranges: Range[]) => props.onChange({ ...hours, [day]: ranges });
  return (
    <fieldset
      id="set-business_hours"
      class="hours"
      aria-describedby="hours-hint set-business_hours-error"
    >
      <legend>{t('openingHours')}</legend>
      <p id="hours-hint" class="muted">
        {t('openingHoursHelp', { zone: props.zone })}
      </p>
      <div class="hours-days">
        {DAYS.map((day, index) => {
          const name = dayName(index);
          const ranges = hours[day];
          const error = errorsUnder(errors, `business_hours.${day}`);
          const errorId = `hours-${day}-error`;
          return (
            <fieldset
              key={day}
              id={`hours-${day}`}
              class={error ? 'hours-day invalid' : 'hours-day'}
            >
              <legend>{name}</legend>
              <div class="hours-ranges">
                {ranges?.length ? (
                  ranges.map(([from = '', to = ''], i) => {
                    const invalid = errorsUnder(errors, `business_hours.${day}.${i}`)
                      ? ('true' as const)
                      : undefined;
                    const set = (edge: 0 | 1, value: string) =>
                      setDay(
                        day,
                        ranges.map((r, j) =>
                          j === i ? (edge === 0 ? [value, r[1] ?? ''] : [r[0] ?? '', value]) : r,
                        ),
                      );
                    const time = (edge: 0 | 1) => (
                      <input
                        id={`hours-${day}-${i}-${edge === 0 ? 'from' : 'to'}`}
                        type="time"
                        value={edge === 0 ? from : to}
                        aria-label={t(edge === 0 ? 'rangeOpens' : 'rangeCloses', {
                          day: name,
                          n: i + 1,
                        })}
                        aria-invalid={invalid}
                        aria-describedby={errorId}
                        onInput={(e) => set(edge, e.currentTarget.value)}
                      />
                    );
                    return (
                      // Ranges have no id; the inputs are controlled, so position is enough.
                      <div key={i} class="hours-range">
                        {time(0)}
                        <span aria-hidden="true">–</span>
                        {time(1)}
                        <button
                          id={`hours-${day}-${i}-remove`}
                          type="button"
                          class="hours-remove"
                          aria-label={t('removeRange', { day: name, from, to })}
                          onClick={() =>
                            setDay(
                              day,
                              ranges.filter((_, j) => j !== i),
                            )
                          }
                        >
                          ×
                        </button>
                      </div>
                    );
                  })
                ) : (
                  <p id={`hours-${day}-state`} class="hours-state muted">
                    {ranges ? t('closedDay') : t('hoursNotGiven')}
                  </p>
                )}
                <div class="hours-actions">
                  {(ranges?.length ?? 0) < MAX_RANGES && (
                    <button
                      id={`hours-${day}-add`}
                      type="button"
                      aria-label={t('addRangeOn', { day: name })}
                      onClick={() => setDay(day, [...(ranges ?? []), nextRange(ranges ?? [])])}
                    >
                      {t('addRange')}
                    </button>
                  )}
                  {ranges === undefined && (
                    <button
                      id={`hours-${day}-closed`}
                      type="button"
                      aria-label={t('markClosedOn', { day: name })}
                      onClick={() => setDay(day, [])}
                    >
                      {t('markClosed')}
                    </button>
                  )}
                </div>
                <p id={errorId} class="field-error">
                  {error}
                </p>
              </div>
            </fieldset>
          );
        })}
      </div>
      <p id="set-business_hours-error" class="field-error">
        {errors.business_hours}
      </p>
    </fieldset>
  );
}
