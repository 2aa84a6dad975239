/**
 * Free appointment slots: pure, no I/O. Hours are wall-clock times in the tenant's IANA time zone
 * (a 9:00 opening is 9:00 local in winter and in summer); busy periods and slots are instants.
 *
 * Rules (docs/appointments.md):
 * - A staff member works, on a local date, their weekly hours for that weekday plus any
 *   `extra_hours` that date, minus `closed`/`holiday` exceptions (a whole day when untimed).
 *   Exceptions without a staff member apply to everyone.
 * - Slots start every `slotStepMinutes` from the start of each working interval, counted in real
 *   minutes, so a skipped hour (spring forward) gets no slot; a local time that occurs twice (fall
 *   back) is offered once, at its first occurrence.
 * - The service itself (`start`..`end`) lies within one working interval; the staff member's
 *   time taken (`period`, the buffers around it) overlaps no busy period. Buffers may reach
 *   outside working hours (preparing before opening).
 * - No slot starts sooner than `minNoticeMinutes` after `now` or later than `maxHorizonDays` after.
 * Time-zone arithmetic uses only `Intl`, which Workers and Node both carry with full tz data.
 */
import { Temporal } from 'temporal-polyfill';
import { InvalidInputError } from '../errors';

/** `YYYY-MM-DD`, a calendar date in the tenant's time zone. */
export type LocalDate = string;
/** `HH:MM` or `HH:MM:SS` (as Postgres prints `time`); `24:00` is the end of the day. */
export type WallTime = string;

export type WeeklyHours = {
  staffId: string;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  start: WallTime;
  end: WallTime;
};

export type ScheduleException = {
  /** null: the whole business. */
  staffId: string | null;
  date: LocalDate;
  kind: 'closed' | 'holiday' | 'extra_hours';
  /** Both null for a whole day (closed, holiday only). */
  start: WallTime | null;
  end: WallTime | null;
};

/** Time a staff member is taken (an active appointment's period, buffers included). */
export type BusyPeriod = { staffId: string; start: Date; end: Date };

export type ServiceTiming = {
  durationMinutes: number;
  bufferBeforeMinutes: number;
  bufferAfterMinutes: number;
};

export type AvailabilityQuery = {
  timeZone: string;
  now: Date;
  /** First and last local date to look at, inclusive. */
  from: LocalDate;
  to: LocalDate;
  /** The staff to consider: one named member, or every member who performs the service. */
  staffIds: readonly string[];
  service: ServiceTiming;
  weeklyHours: readonly WeeklyHours[];
  exceptions: readonly ScheduleException[];
  busy: readonly BusyPeriod[];
  slotStepMinutes: number;
  minNoticeMinutes: number;
  maxHorizonDays: number;
};

export type Slot = {
  staffId: string;
  /** The service as the customer is told it. */
  start: Date;
  end: Date;
  /** The staff member's time it takes: buffers included (what appointments.period stores). */
  periodStart: Date;
  periodEnd: Date;
};

const MINUTE = 60_000;
const DAY = 86_400_000;

