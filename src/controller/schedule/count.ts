// Counting a schedule's fire times over a long stretch (catch-up after downtime) without asking
// croner for each one: croner converts every candidate through Intl, about 100 µs a fire, so a cap
// of 100,000 missed fires would block the event loop for ten seconds. Where a zone's UTC offset is
// constant, fire times are plain wall-clock arithmetic on croner's parsed fields (matching days times
// the times of day in range), a few microseconds a day. Around each offset change, where the DST
// rules live, croner itself is asked, so the two paths give croner's answers; cron.test.ts and
// count.test.ts check the arithmetic against croner fire by fire.
import type { Cron, CronPattern } from 'croner';

const DAY = 86_400;

/** croner's objects for one schedule, and what the arithmetic derives from them once. */
export interface FireEngine {
  /** The job croner evaluates, with its DST rules. */
  readonly cron: Cron;
  readonly timeZone: string;
  /** Whether a day must match both day-of-month and day-of-week (else either). */
  readonly domAndDow: boolean;
  /** Times of day that fire, as seconds since local midnight, ascending. */
  readonly timesOfDay: readonly number[];
  readonly pattern: CronPattern;
}

export function timesOfDay(pattern: CronPattern): number[] {
  const times: number[] = [];
  for (let h = 0; h < 24; h++) {
    if (!pattern.hour[h]) continue;
    for (let m = 0; m < 60; m++) {
      if (!pattern.minute[m]) continue;
      for (let s = 0; s < 60; s++) if (pattern.second[s]) times.push(h * 3600 + m * 60 + s);
    }
  }
  return times;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset in seconds at an instant (whole seconds since the epoch). */
export function offsetAt(timeZone: string, epochSeconds: number): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const part: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(new Date(epochSeconds * 1000)))
    part[type] = Number(value);
  const local = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!);
  return local / 1000 - epochSeconds;
}

/**
 * The first instant in (from, limit] whose offset differs from the offset at `from`. Sampled a day
 * apart, then bisected: no zone changes its offset twice within a day and back.
 */
function nextOffsetChange(timeZone: string, from: number, limit: number): number | undefined {
  const offset = offsetAt(timeZone, from);
  for (let low = from; low < limit;) {
    let high = Math.min(low + DAY, limit);
    if (offsetAt(timeZone, high) === offset) {
      low = high;
      continue;
    }
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (offsetAt(timeZone, mid) === offset) low = mid;
      else high = mid;
    }
    return high;
  }
  return undefined;
}

function dayMatches(engine: FireEngine, localDay: number): boolean {
  const date = new Date(localDay * DAY * 1000);
  const { pattern } = engine;
  if (!pattern.month[date.getUTCMonth()]) return false;
  const dom = Boolean(pattern.day[date.getUTCDate() - 1]);
  const dow = Boolean(pattern.dayOfWeek[date.getUTCDay()]);
  return engine.domAndDow ? dom && dow : dom || dow;
}

/** Index of the first time of day at or after `tod`. */
function firstAtOrAfter(times: readonly number[], tod: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (times[mid]! < tod) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface Tally {
  count: number;
  /** The latest fire counted, in epoch seconds. */
  latest: number | undefined;
  /** Counting stopped at the limit: there may be more. */
  stopped: boolean;
}

/** Fires in (after, until] where the offset is `offset` throughout: wall-clock arithmetic. */
function tallyConstantOffset(
  engine: FireEngine,
  after: number,
  until: number,
  offset: number,
  tally: Tally,
  limit: number,
) {
  const times = engine.timesOfDay;
  const firstLocal = after + offset + 1;
  const lastLocal = until + offset;
  for (let day = Math.floor(firstLocal / DAY); day <= Math.floor(lastLocal / DAY); day++) {
    if (!dayMatches(engine, day)) continue;
    const dayStart = day * DAY;
    const from = firstAtOrAfter(times, Math.max(firstLocal - dayStart, 0));
    const to = firstAtOrAfter(times, Math.min(lastLocal - dayStart, DAY - 1) + 1);
    if (to <= from) continue;
    const taken = Math.min(to - from, limit - tally.count);
    tally.count += taken;
    tally.latest = dayStart + times[from + taken - 1]! - offset;
    if (tally.count >= limit) {
      tally.stopped = true;
      return;
    }
  }
}

/** Fires in (after, until], asked of croner one by one: only around an offset change. */
function tallyByCroner(engine: FireEngine, after: number, until: number, tally: Tally, limit: number) {
  for (let at = after; tally.count < limit;) {
    const next = engine.cron.nextRun(new Date(at * 1000));
    if (!next || next.getTime() / 1000 > until) return;
    at = next.getTime() / 1000;
    tally.count++;
    tally.latest = at;
  }
  tally.stopped = true;
}

/**
 * The instants after an offset change that croner must decide: the change itself (a time skipped
 * by spring-forward may fire there) and, after a fall-back of d seconds, the d seconds whose wall
 * clock repeats (a fixed-time schedule fires there only once).
 */
const settledAfterChange = (change: number, before: number, after: number) =>
  change + Math.max(before - after - 1, 0);

/** How many times the schedule fires in (after, until] (epoch seconds), stopping at `limit`. */
export function tallyFires(engine: FireEngine, after: number, until: number, limit: number): Tally {
  const tally: Tally = { count: 0, latest: undefined, stopped: false };
  if (until <= after) return tally;
  const { timeZone } = engine;
  let cursor = after;
  // Starting inside a repeated hour: croner decides up to where the wall clock no longer repeats.
  const lookBack = nextOffsetChange(timeZone, cursor + 1 - DAY, cursor + 1);
  if (lookBack !== undefined) {
    const settled = settledAfterChange(
      lookBack,
      offsetAt(timeZone, lookBack - 1),
      offsetAt(timeZone, lookBack),
    );
    if (settled > cursor) {
      tallyByCroner(engine, cursor, Math.min(settled, until), tally, limit);
      cursor = Math.min(settled, until);
    }
  }
  while (cursor < until && !tally.stopped) {
    const offset = offsetAt(timeZone, cursor + 1);
    const change = nextOffsetChange(timeZone, cursor + 1, until);
    tallyConstantOffset(engine, cursor, change === undefined ? until : change - 1, offset, tally, limit);
    if (change === undefined || tally.stopped) break;
    const settled = Math.min(settledAfterChange(change, offset, offsetAt(timeZone, change)), until);
    tallyByCroner(engine, change - 1, settled, tally, limit);
    cursor = settled;
  }
  return tally;
}
