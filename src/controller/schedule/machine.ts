// What a DataMoverSchedule does next, as a pure function of the schedule, its runs (the DataMovers it
// controls), the PVCs it selects and the time. The reconciler reads, performs the actions and makes
// one status write; nothing here does I/O or reads a clock.
//
// Time is a line of fire times. `status.scheduledThroughTime` is how far along it the schedule has
// got: every fire time up to it has been run, skipped or counted as missed. A pass looks at the fire
// times after it, up to now: the latest one runs (unless it is older than startingDeadlineSeconds),
// the others are missed. So an operator that was down across three fire times makes one catch-up
// run and counts two missed, and a pass repeated after a crash or by a new leader finds the run of
// that fire time already there under its deterministic name, and creates nothing twice.
import type { EventRecord } from '../../kube/events.js';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import {
  ACTIVE_LISTED,
  type ConcurrencyPolicy,
  type DataMoverSchedule,
  type DataMoverScheduleStatus,
} from '../../api/v1alpha1/schedule.js';
import { scheduledRunName } from '../../kube/names.js';
import { setCondition } from '../conditions.js';
import { isTerminal } from '../status-builder.js';
import { countFiresBetween, nextFireAfter, parseSchedule, type CronSchedule } from './cron.js';
import { boundRecords, followSelection, recordRuns, trackCreated } from './records.js';
import { runFor } from './template.js';

export const DEFAULT_SUCCESSFUL_HISTORY = 3;
export const DEFAULT_FAILED_HISTORY = 1;
/** With concurrencyPolicy Allow, runs of one PVC going at once, unless the spec says otherwise. */
export const DEFAULT_MAX_CONCURRENT_RUNS_PER_PVC = 3;
/** Names listed in one event or status message, at most. */
const LISTED = 5;

export const ScheduleReason = {
  Scheduled: 'Scheduled',
  Suspended: 'Suspended',
  InvalidSchedule: 'InvalidSchedule',
  Fired: 'Fired',
  Triggered: 'Triggered',
  MissedRuns: 'MissedRuns',
  RunSkipped: 'RunSkipped',
  RunReplaced: 'RunReplaced',
  NoPVCsSelected: 'NoPVCsSelected',
  TriggerRefused: 'TriggerRefused',
  PVCsUnselected: 'PVCsUnselected',
} as const;

export interface ScheduleConfig {
  /** Accept a 6-field expression with seconds (tests use it to fire every few seconds). */
  allowSeconds: boolean;
  /**
   * How long a PVC the schedule no longer selects keeps its gauges (--unselected-pvc-grace-period);
   * its record goes once that is over and none of its runs is left.
   */
  unselectedGraceMs: number;
}

export interface ScheduleObserved {
  now: Date;
  /** DataMovers whose controller is this schedule (by UID). */
  runs: DataMover[];
  /** The PVCs a selector picks, listed only when a fire is due (dueSince says when). */
  selected?: string[];
}

export type ScheduleAction =
  | { type: 'createRun'; dataMover: DataMover }
  | { type: 'deleteRun'; name: string; uid: string; reason: 'replaced' | 'history' };

export interface ScheduleDecision {
  status: DataMoverScheduleStatus;
  actions: ScheduleAction[];
  /** Told once the status write that records this pass has succeeded. */
  events: EventRecord[];
  /** When the next fire time is due; undefined when nothing is scheduled. */
  requeueAfterMs?: number;
}

const t = (iso: string | undefined) => (iso ? new Date(iso).getTime() : undefined);
const iso = (d: Date) => d.toISOString();
const listed = (names: readonly string[]) =>
  names.length > LISTED
    ? `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more`
    : names.join(', ');

/** The schedule's PVC of a run: from its spec, which the schedule wrote. */
const pvcOf = (run: DataMover) => run.spec.sourcePvc;

/**
 * Since when a run is due at `now`: the latest fire time not yet run, or `now` for a manual
 * trigger; undefined when nothing is due. A list of the selected PVCs started at or after it is as
 * good as one of its own (every PVC there at that moment is in it).
 */
export function dueSince(schedule: DataMoverSchedule, now: Date, config: ScheduleConfig): Date | undefined {
  if (schedule.metadata.deletionTimestamp) return undefined;
  if (triggerPending(schedule)) return now;
  if (schedule.spec.suspend) return undefined;
  const parsed = parseSchedule(schedule.spec.schedule, schedule.spec.timeZone, {
    allowSeconds: config.allowSeconds,
  });
  if (!parsed.ok) return undefined;
  const anchor = anchorOf(schedule, now);
  // The fire times since the anchor: one is enough to know a run is due, the latest says since when.
  const due = countFiresBetween(parsed.schedule, anchor, now, 1);
  return due.count > 0 ? (due.latest ?? now) : undefined;
}

