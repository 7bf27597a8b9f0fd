// When a DataMoverSchedule fires: its cron expression and IANA time zone, read by croner, with the
// checks and messages a user can act on, and the questions the controller asks (the next fire time,
// the fires missed during downtime, the interval for alerts). Pure: every instant is a parameter.
//
// Syntax: 5 fields (minute hour day-of-month month day-of-week) of numbers, *, ranges, steps
// (*/15, 1-10/2) and lists, with JAN-DEC and SUN-SAT names in any case, or a macro (@hourly,
// @daily, @midnight, @weekly, @monthly, @yearly, @annually), as a Kubernetes CronJob takes them.
// croner's own extensions (L, W, #, ?, a year field) are refused so that the CRD's pattern and a
// CronJob agree with what we run; so are "5/10" (a step needs * or a range before it) and "@every".
// Six fields, the first being seconds, only with `allowSeconds` (an operator test-only flag).
// Day-of-month and day-of-week combine as in Vixie cron and CronJob: if either field starts with
// *, a day must match both; otherwise either (croner alone would OR "*/2" with "MON").
//
// Daylight saving time. Times are wall-clock times in the schedule's zone. A schedule whose second,
// minute and hour fields hold no * and no step (30 2 * * *, 0 9,17 * * 1-5) is fixed-time: a time
// skipped by spring-forward fires once at the first instant after the gap (02:30 on the Berlin
// spring-forward day fires at 03:00 CEST, 01:00Z), and a time repeated by fall-back fires once, at
// its first occurrence. Any other schedule is an interval (0 * * * *, */15 * * * *): it follows
// the wall clock, so it does not fire at times that do not exist and fires at both occurrences of a
// repeated time, which keeps hourly and 15-minute schedules firing every real hour and quarter
// hour, none doubled or missing. A wildcard schedule limited to the changing hour (*/15 2 * * *)
// therefore does not fire on the spring-forward day and fires 8 times on the fall-back day, as in
// Vixie cron. These are croner's rules with fixedTimeRule "no-wildcard" (its default,
// "single-value", calls 0,30 2 * * * an interval and skips both runs on the spring-forward day);
// the tests pin each case. Counting fires does arithmetic between offset changes (count.ts) and
// asks croner at each change.
//
// The CRD's CEL rule (CRON_PATTERN) is the first line, refusing garbage at admission without the
// numeric ranges; parseSchedule is the second, with the exact checks and messages.
import { Cron, CronPattern } from 'croner';
import { type FireEngine, tallyFires, timesOfDay } from './count.js';
import {
  FIELDS,
  FIVE_FIELDS,
  SECOND,
  TIME_ZONE_NAME_PATTERN,
  type CronField as Field,
} from '../../api/v1alpha1/cron-pattern.js';

export { CRON_PATTERN, CRON_PATTERN_WITH_SECONDS } from '../../api/v1alpha1/cron-pattern.js';

export interface CronSchedule {
  /** As the user wrote it. */
  readonly expression: string;
  /** The fields croner evaluates: macros expanded, blanks collapsed. */
  readonly fields: string;
  readonly timeZone: string;
  readonly withSeconds: boolean;
  /** Fixed-time (fires once across a DST change) rather than interval; see the header. */
  readonly fixedTime: boolean;
  readonly engine: FireEngine;
}

export type ParsedSchedule = { ok: true; schedule: CronSchedule } | { ok: false; message: string };

export interface ScheduleOptions {
  /** Accept a sixth, leading field of seconds (tests that must fire every few seconds). */
  allowSeconds?: boolean;
}

export const DEFAULT_TIME_ZONE = 'UTC';

/** What Kubernetes CronJob expands its macros to. */
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const ITEM = /^(\*|[0-9A-Z]+(-[0-9A-Z]+)?)(\/[0-9]+)?$/;

/** Why one field is refused, before croner sees it (croner's messages name fields off by one). */
function fieldProblem(text: string, field: Field): string | undefined {
  for (const item of text.toUpperCase().split(',')) {
    const match = ITEM.exec(item);
    if (!match) {
      return `${field.name} "${text}": use numbers, *, ranges (1-5), steps (*/15, 0-30/5) and lists (1,15)`;
    }
    for (const bound of (match[1] ?? '').split('-')) {
      if (bound === '*') continue;
      if (/^[0-9]+$/.test(bound)) {
        const n = Number(bound);
        if (n < field.min || n > field.max) {
          return `${field.name} ${bound} is out of range ${field.min}-${field.max}`;
        }
      } else if (!field.names?.split('|').includes(bound)) {
        const names = field.names ? `: use ${field.names.replaceAll('|', ', ')} or numbers` : '';
        return `${field.name} "${bound}" is not a number${names}`;
      }
    }
  }
  return undefined;
}

