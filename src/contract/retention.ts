// Which backups a keep policy keeps, and which of a root's run folders it may ever touch. Shared by
// the API (which validates spec.retention.keep) and the mover (which prunes the bucket after a
// scheduled run). Pure: no I/O, no clock.
//
// The rules are restic's and k8up's `forget` rules:
//   last N      keeps the N newest backups;
//   hourly N    keeps the newest backup of each of the N most recent hours that have one;
//   daily N     … of each of the N most recent days that have one;
//   weekly N    … of each of the N most recent ISO weeks (Monday to Sunday) that have one;
//   monthly N   … of each of the N most recent calendar months that have one.
// A backup kept by any rule is kept. Periods are computed in UTC, as the run folders are named.
// Unlike restic 0.17 and later, no oldest backup is kept "additionally" when fewer periods than N
// have a backup: the policy keeps what it names and nothing else.
import {
  MIRROR_FOLDER,
  TIMESTAMP_FOLDER,
  UNREADABLE,
  isRunFolderName,
  type MarkerContent,
  type RunMarker,
} from './layout.js';

export const KEEP_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly'] as const;
export type KeepRule = (typeof KEEP_RULES)[number];
export type KeepPolicy = Partial<Record<KeepRule, number>>;

export interface Backup {
  run: string;
  time: Date;
}

export interface Retention {
  /** The backups kept, newest first, with the rules that keep each. */
  keep: Array<{ run: string; reasons: string[] }>;
  /** The runs the policy does not keep, newest first. */
  remove: string[];
}

/** Why a keep policy is unusable, or undefined: bad values, unknown rules, or one that keeps nothing. */
export function invalidKeepPolicy(keep: unknown): string | undefined {
  if (typeof keep !== 'object' || keep === null || Array.isArray(keep)) {
    return 'the keep policy must be an object with last, hourly, daily, weekly or monthly';
  }
  const entries = Object.entries(keep as Record<string, unknown>);
  const unknown = entries.map(([k]) => k).filter((k) => !(KEEP_RULES as readonly string[]).includes(k));
  if (unknown.length > 0) {
    return `the keep policy has unknown rules ${unknown.join(', ')}; it knows ${KEEP_RULES.join(', ')}`;
  }
  for (const [rule, value] of entries) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return `keep.${rule} must be a non-negative integer, not ${JSON.stringify(value)}`;
    }
  }
  if (!entries.some(([, value]) => typeof value === 'number' && value > 0)) {
    return 'the keep policy keeps nothing: set at least one of last, hourly, daily, weekly or monthly above 0';
  }
  return undefined;
}

