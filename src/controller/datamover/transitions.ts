// What a status write means for metrics and events: derived from the status before and after the
// write, so it is counted once by the process that made the write, never on a retry or a restart.
import type { DataMoverStatus, WorkPhase } from '../../api/v1alpha1/schema.js';
import { WORK_PHASES } from '../../api/v1alpha1/schema.js';
import { ConditionType as C, Reason } from '../../api/v1alpha1/conditions.js';
import { findCondition } from '../conditions.js';
import { phaseEvent, stalledEvent } from '../run-events.js';
import type { EventRecord } from '../../kube/events.js';
import type { MetricMove } from './metrics.js';
import { SYNC_FAILURES } from '../job-status.js';

const isWorkPhase = (p: string | undefined): p is WorkPhase => WORK_PHASES.includes(p as WorkPhase);

function phaseChange(before: DataMoverStatus, after: DataMoverStatus): MetricMove[] {
  const from = before.phase;
  const to = after.phase;
  if (from === to) return [];
  const moves: MetricMove[] = [];
  if (isWorkPhase(from)) {
    const status = to === 'Failed' ? 'failure' : 'success';
    moves.push({ metric: 'operations', phase: from, status });
    const started = before.phaseStartTime ? new Date(before.phaseStartTime).getTime() : undefined;
    const ended = after.phaseStartTime ? new Date(after.phaseStartTime).getTime() : undefined;
    if (started !== undefined && ended !== undefined) {
      moves.push({ metric: 'phaseDuration', phase: from, seconds: Math.max(0, (ended - started) / 1000) });
    }
  }
  if (isWorkPhase(to)) moves.push({ metric: 'operations', phase: to, status: 'started' });
  return moves;
}

function moverMoves(before: DataMoverStatus, after: DataMoverStatus): MetricMove[] {
  const moves: MetricMove[] = [];
  if (!before.jobName && after.jobName) moves.push({ metric: 'podCreation', status: 'started' });
  if (before.phase !== 'CreatingPod' || after.phase === 'CreatingPod') return moves;
  if (after.phase === 'Failed') {
    moves.push({ metric: 'podCreation', status: 'failure' });
    if (SYNC_FAILURES.has(findCondition(after.conditions, C.Failed)?.reason ?? '')) {
      moves.push({ metric: 'dataSync', status: 'failure' });
    }
  } else {
    moves.push({ metric: 'podCreation', status: 'success' }, { metric: 'dataSync', status: 'success' });
    if (after.bytesTransferred !== undefined)
      moves.push({ metric: 'syncBytes', bytes: after.bytesTransferred });
    if (after.bytesUploaded !== undefined)
      moves.push({ metric: 'uploadedBytes', bytes: after.bytesUploaded });
  }
  return moves;
}

function cleanupMoves(before: DataMoverStatus, after: DataMoverStatus): MetricMove[] {
  if (before.phase !== 'CleaningUp' || after.phase === 'CleaningUp') return [];
  const cleaned = findCondition(after.conditions, C.CleanedUp);
  if (!cleaned) return [];
  return [{ metric: 'cleanup', status: cleaned.status === 'True' ? 'success' : 'failure' }];
}

/** A prune is reported once, by the write that first shows status.prune. */
function pruneMoves(before: DataMoverStatus, after: DataMoverStatus): MetricMove[] {
  if (before.prune || !after.prune) return [];
  const status = after.prune.error ? 'failure' : 'success';
  return [{ metric: 'prune', status, removed: after.prune.removed }];
}

/** A backup's verification is counted once, by the write that first shows it. */
function verificationMoves(before: DataMoverStatus, after: DataMoverStatus): MetricMove[] {
  if (before.verification || !after.verification) return [];
  return [{ metric: 'syncVerified', result: after.verification.mismatches === 0 ? 'verified' : 'mismatch' }];
}

/** One per DataMover, when it finishes: what a failure rate of runs divides. */
function runMoves(before: DataMoverStatus, after: DataMoverStatus): MetricMove[] {
  if (before.phase === after.phase) return [];
  if (after.phase === 'Completed') return [{ metric: 'run', result: 'completed' }];
  if (after.phase === 'Failed') return [{ metric: 'run', result: 'failed' }];
  return [];
}

/** A run that waited for a slot (--max-concurrent-runs) and got one: how long since its phase began. */
function queueMoves(before: DataMoverStatus, after: DataMoverStatus, now: Date | undefined): MetricMove[] {
  if (!now || before.queuePosition === undefined || after.queuePosition !== undefined) return [];
  // Its first child made: the clone, or with copyMethod Snapshot the snapshot.
  if (!(after.restoredPvcName ?? after.snapshotName) || !after.phaseStartTime) return [];
  const seconds = Math.max(0, (now.getTime() - new Date(after.phaseStartTime).getTime()) / 1000);
  return [{ metric: 'queueWait', seconds }];
}

export function metricMoves(before: DataMoverStatus, after: DataMoverStatus, now?: Date): MetricMove[] {
  return [
    ...queueMoves(before, after, now),
    ...phaseChange(before, after),
    ...moverMoves(before, after),
    ...cleanupMoves(before, after),
    ...pruneMoves(before, after),
    ...runMoves(before, after),
    ...verificationMoves(before, after),
  ];
}

/** Pruned, or PruneFailed as a warning, with the write that first shows status.prune. */
function pruneEvents(before: DataMoverStatus, after: DataMoverStatus): EventRecord[] {
  if (before.prune || !after.prune) return [];
  const { error, message } = after.prune;
  return [
    error
      ? { type: 'Warning', reason: Reason.PruneFailed, message }
      : { type: 'Normal', reason: Reason.Pruned, message },
  ];
}

/** A run's length as kubectl prints ages: `45s`, `12m5s`, `3h4m`. */
export function runLength(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 180) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
}

/** The Completed event's message: the status's, and how long the run took. */
function completedMessage(after: DataMoverStatus, message: string): string {
  if (!after.startTime || !after.completionTime) return message;
  const ms = new Date(after.completionTime).getTime() - new Date(after.startTime).getTime();
  return `${message} (run took ${runLength(ms)})`;
}

/**
 * The story `kubectl describe` tells of a run, in as few requests as it needs: one Normal event when
 * it completes (with how long it took), and a Warning for every failure, stall, failed clean-up and
 * failed prune (plus Pruned). Its start and the phases between are in the status (startTime, phase,
 * message), its conditions and the metrics, not in events: each event is one more request per run,
 * and until 2026-12-04 the start event was one of 8 requests per DataMover.
 */
export function transitionEvents(before: DataMoverStatus, after: DataMoverStatus): EventRecord[] {
  const phase = phaseEvent(before, after)
    .filter((e) => e.type === 'Warning' || after.phase === 'Completed')
    .map((e) => (e.type === 'Normal' ? { ...e, message: completedMessage(after, e.message) } : e));
  const events = [...phase, ...stalledEvent(before, after)];
  const cleaned = findCondition(after.conditions, C.CleanedUp);
  if (cleaned?.status === 'False' && findCondition(before.conditions, C.CleanedUp)?.status !== 'False') {
    events.push({ type: 'Warning', reason: Reason.CleanupFailed, message: cleaned.message });
  }
  return [...events, ...pruneEvents(before, after)];
}
