import { describe, expect, it } from 'vitest';
import {
  type CronSchedule,
  type ScheduleOptions,
  countFiresBetween,
  intervalSeconds,
  nextFireAfter,
  parseSchedule,
} from './cron.js';
import { fireTimesBetween } from './fixtures.test-helpers.js';

// 2025 DST changes. Europe/Berlin: 02:00 CET -> 03:00 CEST on 30 March (01:00Z), 03:00 CEST ->
// 02:00 CET on 26 October (01:00Z). America/New_York: 02:00 EST -> 03:00 EDT on 9 March (07:00Z),
// 02:00 EDT -> 01:00 EST on 2 November (06:00Z).
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';

function schedule(expression: string, timeZone?: string, options?: ScheduleOptions): CronSchedule {
  const parsed = parseSchedule(expression, timeZone, options);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.schedule;
}

/** The next `n` fires after `after`, each found from the one before, as UTC instants. */
function fires(s: CronSchedule, after: string, n: number): string[] {
  const out: string[] = [];
  let at: Date | undefined = new Date(after);
  while (out.length < n && (at = nextFireAfter(s, at))) out.push(at.toISOString().replace('.000', ''));
  return out;
}

const countIn = (s: CronSchedule, after: string, until: string) =>
  countFiresBetween(s, new Date(after), new Date(until)).count;

describe('a daily 02:30 across DST', () => {
  it('fires once at 03:00 CEST when Berlin springs forward over 02:30', () => {
    expect(fires(schedule('30 2 * * *', BERLIN), '2025-03-29T00:00:00Z', 3)).toEqual([
      '2025-03-29T01:30:00Z',
      '2025-03-30T01:00:00Z',
      '2025-03-31T00:30:00Z',
    ]);
  });

  it('fires once, at the first 02:30, when Berlin falls back', () => {
    expect(fires(schedule('30 2 * * *', BERLIN), '2025-10-25T00:00:00Z', 3)).toEqual([
      '2025-10-25T00:30:00Z',
      '2025-10-26T00:30:00Z',
      '2025-10-27T01:30:00Z',
    ]);
  });

  it('does not fire at the second 02:30, asked from either pass of the repeated hour', () => {
    const s = schedule('30 2 * * *', BERLIN);
    expect(fires(s, '2025-10-26T00:40:00Z', 1)).toEqual(['2025-10-27T01:30:00Z']);
    expect(fires(s, '2025-10-26T01:10:00Z', 1)).toEqual(['2025-10-27T01:30:00Z']);
  });

  it('fires once at 03:00 EDT when New York springs forward over 02:30', () => {
    expect(fires(schedule('30 2 * * *', NEW_YORK), '2025-03-08T12:00:00Z', 2)).toEqual([
      '2025-03-09T07:00:00Z',
      '2025-03-10T06:30:00Z',
    ]);
  });

  it('fires once, at the first 01:30 (EDT), when New York falls back', () => {
    const s = schedule('30 1 * * *', NEW_YORK);
    expect(fires(s, '2025-11-01T12:00:00Z', 2)).toEqual(['2025-11-02T05:30:00Z', '2025-11-03T06:30:00Z']);
    expect(fires(s, '2025-11-02T06:10:00Z', 1)).toEqual(['2025-11-03T06:30:00Z']);
    expect(fires(schedule('30 2 * * *', NEW_YORK), '2025-11-01T12:00:00Z', 1)).toEqual([
      '2025-11-02T07:30:00Z',
    ]);
  });

  it('counts one fire on each change day', () => {
    for (const [zone, day] of [
      [BERLIN, '2025-03-30'],
      [BERLIN, '2025-10-26'],
      [NEW_YORK, '2025-03-09'],
      [NEW_YORK, '2025-11-02'],
    ] as const) {
      const s = schedule('30 2 * * *', zone);
      expect(countIn(s, `${day}T00:00:00Z`, `${day}T23:59:59Z`), `${zone} ${day}`).toBe(1);
    }
  });

  it('treats a list or range of fixed times as fixed: 0,30 2 fires once in the spring gap', () => {
    const s = schedule('0,30 2 * * *', BERLIN);
    expect(s.fixedTime).toBe(true);
    expect(fires(s, '2025-03-29T12:00:00Z', 3)).toEqual([
      '2025-03-30T01:00:00Z',
      '2025-03-31T00:00:00Z',
      '2025-03-31T00:30:00Z',
    ]);
    expect(fires(schedule('0 2,3 * * *', BERLIN), '2025-03-29T12:00:00Z', 2)).toEqual([
      '2025-03-30T01:00:00Z',
      '2025-03-31T00:00:00Z',
    ]);
  });
});

