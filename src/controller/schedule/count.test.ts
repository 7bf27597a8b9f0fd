import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CronSchedule, countFiresBetween, parseSchedule } from './cron.js';
import { fireTimesBetween } from './fixtures.test-helpers.js';

function schedule(expression: string, timeZone?: string, allowSeconds = false): CronSchedule {
  const parsed = parseSchedule(expression, timeZone, { allowSeconds });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.schedule;
}

const YEAR_2025 = [new Date('2025-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z')] as const;

describe('counting missed fires', () => {
  it('caps an every-minute schedule over a year at 100,000, and still names the latest', () => {
    const counted = countFiresBetween(schedule('* * * * *', 'Europe/Berlin'), ...YEAR_2025);
    expect(counted).toEqual({ count: 100_000, capped: true, latest: new Date('2026-01-01T00:00:00Z') });
  });

  it('counts a year of every minute exactly, 525,600 whatever DST does, when the cap allows', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York']) {
      const counted = countFiresBetween(schedule('* * * * *', zone), ...YEAR_2025, 1_000_000);
      expect(counted, zone).toEqual({ count: 525_600, capped: false, latest: YEAR_2025[1] });
    }
  });

  it('counts a daily 02:30 once a day through both DST changes', () => {
    const counted = countFiresBetween(schedule('30 2 * * *', 'Europe/Berlin'), ...YEAR_2025);
    expect(counted).toEqual({ count: 365, capped: false, latest: new Date('2025-12-31T01:30:00Z') });
  });

  it('is not capped when the fires equal the cap', () => {
    const s = schedule('0 * * * *');
    expect(
      countFiresBetween(s, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T10:00:00Z'), 10),
    ).toEqual({
      count: 10,
      capped: false,
      latest: new Date('2025-01-01T10:00:00Z'),
    });
    expect(
      countFiresBetween(s, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T10:00:00Z'), 9),
    ).toEqual({
      count: 9,
      capped: true,
      latest: new Date('2025-01-01T10:00:00Z'),
    });
  });

  it('finds nothing in an empty or backwards range', () => {
    const s = schedule('* * * * *');
    const at = new Date('2025-01-01T00:00:30Z');
    expect(countFiresBetween(s, at, at)).toEqual({ count: 0, capped: false });
    expect(countFiresBetween(s, at, new Date('2025-01-01T00:00:59Z'))).toEqual({ count: 0, capped: false });
    expect(countFiresBetween(s, new Date('2025-01-02T00:00:00Z'), at)).toEqual({ count: 0, capped: false });
  });

  it('lists at most max fire times, saying when there were more', () => {
    const s = schedule('0 * * * *');
    const { times, truncated } = fireTimesBetween(s, ...YEAR_2025, 3);
    expect(times.map((t) => t.toISOString())).toEqual([
      '2025-01-01T01:00:00.000Z',
      '2025-01-01T02:00:00.000Z',
      '2025-01-01T03:00:00.000Z',
    ]);
    expect(truncated).toBe(true);
    expect(fireTimesBetween(s, YEAR_2025[0], new Date('2025-01-01T03:00:00Z'), 3).truncated).toBe(false);
  });
});

// The counting arithmetic must agree with croner fire by fire: around each 2025 offset change of
// zones that change at 02:00 (Berlin, New York), at midnight (Santiago), by 30 minutes (Lord Howe)
// or never (Kolkata), both ways; from inside a repeated hour; with ranges ending mid-day; with
// day-of-month and day-of-week rules.
describe('counting agrees with croner, fire by fire', () => {
  const changes: Record<string, string[]> = {
    UTC: ['2025-06-01T00:00:00Z'],
    'Europe/Berlin': ['2025-03-30T01:00:00Z', '2025-10-26T01:00:00Z'],
    'America/New_York': ['2025-03-09T07:00:00Z', '2025-11-02T06:00:00Z'],
    'America/Santiago': ['2025-04-06T03:00:00Z', '2025-09-07T04:00:00Z'],
    'Australia/Lord_Howe': ['2025-04-05T15:00:00Z', '2025-10-04T15:30:00Z'],
    'Asia/Kolkata': ['2025-06-01T00:00:00Z'],
  };
  const cases = Object.entries(changes).flatMap(([zone, instants]) =>
    instants.map((iso) => ({ zone, change: new Date(iso).getTime() / 1000 })),
  );
  const expressions = [
    '30 2 * * *',
    '0,30 2 * * *',
    '0 * * * *',
    '*/15 * * * *',
    '*/15 2 * * *',
    '0 0 * * *',
    '30 0 * * *',
    '0,30 23 * * *',
    '5 1-3 * * *',
    '0 */2 * * 1-5',
    '0 0 1,15 * MON',
    '0 0 */2 * SUN',
    '45 23 31 * *',
  ];

  function agree(s: CronSchedule, after: Date, until: Date) {
    const { times } = fireTimesBetween(s, after, until, 10_000);
    const expected = {
      count: times.length,
      capped: false,
      ...(times.length ? { latest: times.at(-1) } : {}),
    };
    expect(
      countFiresBetween(s, after, until),
      `${s.fields} ${s.timeZone} (${after.toISOString()}, ${until.toISOString()}]`,
    ).toEqual(expected);
    if (times.length > 1) {
      expect(countFiresBetween(s, after, until, times.length - 1)).toEqual({
        ...expected,
        count: times.length - 1,
        capped: true,
      });
    }
  }

  it.each(cases)('over the two days around $zone $change', ({ zone, change }) => {
    for (const expression of expressions) {
      agree(
        schedule(expression, zone),
        new Date((change - 86_400) * 1000),
        new Date((change + 86_400) * 1000),
      );
    }
  });

  it('for generated ranges starting and ending anywhere near a change', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.constantFrom(...expressions),
        fc.integer({ min: -86_400, max: 2 * 3600 }),
        fc.integer({ min: 0, max: 2 * 86_400 }),
        fc.integer({ min: 0, max: 999 }),
        ({ zone, change }, expression, start, length, millis) => {
          const after = new Date((change + start) * 1000 + millis);
          agree(schedule(expression, zone), after, new Date(after.getTime() + length * 1000));
        },
      ),
      { numRuns: 300, seed: 20250330 },
    );
  });

  it('for seconds, across a fall-back', () => {
    const s = schedule('*/20 * * * * *', 'Europe/Berlin', true);
    const after = new Date('2025-10-26T00:55:00Z');
    const until = new Date('2025-10-26T01:05:00Z');
    const { times } = fireTimesBetween(s, after, until, 10_000);
    expect(times).toHaveLength(30);
    expect(countFiresBetween(s, after, until)).toEqual({ count: 30, capped: false, latest: until });
  });
});