/** IANA names start with a letter; Intl also takes offsets such as "+01:00", which have no DST rules. */
const ZONE_NAME = new RegExp(TIME_ZONE_NAME_PATTERN);

function timeZoneProblem(timeZone: string): string | undefined {
  const refused = `timeZone "${timeZone}" is not an IANA time zone name (such as Europe/Berlin or America/New_York)`;
  if (!ZONE_NAME.test(timeZone)) return refused;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return undefined;
  } catch {
    return refused;
  }
}

/** The expression's fields, or why it is refused. */
function fieldsOf(expression: string, allowSeconds: boolean): { fields: string[] } | { problem: string } {
  const trimmed = expression.trim();
  if (trimmed === '')
    return { problem: `is empty: give 5 fields (${FIVE_FIELDS}) or a macro such as @daily` };
  if (trimmed.startsWith('@')) {
    const expanded = MACROS[trimmed];
    if (expanded) return { fields: expanded.split(' ') };
    return { problem: `is not a known macro: use ${Object.keys(MACROS).join(', ')}` };
  }
  if (/^(CRON_)?TZ=/i.test(trimmed)) return { problem: 'names a time zone: set it in timeZone instead' };
  const fields = trimmed.split(/\s+/);
  if (fields.length === 6 && !allowSeconds) {
    return { problem: `has 6 fields: seconds are not supported, give 5 (${FIVE_FIELDS})` };
  }
  if (fields.length !== 5 && !(fields.length === 6 && allowSeconds)) {
    return {
      problem: `has ${fields.length} field${fields.length === 1 ? '' : 's'}: give 5 (${FIVE_FIELDS})`,
    };
  }
  const specs = fields.length === 6 ? [SECOND, ...FIELDS] : FIELDS;
  for (const [i, text] of fields.entries()) {
    const problem = fieldProblem(text, specs[i]!);
    if (problem) return { problem: `: ${problem}` };
  }
  return { fields };
}

const cleanCronerMessage = (error: unknown) =>
  (error instanceof Error ? error.message : String(error))
    .replace(/^CronPattern:\s*/, '')
    .replace(/^Syntax error, /, '');

/** A reference instant for "does it ever fire": any will do, fire times repeat every 400 years. */
const EPOCH_2000 = new Date('2000-01-01T00:00:00Z');

/** Parses kept, at most: more distinct schedules than this only cost a parse each. */
const PARSED_KEPT = 2048;
const parsedKept = new Map<string, ParsedSchedule>();

/**
 * The schedule of an expression and zone, or why it is refused. Pure, so each distinct expression,
 * zone and option is parsed once: every pass and every /metrics scrape asks again, and a parse
 * (an Intl formatter for the zone, two croner objects, a first fire time) costs about 0.3 ms, which
 * is 30 % of the operator's CPU when 100 schedules fire together and /metrics is scraped.
 */
export function parseSchedule(
  expression: string,
  timeZone: string | undefined,
  options: ScheduleOptions = {},
): ParsedSchedule {
  const key = JSON.stringify([expression, timeZone ?? DEFAULT_TIME_ZONE, options.allowSeconds ?? false]);
  const kept = parsedKept.get(key);
  if (kept) return kept;
  const parsed = parseOnce(expression, timeZone, options);
  if (parsedKept.size >= PARSED_KEPT) parsedKept.delete(parsedKept.keys().next().value!);
  parsedKept.set(key, parsed);
  return parsed;
}