describe('hourly and every 15 minutes across DST: every real hour and quarter, none doubled', () => {
  it('Berlin spring-forward: 01:00 CET, then 03:00 CEST an hour later', () => {
    const s = schedule('0 * * * *', BERLIN);
    expect(s.fixedTime).toBe(false);
    expect(fires(s, '2025-03-29T23:30:00Z', 3)).toEqual([
      '2025-03-30T00:00:00Z',
      '2025-03-30T01:00:00Z',
      '2025-03-30T02:00:00Z',
    ]);
  });

  it('Berlin fall-back: 02:00 CEST and 02:00 CET, an hour apart', () => {
    expect(fires(schedule('@hourly', BERLIN), '2025-10-25T23:30:00Z', 4)).toEqual([
      '2025-10-26T00:00:00Z',
      '2025-10-26T01:00:00Z',
      '2025-10-26T02:00:00Z',
      '2025-10-26T03:00:00Z',
    ]);
  });

  it('New York both ways', () => {
    const s = schedule('0 * * * *', NEW_YORK);
    expect(fires(s, '2025-03-09T05:30:00Z', 3)).toEqual([
      '2025-03-09T06:00:00Z',
      '2025-03-09T07:00:00Z',
      '2025-03-09T08:00:00Z',
    ]);
    expect(fires(s, '2025-11-02T04:30:00Z', 3)).toEqual([
      '2025-11-02T05:00:00Z',
      '2025-11-02T06:00:00Z',
      '2025-11-02T07:00:00Z',
    ]);
  });

  it('every 15 minutes in Berlin: 01:45 CET then 03:00 CEST; 02:45 CEST then 02:00 CET', () => {
    const s = schedule('*/15 * * * *', BERLIN);
    expect(fires(s, '2025-03-30T00:30:00Z', 3)).toEqual([
      '2025-03-30T00:45:00Z',
      '2025-03-30T01:00:00Z',
      '2025-03-30T01:15:00Z',
    ]);
    expect(fires(s, '2025-10-26T00:30:00Z', 6)).toEqual([
      '2025-10-26T00:45:00Z',
      '2025-10-26T01:00:00Z',
      '2025-10-26T01:15:00Z',
      '2025-10-26T01:30:00Z',
      '2025-10-26T01:45:00Z',
      '2025-10-26T02:00:00Z',
    ]);
  });

  it('every 15 minutes in New York: 01:45 EST then 03:00 EDT; 01:45 EDT then 01:00 EST', () => {
    const s = schedule('*/15 * * * *', NEW_YORK);
    expect(fires(s, '2025-03-09T06:30:00Z', 3)).toEqual([
      '2025-03-09T06:45:00Z',
      '2025-03-09T07:00:00Z',
      '2025-03-09T07:15:00Z',
    ]);
    expect(fires(s, '2025-11-02T05:30:00Z', 3)).toEqual([
      '2025-11-02T05:45:00Z',
      '2025-11-02T06:00:00Z',
      '2025-11-02T06:15:00Z',
    ]);
  });

  it('counts 23 and 25 hourly fires, 92 and 100 quarter-hourly, on the local change days', () => {
    const days = [
      [BERLIN, '2025-03-29T23:00:00Z', '2025-03-30T22:00:00Z', 23],
      [BERLIN, '2025-10-25T22:00:00Z', '2025-10-26T23:00:00Z', 25],
      [NEW_YORK, '2025-03-09T05:00:00Z', '2025-03-10T04:00:00Z', 23],
      [NEW_YORK, '2025-11-02T04:00:00Z', '2025-11-03T05:00:00Z', 25],
    ] as const;
    for (const [zone, start, next, hours] of days) {
      const untilBeforeNextDay = new Date(new Date(next).getTime() - 1000).toISOString();
      expect(countIn(schedule('0 * * * *', zone), start, untilBeforeNextDay), `${zone} ${start}`).toBe(
        hours - 1,
      );
      expect(countIn(schedule('*/15 * * * *', zone), start, untilBeforeNextDay)).toBe(hours * 4 - 1);
      // Counted from just before local midnight, so midnight itself is in.
      const justBefore = new Date(new Date(start).getTime() - 1000).toISOString();
      expect(countIn(schedule('0 * * * *', zone), justBefore, untilBeforeNextDay)).toBe(hours);
    }
  });

  it('a wildcard schedule inside the changing hour follows the wall clock (documented, as Vixie cron)', () => {
    const s = schedule('*/15 2 * * *', BERLIN);
    expect(countIn(s, '2025-03-29T23:00:00Z', '2025-03-30T21:59:59Z')).toBe(0);
    expect(countIn(s, '2025-10-25T22:00:00Z', '2025-10-26T22:59:59Z')).toBe(8);
  });
});