export function availableSlots(query: AvailabilityQuery): Slot[] {
  const { timeZone, now, service } = query;
  assertTimeZone(timeZone);
  for (const [name, value, min] of [
    ['slotStepMinutes', query.slotStepMinutes, 1],
    ['durationMinutes', service.durationMinutes, 1],
    ['bufferBeforeMinutes', service.bufferBeforeMinutes, 0],
    ['bufferAfterMinutes', service.bufferAfterMinutes, 0],
    ['minNoticeMinutes', query.minNoticeMinutes, 0],
    ['maxHorizonDays', query.maxHorizonDays, 0],
  ] as const) {
    if (!Number.isInteger(value) || value < min) {
      throw new InvalidInputError(`${name} must be an integer of at least ${min}`);
    }
  }
  const earliest = now.getTime() + query.minNoticeMinutes * MINUTE;
  const latest = now.getTime() + query.maxHorizonDays * DAY;
  // Only the dates a slot could fall on: a long range costs nothing beyond the horizon.
  const first = maxDate(parseDate(query.from), localDateOf(new Date(earliest), timeZone));
  const last = minDate(parseDate(query.to), localDateOf(new Date(latest), timeZone));
  const duration = service.durationMinutes * MINUTE;
  const step = query.slotStepMinutes * MINUTE;
  const before = service.bufferBeforeMinutes * MINUTE;
  const after = service.bufferAfterMinutes * MINUTE;

  // Each local time costs several Intl calls, and every staff member asks for the same ones
  // (midnight, opening, closing) on each date: each is computed once per call. Over a month for
  // five staff that was most of the work (bench/availability.bench.ts).
  const instantAt = remembered((date: LocalDate, minutes: number) =>
    zonedInstant(date, minutes, timeZone),
  );
  // Only a day whose offset changes can show a local time twice; elsewhere the instant is the
  // label, which spares a time-zone conversion per candidate.
  const isSteady = remembered(
    (date: LocalDate) =>
      offsetAt(instantAt(date, 0), timeZone) === offsetAt(instantAt(date, 1440), timeZone),
  );

  const slots: Slot[] = [];
  for (const staffId of new Set(query.staffIds)) {
    const busy = query.busy
      .filter((b) => b.staffId === staffId)
      .map((b) => [b.start.getTime(), b.end.getTime()] as const)
      .sort((a, b) => a[0] - b[0]);
    // Candidates come in time order, so a busy period that ends before one candidate's period
    // ends before every later one's: those are passed once instead of checked for every slot.
    let passed = 0;
    for (let date = first; date <= last; date = addDays(date, 1)) {
      const steady = isSteady(date);
      const offered = new Set<string | number>();
      for (const [open, close] of workingIntervals(query, staffId, date, instantAt)) {
        for (let start = open; start + duration <= close; start += step) {
          if (start < earliest || start > latest) continue;
          const periodStart = start - before;
          const periodEnd = start + duration + after;
          while ((busy[passed]?.[1] ?? Number.POSITIVE_INFINITY) <= periodStart) passed++;
          if (overlapsAny(busy, passed, periodStart, periodEnd)) continue;
          const label = steady ? start : wallClockLabel(start, timeZone);
          if (offered.has(label)) continue;
          offered.add(label);
          slots.push({
            staffId,
            start: new Date(start),
            end: new Date(start + duration),
            periodStart: new Date(periodStart),
            periodEnd: new Date(periodEnd),
          });
        }
      }
    }
  }
  return slots.sort(
    (a, b) => a.start.getTime() - b.start.getTime() || a.staffId.localeCompare(b.staffId),
  );
}

/** Whether a period of `busy` (ordered by start), from index `from` on, overlaps `[start, end)`. */
function overlapsAny(
  busy: ReadonlyArray<readonly [number, number]>,
  from: number,
  start: number,
  end: number,
): boolean {
  for (let i = from; i < busy.length; i++) {
    const [s, e] = busy[i] as readonly [number, number];
    if (s >= end) return false;
    if (e > start) return true;
  }
  return false;
}

/** `fn`, answering each distinct list of arguments once (they are joined into the key). */
function remembered<A extends Array<string | number>, V>(fn: (...args: A) => V) {
  const answers = new Map<string, V>();
  return (...args: A): V => {
    const key = args.join(' ');
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = fn(...args);
      answers.set(key, answer);
    }
    return answer;
  };
}

