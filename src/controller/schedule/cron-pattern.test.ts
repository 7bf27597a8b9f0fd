import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NEVER_FIRES_PATTERN,
  NOT_TIME_ZONE_PREFIX_PATTERN,
  NOT_TIME_ZONES,
  TIME_ZONE_NAME_PATTERN,
} from '../../api/v1alpha1/cron-pattern.js';
import { CRON_PATTERN, CRON_PATTERN_WITH_SECONDS, parseSchedule } from './cron.js';

const admits = (pattern: string, expression: string) => new RegExp(pattern).test(expression);

const VALID = [
  '* * * * *',
  '0 0 * * *',
  '*/15 * * * *',
  '30 2 * * *',
  '0,30 2 * * *',
  '0 9-17/2 * * 1-5',
  '10-40/15 */6 * * *',
  '59 23 31 12 7',
  '0 0 1 jan,JUL *',
  '0 0 * * MON-FRI',
  '0 0 * * sun',
  '0 0 * JAN-MAR/2 *',
  '0 0 29 2 *',
  '  0 0 * * *  ',
  '0\t0  * * *',
  '@hourly',
  '@daily',
  '@midnight',
  '@weekly',
  '@monthly',
  '@yearly',
  '@annually',
];

/** Admitted by the CRD's pattern, which checks no numeric range, and refused by parseSchedule. */
const ADMITTED_THEN_REFUSED: [string, string][] = [
  ['61 * * * *', 'minute 61 is out of range 0-59'],
  ['* 24 * * *', 'hour 24 is out of range 0-23'],
  ['0 0 0 * *', 'day-of-month 0 is out of range 1-31'],
  ['0 0 * 13 *', 'month 13 is out of range 1-12'],
  ['0 0 * * 8', 'day-of-week 8 is out of range 0-7'],
  ['5-1 * * * *', 'From value is larger than to value'],
  ['*/0 * * * *', 'illegal stepping: 0'],
  ['*/90 * * * *', 'steps cannot be greater than maximum value of part (60)'],
  ['0 0 30 2 *', 'never fires'],
];

const GARBAGE = [
  '',
  ' ',
  '* * * *',
  '* * * * * *',
  '* * * * * * *',
  'daily',
  '@every 1h',
  '@DAILY',
  '@reboot',
  'MON * * * *',
  '0 0 * FOO *',
  '0 0 * JANX *',
  '0 0 L * *',
  '0 0 ? * *',
  '0 0 * * 5#2',
  '0 0 15W * *',
  '1,,2 * * * *',
  ',1 * * * *',
  '5/10 * * * *',
  '100 * * * *',
  '1- * * * *',
  'TZ=UTC 0 0 * * *',
  '0 0 * * *; rm -rf /',
  '0 0 * * *\n0 1 * * *',
];