function triggerPending(schedule: DataMoverSchedule): boolean {
  const trigger = schedule.spec.trigger;
  return trigger !== undefined && trigger !== '' && trigger !== schedule.status?.lastTrigger;
}

/** Where the line of fire times is looked at from: the end of the last pass, or creation. */
function anchorOf(schedule: DataMoverSchedule, now: Date): Date {
  const status = schedule.status;
  // Fire times that pass while suspended are neither run nor missed: a resumed schedule starts now.
  if (!schedule.spec.suspend && status?.conditions?.some((c) => c.reason === ScheduleReason.Suspended))
    return now;
  const through = t(status?.scheduledThroughTime);
  if (through !== undefined) return new Date(through);
  const created = t(schedule.metadata.creationTimestamp as unknown as string | undefined);
  return new Date(created ?? now.getTime());
}

/**
 * What one pass reads (the schedule, what was observed, the configuration) and what it builds up:
 * the new status, the actions and the events. The helpers below take it whole.
 */
interface Pass {
  readonly schedule: DataMoverSchedule;
  readonly observed: ScheduleObserved;
  readonly config: ScheduleConfig;
  readonly now: Date;
  readonly status: DataMoverScheduleStatus;
  readonly actions: ScheduleAction[];
  readonly events: EventRecord[];
}

export function decide(
  schedule: DataMoverSchedule,
  observed: ScheduleObserved,
  config: ScheduleConfig,
): ScheduleDecision {
  const { now } = observed;
  const spec = schedule.spec;
  const status: DataMoverScheduleStatus = structuredClone(schedule.status ?? {});
  status.observedGeneration = schedule.metadata.generation;
  const events: EventRecord[] = [];
  const actions: ScheduleAction[] = [];
  const p: Pass = { schedule, observed, config, now, status, actions, events };
  const condition = (type: string, value: 'True' | 'False', reason: string, message: string) => {
    status.conditions = setCondition(
      status.conditions ?? [],
      type,
      value,
      reason,
      message,
      schedule.metadata.generation,
      now,
    );
  };

  status.pvcs = recordRuns(status.pvcs ?? [], observed.runs);
  const newestSuccess = status.pvcs
    .map((r) => t(r.lastSuccessfulTime) ?? 0)
    .reduce((a, b) => Math.max(a, b), 0);
  if (newestSuccess > 0) status.lastSuccessfulTime = new Date(newestSuccess).toISOString();
  const history = historyToPrune(schedule, observed.runs, now);
  actions.push(...history.actions);
  const ttlWake =
    history.wakeAt === undefined ? {} : { requeueAfterMs: Math.max(0, history.wakeAt - now.getTime()) };

  const parsed = parseSchedule(spec.schedule, spec.timeZone, { allowSeconds: config.allowSeconds });
  if (!parsed.ok) {
    delete status.nextScheduleTime;
    status.message = parsed.message;
    condition('Ready', 'False', ScheduleReason.InvalidSchedule, parsed.message);
    condition('Stalled', 'True', ScheduleReason.InvalidSchedule, parsed.message);
    setActive(status, activeRuns(observed.runs, actions));
    const refused = refuseTrigger(schedule, status, `the schedule cannot fire: ${parsed.message}`);
    status.pvcs = boundRecords(status, status.pvcs);
    return {
      status,
      actions,
      events: [...stalledEvent(schedule, parsed.message), ...refused],
      ...ttlWake,
    };
  }
  condition('Stalled', 'False', ScheduleReason.Scheduled, 'the schedule is valid');

  if (spec.suspend) {
    // A manual trigger is a person asking for a run now: it runs even while the schedule sleeps.
    const skipped = runTrigger(p, targetsOf(schedule, observed));
    status.missedRuns = (status.missedRuns ?? 0) + skipped;
    delete status.nextScheduleTime;
    status.message = 'suspended: no runs are created at fire times';
    condition('Ready', 'True', ScheduleReason.Suspended, status.message);
    // Since when it sleeps: the alert on long suspensions reads this condition's transition time.
    condition('Suspended', 'True', ScheduleReason.Suspended, 'spec.suspend is true');
    setActive(status, activeRuns(observed.runs, actions));
    status.pvcs = trackCreated(status.pvcs, createdBy(actions), now);
    if (triggerPending(schedule)) followTargets(p);
    status.pvcs = boundRecords(status, status.pvcs);
    return { status, actions, events, ...ttlWake };
  }

  condition('Suspended', 'False', ScheduleReason.Scheduled, 'the schedule creates runs at fire times');
  const anchor = anchorOf(schedule, now);
  const due = countFiresBetween(parsed.schedule, anchor, now);
  // Where the next pass looks from: the latest due fire time (set by runLatest), or this anchor
  // when it moved without one (a resumed schedule starts from the moment it resumed).
  status.scheduledThroughTime = anchor.toISOString();
  const targets = targetsOf(schedule, observed);
  const listed = due.latest !== undefined || triggerPending(schedule);
  let missed = due.latest ? runLatest(p, due, targets) : 0;
  missed += runTrigger(p, targets);
  status.missedRuns = (status.missedRuns ?? 0) + missed;
  setActive(status, activeRuns(observed.runs, actions));
  status.pvcs = trackCreated(status.pvcs, createdBy(actions), now);
  if (listed) followTargets(p);
  status.pvcs = boundRecords(status, status.pvcs);

  const next = nextFireAfter(parsed.schedule, new Date(Math.max(now.getTime(), anchor.getTime())));
  if (next) status.nextScheduleTime = iso(next);
  else delete status.nextScheduleTime;
  status.message = next ? `next run at ${iso(next)}` : 'the schedule has no further fire time';
  condition('Ready', 'True', ScheduleReason.Scheduled, status.message);
  return {
    status,
    actions,
    events,
    ...earliest(ttlWake.requeueAfterMs, next ? Math.max(0, next.getTime() - now.getTime()) : undefined),
  };
}