/** The keep policy in a JSON text (DATAMOVER_KEEP), or a message saying what is wrong with it. */
export function parseKeepPolicy(text: string): { keep: KeepPolicy } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: 'the keep policy is not JSON' };
  }
  const problem = invalidKeepPolicy(raw);
  if (problem) return { error: problem };
  const keep: KeepPolicy = {};
  for (const rule of KEEP_RULES) {
    const value = (raw as KeepPolicy)[rule];
    if (value !== undefined) keep[rule] = value;
  }
  return { keep };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The ISO 8601 week of a UTC day: weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeek(t: Date): string {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const weekday = day.getUTCDay() || 7; // Monday 1 … Sunday 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const year = day.getUTCFullYear();
  const week = Math.floor((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7) + 1;
  return `${year}-W${pad(week)}`;
}

const PERIOD: Record<Exclude<KeepRule, 'last'>, (t: Date) => string> = {
  hourly: (t) => t.toISOString().slice(0, 13),
  daily: (t) => t.toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (t) => t.toISOString().slice(0, 7),
};

/**
 * Applies a keep policy to backups (any order). Deterministic: backups are taken newest first, by
 * time and then by run name, and each rule keeps the first backup it meets in each new period.
 */
export function selectRetention(backups: readonly Backup[], keep: KeepPolicy): Retention {
  const sorted = [...backups].sort(
    (a, b) => b.time.getTime() - a.time.getTime() || (a.run < b.run ? 1 : a.run > b.run ? -1 : 0),
  );
  const left: Record<KeepRule, number> = {
    last: keep.last ?? 0,
    hourly: keep.hourly ?? 0,
    daily: keep.daily ?? 0,
    weekly: keep.weekly ?? 0,
    monthly: keep.monthly ?? 0,
  };
  const lastPeriod: Partial<Record<KeepRule, string>> = {};
  const out: Retention = { keep: [], remove: [] };
  for (const backup of sorted) {
    const reasons: string[] = [];
    if (left.last > 0) {
      left.last -= 1;
      reasons.push('last');
    }
    for (const rule of ['hourly', 'daily', 'weekly', 'monthly'] as const) {
      if (left[rule] === 0) continue;
      const period = PERIOD[rule](backup.time);
      if (period === lastPeriod[rule]) continue;
      lastPeriod[rule] = period;
      left[rule] -= 1;
      reasons.push(rule);
    }
    if (reasons.length > 0) out.keep.push({ run: backup.run, reasons });
    else out.remove.push(backup.run);
  }
  return out;
}

/**
 * The UTC time a timestamp folder names (`YYYY-MM-DD-HHMMSS-<uid8>`, or an older operator's
 * `YYYY-MM-DD-HHMMSS`), or undefined for any other name.
 */
export function timeOfRun(run: string): Date | undefined {
  const m = TIMESTAMP_FOLDER.exec(run);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // 2026-02-30 is no day: only a name that round-trips is a run folder.
  return t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24 && mi < 60 && s < 60 ? t : undefined;
}

/** Whose backups a prune may consider: this schedule's, of this PVC, in this namespace. */
export interface PruneScope {
  namespace: string;
  pvc: string;
  schedule: string;
  /** The run the mover has just written: it always counts and is never removed. */
  current: string;
}

export interface PrunePlan {
  /** Runs kept, newest first, with the rules that keep each (`current` for the run just written). */
  keep: Array<{ run: string; reasons: string[] }>;
  /** Complete runs the policy does not keep, oldest first: deleted in this order. */
  remove: string[];
  /** Runs a crashed earlier prune left marked `Deleting`: their deletion is finished first. */
  finish: string[];
}

/**
 * A marker that makes its folder this schedule's to prune: a run marker of the folder itself, of
 * this namespace, PVC and schedule. Anything else (no marker, an unreadable one, another schedule's,
 * a manual DataMover's, the mirror) is not the prune's business.
 */
function ours(run: string, marker: MarkerContent | undefined, scope: PruneScope): marker is RunMarker {
  return (
    run !== MIRROR_FOLDER &&
    isRunFolderName(run) &&
    marker !== undefined &&
    marker !== UNREADABLE &&
    marker.kind === 'Backup' &&
    marker.run === run &&
    marker.namespace === scope.namespace &&
    marker.pvc === scope.pvc &&
    marker.schedule === scope.schedule
  );
}

/**
 * What a prune does with a root's run folders, given each folder's marker (undefined: none). Only
 * Complete runs of this schedule are weighed by the policy; InProgress runs are left alone (a run
 * still being written, or one that failed: its DataMover reports it); Deleting runs are finished.
 */
export function planPrune(
  markers: ReadonlyMap<string, MarkerContent | undefined>,
  scope: PruneScope,
  keep: KeepPolicy,
): PrunePlan {
  const backups: Backup[] = [];
  const finish: string[] = [];
  for (const [run, marker] of markers) {
    if (run === scope.current || !ours(run, marker, scope)) continue;
    const time = timeOfRun(run);
    if (time === undefined) continue;
    if (marker.state === 'Deleting') finish.push(run);
    else if (marker.state === 'Complete') backups.push({ run, time });
  }
  const currentTime = timeOfRun(scope.current);
  if (currentTime !== undefined) backups.push({ run: scope.current, time: currentTime });
  const selected = selectRetention(backups, keep);
  const remove = selected.remove.filter((r) => r !== scope.current);
  const kept = selected.keep;
  if (currentTime !== undefined && !kept.some((k) => k.run === scope.current)) {
    kept.push({ run: scope.current, reasons: ['current'] });
    // Run names begin with UTC timestamps of one width: their order is their time's (a suffix only
    // orders runs of the same second).
    kept.sort((a, b) => (a.run < b.run ? 1 : -1));
  }
  return { keep: kept, remove: remove.reverse(), finish: finish.sort() };
}

// DATAMOVER_LIVE_RUNS (env.ts, BackupEnv.liveRuns): the UIDs, comma-separated, of the DataMovers that
// exist in the cluster (not being deleted) and back up to the same root, the run's own included. The
// operator always sets it; without it (an older operator) the mover deletes no abandoned run.

/** The UIDs in DATAMOVER_LIVE_RUNS, or undefined when it is absent or blank. */
export function parseLiveRuns(text: string | undefined): Set<string> | undefined {
  const uids = (text ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  return uids.length > 0 ? new Set(uids) : undefined;
}

/** Which runs of a root may be abandoned: this PVC's, in this namespace, of no live DataMover. */
export interface AbandonScope {
  namespace: string;
  pvc: string;
  /** The run the mover has just written, and its DataMover's UID: never abandoned. */
  current: string;
  uid: string;
  /** The UIDs of the DataMovers that still exist and back up to this root (DATAMOVER_LIVE_RUNS). */
  live: ReadonlySet<string>;
}

export interface AbandonPlan {
  /** InProgress runs whose DataMover is gone: marked Abandoned, then deleted. Oldest first. */
  abandon: string[];
  /** Runs an earlier run marked Abandoned, or began to delete as abandoned: deletion finished. */
  finish: string[];
}

/**
 * The root's abandoned runs: timestamped runs of this namespace and PVC, marked InProgress by a
 * DataMover that no longer exists (replaced, or deleted mid-sync), and runs an earlier run found so
 * and did not finish deleting. Never a live DataMover's run, the current one, a Complete run, the
 * mirror (each plain run replaces it), a folder without a readable marker or another PVC's.
 */
export function planAbandoned(
  markers: ReadonlyMap<string, MarkerContent | undefined>,
  scope: AbandonScope,
): AbandonPlan {
  const out: AbandonPlan = { abandon: [], finish: [] };
  for (const [run, m] of markers) {
    if (run === scope.current || run === MIRROR_FOLDER || !isRunFolderName(run)) continue;
    if (m === undefined || m === UNREADABLE || m.kind !== 'Backup' || m.run !== run) continue;
    if (m.namespace !== scope.namespace || m.pvc !== scope.pvc) continue;
    if (m.dataMover.uid === scope.uid || scope.live.has(m.dataMover.uid)) continue;
    if (m.state === 'InProgress') out.abandon.push(run);
    else if (m.state === 'Abandoned' || (m.state === 'Deleting' && m.abandoned !== undefined))
      out.finish.push(run);
  }
  return { abandon: out.abandon.sort(), finish: out.finish.sort() };
}