describe('the calendar', () => {
  it('fires 29 February only in leap years, skipping 2100', () => {
    const s = schedule('0 0 29 2 *');
    expect(fires(s, '2025-01-01T00:00:00Z', 2)).toEqual(['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']);
    expect(fires(s, '2097-01-01T00:00:00Z', 1)).toEqual(['2104-02-29T00:00:00Z']);
  });

  it('fires the 31st only in months that have one', () => {
    const s = schedule('0 0 31 * *');
    const { times } = fireTimesBetween(
      s,
      new Date('2025-01-01T00:00:00Z'),
      new Date('2025-12-31T23:59:59Z'),
      20,
    );
    expect(times.map((t) => t.toISOString().slice(5, 10))).toEqual([
      '01-31',
      '03-31',
      '05-31',
      '07-31',
      '08-31',
      '10-31',
      '12-31',
    ]);
  });

  it('@monthly fires at local midnight on the 1st', () => {
    expect(fires(schedule('@monthly'), '2025-01-15T00:00:00Z', 3)).toEqual([
      '2025-02-01T00:00:00Z',
      '2025-03-01T00:00:00Z',
      '2025-04-01T00:00:00Z',
    ]);
    expect(fires(schedule('@monthly', BERLIN), '2025-03-15T00:00:00Z', 2)).toEqual([
      '2025-03-31T22:00:00Z',
      '2025-04-30T22:00:00Z',
    ]);
  });

  it('@weekly fires on Sundays at midnight; 7 and SUN are Sunday too', () => {
    const sundays = ['2025-01-05T00:00:00Z', '2025-01-12T00:00:00Z'];
    for (const expression of ['@weekly', '0 0 * * 0', '0 0 * * 7', '0 0 * * sun']) {
      expect(fires(schedule(expression), '2025-01-01T00:00:00Z', 2), expression).toEqual(sundays);
    }
  });

  it('@yearly, @annually, @daily and @midnight', () => {
    expect(fires(schedule('@yearly'), '2025-06-01T00:00:00Z', 1)).toEqual(['2026-01-01T00:00:00Z']);
    expect(fires(schedule('@annually'), '2025-06-01T00:00:00Z', 1)).toEqual(['2026-01-01T00:00:00Z']);
    expect(fires(schedule('@daily', NEW_YORK), '2025-06-01T12:00:00Z', 1)).toEqual(['2025-06-02T04:00:00Z']);
    expect(fires(schedule('@midnight'), '2025-06-01T12:00:00Z', 1)).toEqual(['2025-06-02T00:00:00Z']);
  });

  it('month and day names, in any case, with ranges', () => {
    expect(fires(schedule('0 9 * jan,Jul MON-FRI'), '2025-06-28T00:00:00Z', 2)).toEqual([
      '2025-07-01T09:00:00Z',
      '2025-07-02T09:00:00Z',
    ]);
  });

  it('matches either day field when both are set, both when one starts with * (as CronJob)', () => {
    // 1 February 2025 is a Saturday; Mondays are 3, 10, 17.
    expect(fires(schedule('0 0 1 * MON'), '2025-01-31T00:00:00Z', 3)).toEqual([
      '2025-02-01T00:00:00Z',
      '2025-02-03T00:00:00Z',
      '2025-02-10T00:00:00Z',
    ]);
    expect(fires(schedule('0 0 */2 * MON'), '2025-01-31T00:00:00Z', 2)).toEqual([
      '2025-02-03T00:00:00Z',
      '2025-02-17T00:00:00Z',
    ]);
  });

  it('steps and ranges with steps', () => {
    expect(fires(schedule('10-40/15 */6 * * *'), '2025-01-01T00:00:00Z', 4)).toEqual([
      '2025-01-01T00:10:00Z',
      '2025-01-01T00:25:00Z',
      '2025-01-01T00:40:00Z',
      '2025-01-01T06:10:00Z',
    ]);
  });
});