function parseOnce(
  expression: string,
  timeZone: string | undefined,
  options: ScheduleOptions,
): ParsedSchedule {
  const zone = timeZone ?? DEFAULT_TIME_ZONE;
  const zoneProblem = timeZoneProblem(zone);
  if (zoneProblem) return { ok: false, message: zoneProblem };
  const parsed = fieldsOf(expression, options.allowSeconds ?? false);
  if ('problem' in parsed) {
    const separator = parsed.problem.startsWith(':') ? '' : ' ';
    return { ok: false, message: `schedule "${expression}"${separator}${parsed.problem}` };
  }
  const { fields } = parsed;
  const dom = fields.at(-3) ?? '';
  const dow = fields.at(-1) ?? '';
  const cronOptions = {
    timezone: zone,
    mode: fields.length === 6 ? ('6-part' as const) : ('5-part' as const),
    fixedTimeRule: 'no-wildcard' as const,
    domAndDow: dom.startsWith('*') || dow.startsWith('*'),
  };
  const text = fields.join(' ');
  let cron: Cron;
  let pattern: CronPattern;
  try {
    cron = new Cron(text, cronOptions);
    pattern = new CronPattern(text, zone, cronOptions);
  } catch (error) {
    return { ok: false, message: `schedule "${expression}": ${cleanCronerMessage(error)}` };
  }
  if (!cron.nextRun(EPOCH_2000)) {
    return { ok: false, message: `schedule "${expression}" never fires: no such day exists` };
  }
  const engine: FireEngine = {
    cron,
    pattern,
    timeZone: zone,
    domAndDow: cronOptions.domAndDow,
    timesOfDay: timesOfDay(pattern),
  };
  return {
    ok: true,
    schedule: {
      expression,
      fields: text,
      timeZone: zone,
      withSeconds: fields.length === 6,
      fixedTime: pattern.isFixedTime,
      engine,
    },
  };
}

/** Answers kept per schedule: a pass asks for the fire after now, a scrape for it and the one after. */
const ANSWERS_KEPT = 2;
const answers = new WeakMap<CronSchedule, Array<{ after: number; next: number }>>();

/**
 * The first fire strictly after `after`; undefined when there is none (before year 10000). If the
 * fire after instant a is n, it is also the fire after every instant in [a, n): such a question is
 * answered from the last ones asked of this schedule instead of croner (about 0.1 ms each).
 */
export function nextFireAfter(schedule: CronSchedule, after: Date): Date | undefined {
  const at = after.getTime();
  const known = answers.get(schedule) ?? [];
  const hit = known.find((k) => k.after <= at && at < k.next);
  if (hit) return new Date(hit.next);
  const next = schedule.engine.cron.nextRun(after) ?? undefined;
  if (next) answers.set(schedule, [{ after: at, next: next.getTime() }, ...known].slice(0, ANSWERS_KEPT));
  return next;
}

/**
 * Fire times counted at most per pass: enough for a year of downtime under an every-5-minutes
 * schedule, far more than anyone catches up, and still bounded.
 */
export const DEFAULT_COUNT_CAP = 100_000;

/**
 * How many fires fell in (afterExclusive, untilInclusive], up to `cap` (then `capped`), and the
 * latest of them, which is the latest in the whole range even when capped. Allocates nothing per
 * fire: a year of an every-minute schedule in Berlin takes about 20 ms. The cost grows with the
 * range rather than the fires: finding the zone's offset changes takes about 4 ms a year of range.
 */
export function countFiresBetween(
  schedule: CronSchedule,
  afterExclusive: Date,
  untilInclusive: Date,
  cap: number = DEFAULT_COUNT_CAP,
): { count: number; latest?: Date; capped: boolean } {
  const after = Math.floor(afterExclusive.getTime() / 1000);
  const until = Math.floor(untilInclusive.getTime() / 1000);
  const tally = tallyFires(schedule.engine, after, until, Math.max(cap, 0) + 1);
  if (tally.count <= cap) {
    return {
      count: tally.count,
      capped: false,
      ...(tally.latest === undefined ? {} : { latest: new Date(tally.latest * 1000) }),
    };
  }
  const latest = latestFireAtOrBefore(schedule, until);
  return { count: cap, capped: true, ...(latest ? { latest } : {}) };
}

/** The latest fire at or before `until` (epoch seconds), found backwards from there by croner. */
function latestFireAtOrBefore(schedule: CronSchedule, until: number): Date | undefined {
  const [previous] = schedule.engine.cron.previousRuns(1, new Date((until + 1) * 1000));
  return previous;
}

/**
 * Seconds between the next two fires after `at`: the schedule's interval there, for alerts such as
 * "no success for 3 intervals". Across a DST change or an uneven schedule it is that one gap.
 */
export function intervalSeconds(schedule: CronSchedule, at: Date): number | undefined {
  const first = nextFireAfter(schedule, at);
  const second = first && nextFireAfter(schedule, first);
  return first && second ? (second.getTime() - first.getTime()) / 1000 : undefined;
}