/** "Any staff": each start time once, with the staff free then (in `slots`' order). */
export function slotsByStart(slots: readonly Slot[]): Array<{
  start: Date;
  end: Date;
  staffIds: string[];
}> {
  const byStart = new Map<number, { start: Date; end: Date; staffIds: string[] }>();
  for (const slot of slots) {
    const entry = byStart.get(slot.start.getTime());
    if (entry) entry.staffIds.push(slot.staffId);
    else byStart.set(slot.start.getTime(), { ...slot, staffIds: [slot.staffId] });
  }
  return [...byStart.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
}

/**
 * The staff member's working time on a local date as disjoint, ordered instants `[open, close)`:
 * weekly hours and extra hours, united, minus closures.
 */
export function workingIntervals(
  query: Pick<AvailabilityQuery, 'timeZone' | 'weeklyHours' | 'exceptions'>,
  staffId: string,
  date: LocalDate,
  instantAt = (d: LocalDate, minutes: number) => zonedInstant(d, minutes, query.timeZone),
): Array<[number, number]> {
  const applies = query.exceptions.filter(
    (e) => e.date === date && (e.staffId === null || e.staffId === staffId),
  );
  const closures = applies.filter((e) => e.kind !== 'extra_hours');
  if (closures.some((e) => e.start === null || e.end === null)) return [];
  const weekday = isoWeekday(date);
  const toInstants = (start: WallTime, end: WallTime): [number, number] => [
    instantAt(date, wallMinutes(start)),
    instantAt(date, wallMinutes(end)),
  ];
  const open = [
    ...query.weeklyHours
      .filter((h) => h.staffId === staffId && h.weekday === weekday)
      .map((h) => toInstants(h.start, h.end)),
    ...applies
      .filter((e) => e.kind === 'extra_hours' && e.start !== null && e.end !== null)
      .map((e) => toInstants(e.start as WallTime, e.end as WallTime)),
  ];
  const closed = closures.map((e) => toInstants(e.start as WallTime, e.end as WallTime));
  return subtract(union(open), closed);
}

function union(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = intervals.filter(([s, e]) => s < e).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const lastInterval = merged[merged.length - 1];
    if (lastInterval && s <= lastInterval[1]) lastInterval[1] = Math.max(lastInterval[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

function subtract(
  intervals: Array<[number, number]>,
  holes: Array<[number, number]>,
): Array<[number, number]> {
  let pieces = intervals;
  for (const [hs, he] of holes) {
    pieces = pieces.flatMap(([s, e]): Array<[number, number]> => {
      if (he <= s || e <= hs) return [[s, e]];
      const kept: Array<[number, number]> = [];
      if (s < hs) kept.push([s, hs]);
      if (he < e) kept.push([he, e]);
      return kept;
    });
  }
  return pieces;
}

// --- Time zones (Temporal) -----------------------------------------------------------------------
// Temporal decides what a wall-clock time means in a zone (gaps and repeats included), not our
// own offset arithmetic.

/** Throws InvalidInputError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(timeZone);
  } catch {
    throw new InvalidInputError(`unknown time zone: ${timeZone}`);
  }
}

function zoned(t: number, timeZone: string): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(timeZone);
}

const offsetAt = (t: number, timeZone: string) => zoned(t, timeZone).offsetNanoseconds / 1_000_000;

/**
 * The instant at which the wall clock in `timeZone` shows `minutes` after midnight of `date`
 * (1440 = the next midnight). Temporal's 'compatible' disambiguation: a time that occurs twice
 * (fall back) is its first occurrence; one that does not occur (spring forward) is moved later by
 * the gap.
 */
export function zonedInstant(date: LocalDate, minutes: number, timeZone: string): number {
  return Temporal.PlainDate.from(parseDate(date))
    .toPlainDateTime()
    .add({ minutes })
    .toZonedDateTime(timeZone, { disambiguation: 'compatible' }).epochMilliseconds;
}

/** The local date in `timeZone` at `instant`. */
export function localDateOf(instant: Date, timeZone: string): LocalDate {
  return zoned(instant.getTime(), timeZone).toPlainDate().toString();
}

/** `YYYY-MM-DD HH:MM` in `timeZone`: how a customer there reads the instant. */
export function wallClockLabel(t: number, timeZone: string): string {
  return zoned(t, timeZone)
    .toPlainDateTime()
    .toString({ smallestUnit: 'minute' })
    .replace('T', ' ');
}

function wallMinutes(time: WallTime): number {
  const match = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(time);
  const hours = Number(match?.[1]);
  const minutes = Number(match?.[2]);
  if (!match || hours > 24 || minutes > 59 || (hours === 24 && minutes > 0)) {
    throw new InvalidInputError(`not a wall-clock time: ${time}`);
  }
  return hours * 60 + minutes;
}

/** The date itself, or InvalidInputError when it is not a `YYYY-MM-DD` the calendar has. */
export function parseDate(date: LocalDate): LocalDate {
  const parsed = new Date(`${date}T00:00:00Z`);
  // Round-tripping also refuses dates the calendar does not have (2026-02-30).
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) {
    throw new InvalidInputError(`not a date: ${date}`);
  }
  return date;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
}

/** 1 = Monday … 7 = Sunday. */
export function isoWeekday(date: LocalDate): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay() || 7;
}

const maxDate = (a: LocalDate, b: LocalDate) => (a > b ? a : b);
const minDate = (a: LocalDate, b: LocalDate) => (a < b ? a : b);