describe('next fire and interval', () => {
  it('is strictly after, to the second', () => {
    const s = schedule('* * * * *');
    expect(fires(s, '2025-01-01T00:00:00Z', 1)).toEqual(['2025-01-01T00:01:00Z']);
    expect(fires(s, '2025-01-01T00:00:00.001Z', 1)).toEqual(['2025-01-01T00:01:00Z']);
    expect(fires(s, '2025-01-01T00:00:59.999Z', 1)).toEqual(['2025-01-01T00:01:00Z']);
  });

  it('is the gap between the next two fires', () => {
    expect(intervalSeconds(schedule('*/15 * * * *'), new Date('2025-01-01T00:00:00Z'))).toBe(900);
    expect(intervalSeconds(schedule('0 9,17 * * *'), new Date('2025-01-01T00:00:00Z'))).toBe(8 * 3600);
    expect(intervalSeconds(schedule('30 2 * * *', BERLIN), new Date('2025-03-29T12:00:00Z'))).toBe(
      23.5 * 3600,
    );
  });
});

describe('answers kept from earlier questions', () => {
  it('parses an expression, zone and option once', () => {
    const a = parseSchedule('*/5 * * * *', BERLIN);
    expect(parseSchedule('*/5 * * * *', BERLIN)).toBe(a);
    expect(parseSchedule('*/5 * * * *', NEW_YORK)).not.toBe(a);
    expect(parseSchedule('0 */5 * * * *', BERLIN, { allowSeconds: true }).ok).toBe(true);
    expect(parseSchedule('0 */5 * * * *', BERLIN).ok).toBe(false);
  });

  it('gives the same next fire as croner for instants asked in any order, across DST', () => {
    // A pseudo-random walk through 2025 (fixed seed), backwards and forwards, at millisecond
    // instants, many of them just before or at a fire: each answer must be croner's own.
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const start = Date.parse('2025-01-01T00:00:00Z');
    const year = 365 * 86_400_000;
    for (const [expression, zone, allowSeconds] of [
      ['30 2 * * *', BERLIN, false],
      ['*/15 * * * *', NEW_YORK, false],
      ['0 0 31 * *', BERLIN, false],
      ['*/10 * * * * *', 'UTC', true],
    ] as const) {
      const s = schedule(expression, zone, { allowSeconds });
      let at = start + random() * year;
      for (let i = 0; i < 400; i++) {
        const next = nextFireAfter(s, new Date(at));
        expect(next?.getTime(), `${expression} ${zone} after ${new Date(at).toISOString()}`).toBe(
          s.engine.cron.nextRun(new Date(at))?.getTime(),
        );
        const r = random();
        if (r < 0.3 && next) at = next.getTime() - 1 - Math.floor(random() * 3);
        else if (r < 0.5 && next) at = next.getTime();
        else at = start + random() * year;
      }
    }
  });
});

describe('seconds', () => {
  it('are refused by default', () => {
    expect(parseSchedule('*/5 * * * * *', undefined)).toEqual({
      ok: false,
      message:
        'schedule "*/5 * * * * *" has 6 fields: seconds are not supported, give 5 (minute hour day-of-month month day-of-week)',
    });
  });

  it('are accepted with allowSeconds', () => {
    const s = schedule('*/5 * * * * *', undefined, { allowSeconds: true });
    expect(s.withSeconds).toBe(true);
    expect(fires(s, '2025-01-01T00:00:00.500Z', 3)).toEqual([
      '2025-01-01T00:00:05Z',
      '2025-01-01T00:00:10Z',
      '2025-01-01T00:00:15Z',
    ]);
    expect(countIn(s, '2025-01-01T00:00:00Z', '2025-01-01T01:00:00Z')).toBe(720);
  });

  it('do not make 5 fields mean anything else, nor allow 7', () => {
    expect(
      fires(schedule('0 * * * *', undefined, { allowSeconds: true }), '2025-01-01T00:00:00Z', 1),
    ).toEqual(['2025-01-01T01:00:00Z']);
    expect(parseSchedule('0 0 0 * * * *', undefined, { allowSeconds: true })).toMatchObject({ ok: false });
  });
});