/** A changed spec.trigger runs every target once now; returns the runs skipped by Forbid. */
function runTrigger(p: Pass, targets: readonly string[]): number {
  const { schedule, status } = p;
  if (!triggerPending(schedule)) return 0;
  const trigger = schedule.spec.trigger!;
  status.lastTrigger = trigger;
  // The generation tells a trigger set back to a value used before (a → b → a) from the first a.
  const when = { trigger, generation: schedule.metadata.generation ?? 0 };
  return fire(p, when, targets, 'trigger').skipped;
}

/** A changed trigger that cannot run is answered too: recorded, with a Warning saying why. */
function refuseTrigger(
  schedule: DataMoverSchedule,
  status: DataMoverScheduleStatus,
  why: string,
): EventRecord[] {
  if (!triggerPending(schedule) || schedule.metadata.deletionTimestamp) return [];
  const trigger = schedule.spec.trigger!;
  status.lastTrigger = trigger;
  return [
    {
      type: 'Warning',
      reason: ScheduleReason.TriggerRefused,
      message: `trigger "${trigger}" not run: ${why}`,
    },
  ];
}

/**
 * At a fire (or trigger), the PVC records follow the selector: a PVC no longer selected is marked
 * unselected from now, one selected again is unmarked, and one unselected longer than the grace
 * period whose runs are all gone loses its record. Told once, when PVCs leave.
 */
function followTargets(p: Pass): void {
  const { schedule, observed, status, events, now, config } = p;
  const withRuns = new Set(observed.runs.map(pvcOf));
  const followed = followSelection(
    status.pvcs ?? [],
    targetsOf(schedule, observed),
    withRuns,
    now,
    config.unselectedGraceMs,
  );
  status.pvcs = followed.records;
  if (followed.left.length > 0) {
    events.push({
      type: 'Normal',
      reason: ScheduleReason.PVCsUnselected,
      message: `no longer selected: ${listed(followed.left)}; their recovery-point gauges go after ${Math.round(config.unselectedGraceMs / 1000)}s, their runs stay until the history limits delete them`,
    });
  }
}

/** Runs the latest fire time that is due (unless too late) and counts the ones before it missed. */
function runLatest(
  p: Pass,
  due: { count: number; latest?: Date; capped: boolean },
  targets: readonly string[],
): number {
  const { schedule, now, events, status } = p;
  const latest = due.latest!;
  status.scheduledThroughTime = iso(latest);
  const deadline = schedule.spec.startingDeadlineSeconds;
  const late = deadline !== undefined && now.getTime() - latest.getTime() > deadline * 1000;
  const missed = late ? due.count : due.count - 1;
  if (missed > 0) {
    const more = due.capped ? ' (at least; counting stopped there)' : '';
    events.push({
      type: 'Warning',
      reason: ScheduleReason.MissedRuns,
      message: late
        ? `${missed}${more} fire time(s) passed without a run, the latest at ${iso(latest)}, more than startingDeadlineSeconds (${deadline}) ago`
        : `${missed}${more} fire time(s) passed without a run while the operator was away; running the latest, ${iso(latest)}, now`,
    });
  }
  if (late) return missed;
  const fired = fire(p, latest, targets, 'schedule');
  if (fired.created > 0 || fired.existing > 0) status.lastScheduleTime = iso(latest);
  return missed + fired.skipped;
}

