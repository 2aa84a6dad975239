import { addDays, localDateOf, zonedInstant } from '../appointments/availability';

/**
 * Quiet hours for proactive follow-ups (docs/follow-ups.md), on the business's own clock: nothing
 * the business starts reaches a customer between 21:00 and 09:00 there. A follow-up approved at
 * night is not refused: its send waits until the morning.
 */
export const QUIET_HOURS = { fromMinutes: 21 * 60, untilMinutes: 9 * 60 };

const MINUTE = 60_000;

/** When a proactive send approved at `now` may leave: `now` itself, or the end of quiet hours. */
export function afterQuietHours(now: Date, timeZone: string): Date {
  const today = localDateOf(now, timeZone);
  const minutes = Math.floor((now.getTime() - zonedInstant(today, 0, timeZone)) / MINUTE);
  if (minutes >= QUIET_HOURS.fromMinutes) {
    return new Date(zonedInstant(addDays(today, 1), QUIET_HOURS.untilMinutes, timeZone));
  }
  if (minutes < QUIET_HOURS.untilMinutes) {
    return new Date(zonedInstant(today, QUIET_HOURS.untilMinutes, timeZone));
  }
  return now;
}
