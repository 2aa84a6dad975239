import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors';
import {
  type AvailabilityQuery,
  addDays,
  availableSlots,
  isoWeekday,
  localDateOf,
  type Slot,
  slotsByStart,
  type WeeklyHours,
  wallClockLabel,
  zonedInstant,
} from './availability';

const ANA = 'staff-ana';
const BEN = 'staff-ben';
const everyDay = (staffId: string, start: string, end: string): WeeklyHours[] =>
  [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ staffId, weekday, start, end }));

/** A query with nothing in the way: no notice, a long horizon, `now` well before the dates. */
function query(overrides: Partial<AvailabilityQuery>): AvailabilityQuery {
  return {
    timeZone: 'UTC',
    now: new Date('2026-01-01T00:00:00Z'),
    from: '2026-01-05',
    to: '2026-01-05',
    staffIds: [ANA],
    service: { durationMinutes: 30, bufferBeforeMinutes: 0, bufferAfterMinutes: 0 },
    weeklyHours: everyDay(ANA, '09:00', '12:00'),
    exceptions: [],
    busy: [],
    slotStepMinutes: 15,
    minNoticeMinutes: 0,
    maxHorizonDays: 366,
    ...overrides,
  };
}

/** Each slot as `staff YYYY-MM-DD HH:MM` on the local wall clock. */
const local = (slots: Slot[], timeZone: string) =>
  slots.map((s) => `${s.staffId} ${wallClockLabel(s.start.getTime(), timeZone)}`);
const times = (slots: Slot[], timeZone = 'UTC') =>
  slots.map((s) => wallClockLabel(s.start.getTime(), timeZone).slice(11));