function earliest(...delays: Array<number | undefined>): { requeueAfterMs?: number } {
  const known = delays.filter((d): d is number => d !== undefined);
  return known.length > 0 ? { requeueAfterMs: Math.min(...known) } : {};
}

/** The PVCs a fire backs up: the one named, or those the selector picked (listed when due). */
function targetsOf(schedule: DataMoverSchedule, observed: ScheduleObserved): string[] {
  if (schedule.spec.sourcePvc) return [schedule.spec.sourcePvc];
  return [...new Set(observed.selected ?? [])].sort();
}

/** Creates the runs of one fire time (or trigger) under the concurrency policy. */
function fire(
  p: Pass,
  when: Date | { trigger: string; generation: number },
  targets: readonly string[],
  cause: 'schedule' | 'trigger',
): { created: number; existing: number; skipped: number } {
  const { schedule, actions, events } = p;
  const runs = p.observed.runs;
  const policy: ConcurrencyPolicy = schedule.spec.concurrencyPolicy ?? 'Forbid';
  const allowAtMost = schedule.spec.maxConcurrentRunsPerPvc ?? DEFAULT_MAX_CONCURRENT_RUNS_PER_PVC;
  const label = when instanceof Date ? `fire time ${iso(when)}` : `trigger "${when.trigger}"`;
  if (targets.length === 0) {
    events.push({
      type: 'Warning',
      reason: ScheduleReason.NoPVCsSelected,
      message: `${label}: the selector matches no PVC in namespace ${schedule.metadata.namespace}`,
    });
    return { created: 0, existing: 0, skipped: 0 };
  }
  const created: string[] = [];
  let existing = 0;
  let skipped = 0;
  // Indexed once: a fire over thousands of PVCs does not scan every run for each of them.
  const names = new Set(runs.map((r) => r.metadata.name));
  const goingByPvc = new Map<string, DataMover[]>();
  for (const r of runs) {
    if (isTerminal(r.status?.phase) || r.metadata.deletionTimestamp) continue;
    goingByPvc.set(pvcOf(r), [...(goingByPvc.get(pvcOf(r)) ?? []), r]);
  }
  for (const pvc of targets) {
    const name = scheduledRunName(schedule.metadata.name, pvc, when);
    if (names.has(name)) {
      existing += 1; // made by an earlier pass whose status write was lost, or by another leader
      continue;
    }
    const going = goingByPvc.get(pvc) ?? [];
    const skip = whySkipped(going, policy, allowAtMost);
    if (skip) {
      skipped += 1;
      events.push({
        type: 'Warning',
        reason: ScheduleReason.RunSkipped,
        message: `${label}: PVC ${pvc} skipped, ${skip}; counted as missed`,
      });
      continue;
    }
    if (going.length > 0 && policy === 'Replace') {
      for (const r of going)
        actions.push({
          type: 'deleteRun',
          name: r.metadata.name,
          uid: r.metadata.uid ?? '',
          reason: 'replaced',
        });
      events.push({
        type: 'Normal',
        reason: ScheduleReason.RunReplaced,
        message: `${label}: deleted the unfinished run ${going.map((r) => r.metadata.name).join(', ')} of PVC ${pvc} (concurrencyPolicy Replace)`,
      });
    }
    actions.push({ type: 'createRun', dataMover: runFor(schedule, pvc, when, name) });
    created.push(name);
  }
  if (created.length > 0) {
    events.push({
      type: 'Normal',
      reason: cause === 'trigger' ? ScheduleReason.Triggered : ScheduleReason.Fired,
      message: `${label}: created ${listed(created)}`,
    });
  }
  return { created: created.length, existing, skipped };
}

/** Why a fire skips a PVC whose runs are still going, or undefined when it runs. */
function whySkipped(
  going: readonly DataMover[],
  policy: ConcurrencyPolicy,
  allowAtMost: number,
): string | undefined {
  if (going.length > 0 && policy === 'Forbid')
    return `its run ${going.map((r) => r.metadata.name).join(', ')} is still going (concurrencyPolicy Forbid)`;
  if (going.length >= allowAtMost && policy === 'Allow')
    return `${going.length} of its runs are still going (concurrencyPolicy Allow, maxConcurrentRunsPerPvc ${allowAtMost})`;
  return undefined;
}