describe('time zones', () => {
  it('default to UTC', () => {
    expect(schedule('0 0 * * *').timeZone).toBe('UTC');
  });

  it('refuses a name that is not an IANA zone, saying so', () => {
    expect(parseSchedule('0 0 * * *', 'Mars/Base')).toEqual({
      ok: false,
      message:
        'timeZone "Mars/Base" is not an IANA time zone name (such as Europe/Berlin or America/New_York)',
    });
    for (const zone of ['', 'Local', '+01:00', 'Europe/Berlinn']) {
      expect(parseSchedule('0 0 * * *', zone), zone).toMatchObject({ ok: false });
    }
  });
});

describe('refused expressions say why', () => {
  it.each([
    ['61 * * * *', 'schedule "61 * * * *": minute 61 is out of range 0-59'],
    ['* 24 * * *', 'schedule "* 24 * * *": hour 24 is out of range 0-23'],
    ['0 0 0 * *', 'schedule "0 0 0 * *": day-of-month 0 is out of range 1-31'],
    ['0 0 * 13 *', 'schedule "0 0 * 13 *": month 13 is out of range 1-12'],
    ['0 0 * * 8', 'schedule "0 0 * * 8": day-of-week 8 is out of range 0-7'],
    ['0-70 * * * *', 'schedule "0-70 * * * *": minute 70 is out of range 0-59'],
    [
      '0 0 * FOO *',
      'schedule "0 0 * FOO *": month "FOO" is not a number: use JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC or numbers',
    ],
    ['MON * * * *', 'schedule "MON * * * *": minute "MON" is not a number'],
    ['0 0 L * *', 'schedule "0 0 L * *": day-of-month "L" is not a number'],
    [
      '0 0 ? * *',
      'schedule "0 0 ? * *": day-of-month "?": use numbers, *, ranges (1-5), steps (*/15, 0-30/5) and lists (1,15)',
    ],
    [
      '0 0 * * 5#2',
      'schedule "0 0 * * 5#2": day-of-week "5#2": use numbers, *, ranges (1-5), steps (*/15, 0-30/5) and lists (1,15)',
    ],
    [
      '1,,2 * * * *',
      'schedule "1,,2 * * * *": minute "1,,2": use numbers, *, ranges (1-5), steps (*/15, 0-30/5) and lists (1,15)',
    ],
    ['5-1 * * * *', 'schedule "5-1 * * * *": From value is larger than to value: \'5-1\''],
    ['*/0 * * * *', 'schedule "*/0 * * * *": illegal stepping: 0'],
    ['*/90 * * * *', 'schedule "*/90 * * * *": steps cannot be greater than maximum value of part (60)'],
    [
      '5/10 * * * *',
      'schedule "5/10 * * * *": stepping with numeric prefix (\'5/10\') is not allowed. Use wildcard (*/step) or range (min-max/step) instead.',
    ],
    ['0 0 30 2 *', 'schedule "0 0 30 2 *" never fires: no such day exists'],
    ['* * * *', 'schedule "* * * *" has 4 fields: give 5 (minute hour day-of-month month day-of-week)'],
    ['daily', 'schedule "daily" has 1 field: give 5 (minute hour day-of-month month day-of-week)'],
    [
      '',
      'schedule "" is empty: give 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily',
    ],
    [
      '@every 1h',
      'schedule "@every 1h" is not a known macro: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    ],
    [
      '@DAILY',
      'schedule "@DAILY" is not a known macro: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    ],
    ['TZ=UTC 0 0 * * *', 'schedule "TZ=UTC 0 0 * * *" names a time zone: set it in timeZone instead'],
  ])('%s', (expression, message) => {
    expect(parseSchedule(expression, undefined)).toEqual({ ok: false, message });
  });
});