describe('availableSlots', () => {
  it('steps through the working hours, the service ending by closing time', () => {
    const slots = availableSlots(query({}));
    expect(times(slots)).toEqual([
      '09:00',
      '09:15',
      '09:30',
      '09:45',
      '10:00',
      '10:15',
      '10:30',
      '10:45',
      '11:00',
      '11:15',
      '11:30',
    ]);
    expect(slots[0]).toEqual({
      staffId: ANA,
      start: new Date('2026-01-05T09:00:00Z'),
      end: new Date('2026-01-05T09:30:00Z'),
      periodStart: new Date('2026-01-05T09:00:00Z'),
      periodEnd: new Date('2026-01-05T09:30:00Z'),
    });
  });

  it('keeps buffers clear of busy periods, and lets them reach outside working hours', () => {
    const slots = availableSlots(
      query({
        service: { durationMinutes: 30, bufferBeforeMinutes: 15, bufferAfterMinutes: 15 },
        busy: [
          {
            staffId: ANA,
            start: new Date('2026-01-05T10:00:00Z'),
            end: new Date('2026-01-05T11:00:00Z'),
          },
        ],
      }),
    );
    // 9:15 takes 9:00–10:00 (touching the busy hour is fine); 9:30 would take 9:15–10:15.
    expect(times(slots)).toEqual(['09:00', '09:15', '11:15', '11:30']);
    expect(slots[0]?.periodStart).toEqual(new Date('2026-01-05T08:45:00Z'));
    expect(slots[3]?.periodEnd).toEqual(new Date('2026-01-05T12:15:00Z'));
  });

  it("ignores another staff member's busy periods", () => {
    const busy = [
      { staffId: BEN, start: new Date('2026-01-05T09:00:00Z'), end: new Date('2026-01-05T12:00Z') },
    ];
    expect(availableSlots(query({ busy }))).toHaveLength(11);
  });

  it('applies holidays to everyone, closures to one staff member, and extra hours', () => {
    const base = {
      staffIds: [ANA, BEN],
      from: '2026-01-05',
      to: '2026-01-06',
      weeklyHours: [
        ...everyDay(ANA, '09:00', '10:00'),
        // Ben does not work on Tuesdays.
        { staffId: BEN, weekday: 1, start: '09:00', end: '10:00' },
      ],
      service: { durationMinutes: 60, bufferBeforeMinutes: 0, bufferAfterMinutes: 0 },
      slotStepMinutes: 60,
    };
    expect(local(availableSlots(query(base)), 'UTC')).toEqual([
      `${ANA} 2026-01-05 09:00`,
      `${BEN} 2026-01-05 09:00`,
      `${ANA} 2026-01-06 09:00`,
    ]);
    const withExceptions = availableSlots(
      query({
        ...base,
        exceptions: [
          { staffId: null, date: '2026-01-06', kind: 'holiday', start: null, end: null },
          { staffId: ANA, date: '2026-01-05', kind: 'closed', start: null, end: null },
          { staffId: BEN, date: '2026-01-05', kind: 'extra_hours', start: '15:00', end: '16:00' },
          { staffId: ANA, date: '2026-01-07', kind: 'closed', start: null, end: null },
        ],
      }),
    );
    expect(local(withExceptions, 'UTC')).toEqual([
      `${BEN} 2026-01-05 09:00`,
      `${BEN} 2026-01-05 15:00`,
    ]);
  });

  it('cuts a timed closure out of the day, and merges extra hours that overlap the usual ones', () => {
    const slots = availableSlots(
      query({
        slotStepMinutes: 30,
        exceptions: [
          { staffId: null, date: '2026-01-05', kind: 'closed', start: '10:00', end: '10:45' },
          { staffId: ANA, date: '2026-01-05', kind: 'extra_hours', start: '11:30', end: '13:00' },
        ],
      }),
    );
    // 9:00–10:00, then 10:45–13:00 with the grid starting again at 10:45.
    expect(times(slots)).toEqual(['09:00', '09:30', '10:45', '11:15', '11:45', '12:15']);
  });

  it('offers nothing sooner than the minimum notice', () => {
    const slots = availableSlots(
      query({ now: new Date('2026-01-05T08:20:00Z'), minNoticeMinutes: 120 }),
    );
    expect(times(slots)[0]).toBe('10:30');
  });

  it('offers nothing beyond the horizon, however long the range asked for', () => {
    const slots = availableSlots(
      query({
        now: new Date('2026-01-05T10:00:00Z'),
        from: '2026-01-01',
        to: '2027-12-31',
        maxHorizonDays: 2,
        slotStepMinutes: 60,
        service: { durationMinutes: 60, bufferBeforeMinutes: 0, bufferAfterMinutes: 0 },
      }),
    );
    expect(local(slots, 'UTC')).toEqual([
      `${ANA} 2026-01-05 10:00`,
      `${ANA} 2026-01-05 11:00`,
      `${ANA} 2026-01-06 09:00`,
      `${ANA} 2026-01-06 10:00`,
      `${ANA} 2026-01-06 11:00`,
      `${ANA} 2026-01-07 09:00`,
      `${ANA} 2026-01-07 10:00`,
    ]);
  });

  it('refuses an unknown time zone, an impossible date and a malformed time', () => {
    expect(() => availableSlots(query({ timeZone: 'Mars/Olympus' }))).toThrow(InvalidInputError);
    expect(() => availableSlots(query({ from: '2026-02-30' }))).toThrow(InvalidInputError);
    expect(() =>
      availableSlots(query({ weeklyHours: [{ staffId: ANA, weekday: 1, start: '9', end: '10' }] })),
    ).toThrow(InvalidInputError);
    expect(() => availableSlots(query({ slotStepMinutes: 0 }))).toThrow(InvalidInputError);
  });

  it('groups by start time for "any staff"', () => {
    const slots = availableSlots(
      query({
        staffIds: [ANA, BEN],
        weeklyHours: [...everyDay(ANA, '09:00', '10:00'), ...everyDay(BEN, '09:30', '10:30')],
        slotStepMinutes: 30,
      }),
    );
    expect(
      slotsByStart(slots).map((s) => [wallClockLabel(s.start.getTime(), 'UTC'), s.staffIds]),
    ).toEqual([
      ['2026-01-05 09:00', [ANA]],
      ['2026-01-05 09:30', [ANA, BEN]],
      ['2026-01-05 10:00', [BEN]],
    ]);
  });
});