/**
 * Finished runs beyond the history limits, per PVC, and those past the template's
 * ttlSecondsAfterFinished (the schedule applies it, not the run: a run deleted before the schedule
 * saw it finish would take its result with it). A run is deleted only once the stored status records
 * it (its PVC's record names a time at least as new). `wakeAt`: when the next TTL runs out.
 */
function historyToPrune(
  schedule: DataMoverSchedule,
  runs: readonly DataMover[],
  now: Date,
): { actions: ScheduleAction[]; wakeAt?: number } {
  const limits = {
    Completed: schedule.spec.successfulRunsHistoryLimit ?? DEFAULT_SUCCESSFUL_HISTORY,
    Failed: schedule.spec.failedRunsHistoryLimit ?? DEFAULT_FAILED_HISTORY,
  };
  const ttl = schedule.spec.template.ttlSecondsAfterFinished;
  const stored = new Map((schedule.status?.pvcs ?? []).map((r) => [r.pvc, r]));
  const byPvc = new Map<string, DataMover[]>();
  for (const run of runs) {
    if (!isTerminal(run.status?.phase) || run.metadata.deletionTimestamp) continue;
    byPvc.set(pvcOf(run), [...(byPvc.get(pvcOf(run)) ?? []), run]);
  }
  const actions: ScheduleAction[] = [];
  let wakeAt: number | undefined;
  for (const [pvc, finished] of byPvc) {
    const record = stored.get(pvc);
    const newestFirst = [...finished].sort(
      (a, b) => (t(b.status?.completionTime) ?? 0) - (t(a.status?.completionTime) ?? 0),
    );
    for (const phase of ['Completed', 'Failed'] as const) {
      // A failure older than the recorded success is superseded: its run may go too.
      const recordedUpTo =
        phase === 'Completed'
          ? t(record?.lastSuccessfulTime)
          : latest(t(record?.lastFailure?.time), t(record?.lastSuccessfulTime));
      newestFirst
        .filter((r) => r.status?.phase === phase)
        .forEach((run, index) => {
          const finishedAt = t(run.status?.completionTime) ?? Infinity;
          const expires = ttl === undefined ? Infinity : finishedAt + ttl * 1000;
          if (index < limits[phase] && expires > now.getTime()) {
            if (expires !== Infinity) wakeAt = Math.min(wakeAt ?? Infinity, expires);
            return;
          }
          if (recordedUpTo === undefined || finishedAt > recordedUpTo) return; // recorded by this pass first
          actions.push({
            type: 'deleteRun',
            name: run.metadata.name,
            uid: run.metadata.uid ?? '',
            reason: 'history',
          });
        });
    }
  }
  return wakeAt === undefined ? { actions } : { actions, wakeAt };
}

const createdBy = (actions: readonly ScheduleAction[]) =>
  actions.flatMap((a) => (a.type === 'createRun' ? [a.dataMover] : []));

const latest = (...times: Array<number | undefined>) => {
  const known = times.filter((x): x is number => x !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
};

/** status.active lists at most ACTIVE_LISTED runs; activeCount counts them all. */
function setActive(status: DataMoverScheduleStatus, going: Array<{ name: string; pvc: string }>): void {
  status.active = going.slice(0, ACTIVE_LISTED);
  status.activeCount = going.length;
}

function activeRuns(runs: readonly DataMover[], actions: readonly ScheduleAction[]) {
  const deleted = new Set(actions.filter((a) => a.type === 'deleteRun').map((a) => a.name));
  const going = runs
    .filter(
      (r) => !isTerminal(r.status?.phase) && !r.metadata.deletionTimestamp && !deleted.has(r.metadata.name),
    )
    .map((r) => ({ name: r.metadata.name, pvc: pvcOf(r) }));
  for (const a of actions)
    if (a.type === 'createRun')
      going.push({ name: a.dataMover.metadata.name, pvc: a.dataMover.spec.sourcePvc });
  return going.sort((a, b) => a.name.localeCompare(b.name));
}

function stalledEvent(schedule: DataMoverSchedule, message: string): EventRecord[] {
  const before = schedule.status?.conditions?.find((c) => c.type === 'Stalled');
  if (
    before?.status === 'True' &&
    before.reason === ScheduleReason.InvalidSchedule &&
    before.message === message
  )
    return [];
  return [{ type: 'Warning', reason: ScheduleReason.InvalidSchedule, message }];
}

export type { CronSchedule };