describe('CRON_PATTERN, the CRD admission rule', () => {
  it('is RE2: no lookaround, no backreferences', () => {
    for (const pattern of [CRON_PATTERN, CRON_PATTERN_WITH_SECONDS]) {
      expect(pattern).not.toMatch(/\(\?[=!<]|\\[1-9]/);
    }
  });

  it.each(VALID)('admits %j, and parseSchedule accepts it', (expression) => {
    expect(admits(CRON_PATTERN, expression)).toBe(true);
    expect(admits(CRON_PATTERN_WITH_SECONDS, expression)).toBe(true);
    expect(parseSchedule(expression, undefined)).toMatchObject({ ok: true });
  });

  it.each(ADMITTED_THEN_REFUSED)('admits %j, which parseSchedule refuses: %s', (expression, reason) => {
    expect(admits(CRON_PATTERN, expression)).toBe(true);
    const parsed = parseSchedule(expression, undefined);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toContain(reason);
  });

  it.each(GARBAGE)('refuses %j, as parseSchedule does', (expression) => {
    expect(admits(CRON_PATTERN, expression)).toBe(false);
    expect(parseSchedule(expression, undefined)).toMatchObject({ ok: false });
  });

  it('with seconds admits a leading seconds field, which parseSchedule takes only with allowSeconds', () => {
    for (const expression of ['*/5 * * * * *', '0 30 2 * * *', '0,30 * * * * MON']) {
      expect(admits(CRON_PATTERN, expression)).toBe(false);
      expect(admits(CRON_PATTERN_WITH_SECONDS, expression)).toBe(true);
      expect(parseSchedule(expression, undefined)).toMatchObject({ ok: false });
      expect(parseSchedule(expression, undefined, { allowSeconds: true })).toMatchObject({ ok: true });
    }
    expect(admits(CRON_PATTERN_WITH_SECONDS, '* * * * * * *')).toBe(false);
  });

  it('admits every generated expression parseSchedule accepts; what it admits parses or is out of range', () => {
    // Mostly small numbers, valid in every field, so that many expressions parse.
    const weighted = <T>(arbitrary: fc.Arbitrary<T>, weight: number) => ({ arbitrary, weight });
    const number = fc.oneof(
      weighted(fc.integer({ min: 1, max: 7 }), 8),
      weighted(fc.integer({ min: 0, max: 99 }), 1),
    );
    const name = fc.constantFrom('JAN', 'jul', 'Dec', 'MON', 'fri', 'SUN', 'FOO');
    const value = fc.oneof(weighted(number.map(String), 12), weighted(name, 1));
    const item = fc.oneof(
      weighted(fc.constant('*'), 4),
      weighted(value, 4),
      weighted(
        fc.tuple(value, value).map(([a, b]) => `${a}-${b}`),
        2,
      ),
      weighted(
        number.map((step) => `*/${step}`),
        2,
      ),
      weighted(
        fc.tuple(value, value, number).map(([a, b, step]) => `${a}-${b}/${step}`),
        1,
      ),
      weighted(fc.constantFrom('L', '?', '5/10', '1#2', ''), 1),
    );
    const field = fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
    const fieldCount = fc.oneof(weighted(fc.constant(5), 6), weighted(fc.integer({ min: 4, max: 6 }), 1));
    const expression = fc
      .tuple(
        fieldCount.chain((n) => fc.array(field, { minLength: n, maxLength: n })),
        fc.constantFrom(' ', '  ', '\t'),
      )
      .map(([fields, blank]) => fields.join(blank));
    fc.assert(
      fc.property(expression, (text) => {
        const parsed = parseSchedule(text, undefined);
        if (parsed.ok) expect(admits(CRON_PATTERN, text)).toBe(true);
        else if (admits(CRON_PATTERN, text)) {
          expect(parsed.message).toMatch(/out of range|larger than|stepping|steps cannot|never fires/);
        }
      }),
      { numRuns: 2000, seed: 20250330 },
    );
  });
});

describe('NEVER_FIRES_PATTERN, the CRD rule against a day that no listed month has', () => {
  const neverFires = (expression: string) => admits(NEVER_FIRES_PATTERN, expression);

  it('is RE2: no lookaround, no backreferences', () => {
    expect(NEVER_FIRES_PATTERN).not.toMatch(/\(\?[=!<]|\\[1-9]/);
  });

  it.each([
    '0 0 30 2 *',
    '0 0 31 2 *',
    '0 0 30,31 FEB *',
    '0 0 30-31 feb */2',
    '0 0 31 4 *',
    '0 0 31 APR,JUN,SEP,NOV *',
    '0 0 31 02,04,06,09,11 *',
    '  15 4\t31  9 *  ',
  ])('matches %j, which the CRD admits and parseSchedule refuses: never fires', (expression) => {
    expect(neverFires(expression)).toBe(true);
    expect(admits(CRON_PATTERN, expression)).toBe(true);
    expect(parseSchedule(expression, undefined)).toMatchObject({
      ok: false,
      message: expect.stringContaining('never fires'),
    });
  });

  it('matches a never-firing expression with a seconds field, which parseSchedule refuses with allowSeconds', () => {
    expect(neverFires('0 0 0 30 2 *')).toBe(true);
    expect(parseSchedule('0 0 0 30 2 *', undefined, { allowSeconds: true })).toMatchObject({ ok: false });
  });

  it.each([
    '0 0 29 2 *',
    '0 0 30 2 MON',
    '0 0 31 2 1-5',
    '0 0 30 4 *',
    '0 0 30,31 4 *',
    '0 0 31 1,2 *',
    '0 0 31 * *',
    '0 0 */30 2 *',
    '0 0 31 2-3 *',
    '0 0 0 30 2 * *',
    '@monthly',
    ...VALID,
  ])('does not match %j, which fires', (expression) => {
    expect(neverFires(expression)).toBe(false);
  });

  it('matches exactly the expressions of single days and months that parseSchedule finds never fire', () => {
    const list = <T extends string>(values: T[]) =>
      fc.array(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
    const dom = list(['29', '30', '31', '30-31', '1']);
    const month = list(['2', '02', 'FEB', 'feb', '4', 'APR', '6', '09', '11', 'nov', '1', '12', '*']);
    const dow = fc.constantFrom('*', '*/2', 'MON', '1-5');
    const blank = fc.constantFrom(' ', '  ', '\t');
    const expression = fc
      .tuple(fc.boolean(), dom, month, dow, blank)
      .map(([seconds, d, m, w, b]) => [...(seconds ? ['0'] : []), '0', '3', d, m, w].join(b));
    fc.assert(
      fc.property(expression, (text) => {
        const parsed = parseSchedule(text, undefined, { allowSeconds: true });
        const never = !parsed.ok && parsed.message.includes('never fires');
        expect(parsed.ok || never, text).toBe(true);
        expect(neverFires(text), text).toBe(never);
      }),
      { numRuns: 500, seed: 20250330 },
    );
  });
});

describe('the CRD rules on timeZone', () => {
  const admitted = (zone: string) =>
    new RegExp(TIME_ZONE_NAME_PATTERN).test(zone) &&
    !(NOT_TIME_ZONES as readonly string[]).includes(zone) &&
    !new RegExp(NOT_TIME_ZONE_PREFIX_PATTERN).test(zone);

  it('admit every zone the operator runs in', () => {
    for (const zone of [...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/GMT+5', 'EST5EDT']) {
      expect(admitted(zone), zone).toBe(true);
      expect(parseSchedule('0 3 * * *', zone).ok, zone).toBe(true);
    }
  });

  it.each([
    'Local',
    'localtime',
    'posixrules',
    'Factory',
    'posix/Europe/Berlin',
    'right/UTC',
    '',
    ' UTC',
    'UTC ',
    '+01:00',
  ])('refuse %j, which parseSchedule refuses', (zone) => {
    expect(admitted(zone)).toBe(false);
    expect(parseSchedule('0 3 * * *', zone)).toMatchObject({
      ok: false,
      message: expect.stringContaining('is not an IANA time zone name'),
    });
  });
});