describe.each([
  { zone: 'Europe/Madrid', spring: '2026-03-29', fall: '2026-10-25' },
  { zone: 'America/New_York', spring: '2026-03-08', fall: '2026-11-01' },
])('daylight-saving changes in $zone', ({ zone, spring, fall }) => {
  const week = (change: string) => ({ from: addDays(change, -3), to: addDays(change, 3) });
  const hourly = {
    timeZone: zone,
    slotStepMinutes: 60,
    service: { durationMinutes: 60, bufferBeforeMinutes: 0, bufferAfterMinutes: 0 },
  };

  it.each([
    ['spring forward', spring],
    ['fall back', fall],
  ])('keeps a 9:00 opening at 9:00 local through the %s week', (_, change) => {
    const slots = availableSlots(
      query({ ...hourly, ...week(change), weeklyHours: everyDay(ANA, '09:00', '11:00') }),
    );
    const labels = local(slots, zone);
    expect(labels).toHaveLength(14);
    for (let day = -3; day <= 3; day++) {
      const date = addDays(change, day);
      expect(labels).toContain(`${ANA} ${date} 09:00`);
      expect(labels).toContain(`${ANA} ${date} 10:00`);
    }
    // The offset really changed: the same local opening is an hour apart in UTC across the week.
    const first = slots[0]?.start.getUTCHours();
    const lastOpening = slots[slots.length - 2]?.start.getUTCHours();
    expect(Math.abs((first ?? 0) - (lastOpening ?? 0))).toBe(1);
  });

  it('offers no slot in the skipped hour', () => {
    const slots = availableSlots(
      query({ ...hourly, from: spring, to: spring, weeklyHours: everyDay(ANA, '00:00', '05:00') }),
    );
    // Four real hours between local midnight and 05:00; 02:00 does not exist.
    expect(times(slots, zone)).toEqual(['00:00', '01:00', '03:00', '04:00']);
    for (const slot of slots) expect(slot.end.getTime() - slot.start.getTime()).toBe(3_600_000);
  });

  it('offers each local time of the repeated hour once', () => {
    const slots = availableSlots(
      query({ ...hourly, from: fall, to: fall, weeklyHours: everyDay(ANA, '00:00', '04:00') }),
    );
    // Five real hours; 01:00 occurs twice and is offered at its first occurrence only.
    expect(times(slots, zone)).toEqual(['00:00', '01:00', '02:00', '03:00']);
    expect(new Set(slots.map((s) => s.start.getTime())).size).toBe(slots.length);
  });
});

describe('zonedInstant', () => {
  it('maps wall-clock times to instants, the gap forward and the repeated hour to its first time', () => {
    const iso = (date: string, hhmm: string, zone: string) =>
      new Date(at(date, hhmm, zone)).toISOString();
    expect(iso('2026-03-28', '09:00', 'Europe/Madrid')).toBe('2026-03-28T08:00:00.000Z');
    expect(iso('2026-03-30', '09:00', 'Europe/Madrid')).toBe('2026-03-30T07:00:00.000Z');
    expect(iso('2026-03-29', '02:30', 'Europe/Madrid')).toBe('2026-03-29T01:30:00.000Z');
    expect(iso('2026-10-25', '02:30', 'Europe/Madrid')).toBe('2026-10-25T00:30:00.000Z');
    expect(iso('2026-11-01', '01:30', 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    expect(iso('2026-01-05', '24:00', 'Asia/Kolkata')).toBe('2026-01-05T18:30:00.000Z');
  });
});

const at = (date: string, hhmm: string, zone: string) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return zonedInstant(date, h * 60 + m, zone);
};

describe('availableSlots (property)', () => {
  const zones = ['UTC', 'Europe/Madrid', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
  const quarter = fc.integer({ min: 0, max: 96 }).map((q) => q * 15);
  const wall = (minutes: number) =>
    `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  const hours = fc
    .array(
      fc.record({
        staffId: fc.constantFrom(ANA, BEN),
        weekday: fc.integer({ min: 1, max: 7 }),
        a: quarter,
        b: quarter,
      }),
      { maxLength: 12 },
    )
    .map((rows) =>
      rows
        .filter((r) => r.a !== r.b)
        .map((r) => ({
          staffId: r.staffId,
          weekday: r.weekday,
          start: wall(Math.min(r.a, r.b)),
          end: wall(Math.max(r.a, r.b)),
        })),
    );
  // Around the 2026 changes in both hemispheres and both zones above.
  const origin = Date.parse('2026-03-05T00:00:00Z');
  const instant = fc.integer({ min: 0, max: 40 * 24 * 4 }).map((q) => origin + q * 15 * 60_000);
  const busy = fc
    .array(
      fc.record({
        staffId: fc.constantFrom(ANA, BEN),
        start: instant,
        minutes: fc.integer({ min: 5, max: 300 }),
      }),
      { maxLength: 15 },
    )
    .map((rows) =>
      rows.map((r) => ({
        staffId: r.staffId,
        start: new Date(r.start),
        end: new Date(r.start + r.minutes * 60_000),
      })),
    );

  it('returns only slots inside working hours that keep clear of every busy period', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        hours,
        busy,
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 4 }),
        fc.record({
          durationMinutes: fc.integer({ min: 5, max: 180 }),
          bufferBeforeMinutes: fc.integer({ min: 0, max: 30 }),
          bufferAfterMinutes: fc.integer({ min: 0, max: 30 }),
        }),
        fc.constantFrom(5, 10, 15, 30, 60),
        instant,
        (timeZone, weeklyHours, busyPeriods, holidayOffsets, service, step, now) => {
          const holidays = holidayOffsets.map((d) => addDays('2026-03-05', d));
          const q = query({
            timeZone,
            now: new Date(now),
            from: '2026-03-01',
            to: '2026-04-20',
            staffIds: [ANA, BEN],
            weeklyHours,
            exceptions: holidays.map((date) => ({
              staffId: null,
              date,
              kind: 'holiday' as const,
              start: null,
              end: null,
            })),
            busy: busyPeriods,
            service,
            slotStepMinutes: step,
            minNoticeMinutes: 60,
            maxHorizonDays: 20,
          });
          const slots = availableSlots(q);
          const seen = new Set<string>();
          for (const slot of slots) {
            const start = slot.start.getTime();
            const date = localDateOf(slot.start, timeZone);
            // Clear of every busy period of its staff member, buffers included.
            for (const b of busyPeriods.filter((p) => p.staffId === slot.staffId)) {
              const overlaps =
                b.start.getTime() < slot.periodEnd.getTime() &&
                slot.periodStart.getTime() < b.end.getTime();
              expect(overlaps).toBe(false);
            }
            expect(slot.periodStart.getTime()).toBe(start - service.bufferBeforeMinutes * 60_000);
            expect(slot.end.getTime() - start).toBe(service.durationMinutes * 60_000);
            // Inside one of the staff member's intervals for that weekday, on a working date.
            expect(holidays).not.toContain(date);
            // Touching intervals (09:00–12:00, 12:00–14:00) are one stretch of working time.
            const stretches = weeklyHours
              .filter((h) => h.staffId === slot.staffId && h.weekday === isoWeekday(date))
              .map((h) => [at(date, h.start, timeZone), at(date, h.end, timeZone)] as const)
              .sort((a, b) => a[0] - b[0])
              .reduce<Array<[number, number]>>((merged, [s, e]) => {
                const last = merged[merged.length - 1];
                if (last && s <= last[1]) last[1] = Math.max(last[1], e);
                else merged.push([s, e]);
                return merged;
              }, []);
            const inside = stretches.some(([s, e]) => s <= start && slot.end.getTime() <= e);
            expect(inside).toBe(true);
            // Notice and horizon.
            expect(start).toBeGreaterThanOrEqual(now + 60 * 60_000);
            expect(start).toBeLessThanOrEqual(now + 20 * 86_400_000);
            // No local time offered twice to one staff member.
            const key = `${slot.staffId} ${wallClockLabel(start, timeZone)}`;
            expect(seen.has(key)).toBe(false);
            seen.add(key);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('takes away exactly the slots whose period overlaps a busy one, however the busy periods lie', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        hours,
        busy,
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom(5, 15, 30),
        (timeZone, weeklyHours, busyPeriods, bufferAfterMinutes, step) => {
          const q = query({
            timeZone,
            from: '2026-03-01',
            to: '2026-04-20',
            staffIds: [ANA, BEN],
            weeklyHours,
            service: { durationMinutes: 45, bufferBeforeMinutes: 10, bufferAfterMinutes },
            slotStepMinutes: step,
          });
          const free = availableSlots({ ...q, busy: [] }).filter(
            (slot) =>
              !busyPeriods.some(
                (b) =>
                  b.staffId === slot.staffId &&
                  b.start.getTime() < slot.periodEnd.getTime() &&
                  slot.periodStart.getTime() < b.end.getTime(),
              ),
          );
          expect(availableSlots({ ...q, busy: busyPeriods })).toEqual(free);
        },
      ),
      { numRuns: 60 },
    );
  });
});
