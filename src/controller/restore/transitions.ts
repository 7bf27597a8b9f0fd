// What a DataMoverRestore status write means for metrics and events: derived from the status before
// and after the write, so it is counted once, by the process that made the write.
import { ConditionType as C, Reason } from '../../api/v1alpha1/conditions.js';
import {
  RESTORE_WORK_PHASES,
  type DataMoverRestoreStatus,
  type RestoreWorkPhase,
} from '../../api/v1alpha1/restore.js';
import type { EventRecord } from '../../kube/events.js';
import type { RestoreMetricMove } from './metrics.js';
import { findCondition } from '../conditions.js';
import { phaseEvent, stalledEvent } from '../run-events.js';

const isWork = (p: string | undefined): p is RestoreWorkPhase =>
  RESTORE_WORK_PHASES.includes(p as RestoreWorkPhase);

/** A restore that waited for a slot got one (its Job created): how long it waited, from Restoring. */
function queueWait(before: DataMoverRestoreStatus, after: DataMoverRestoreStatus, now?: Date) {
  if (!now || before.queuePosition === undefined || after.queuePosition !== undefined) return [];
  if (!after.jobName || !after.phaseStartTime) return [];
  const seconds = Math.max(0, (now.getTime() - new Date(after.phaseStartTime).getTime()) / 1000);
  return [{ metric: 'queueWait' as const, seconds }];
}

export function restoreMetricMoves(
  before: DataMoverRestoreStatus,
  after: DataMoverRestoreStatus,
  now?: Date,
): RestoreMetricMove[] {
  const moves: RestoreMetricMove[] = queueWait(before, after, now);
  if (before.phase === after.phase) return moves;
  if (isWork(before.phase))
    moves.push({
      metric: 'operations',
      phase: before.phase,
      status: after.phase === 'Failed' ? 'failure' : 'success',
    });
  if (isWork(after.phase)) moves.push({ metric: 'operations', phase: after.phase, status: 'started' });
  if (
    after.phase === 'Failed' &&
    findCondition(after.conditions, C.Failed)?.reason === Reason.RestoreVerificationFailed
  )
    moves.push({ metric: 'verificationFailure' });
  return moves;
}

/** One event per phase, and a warning when the restore stalls (or stalls for another reason). */
export function restoreEvents(before: DataMoverRestoreStatus, after: DataMoverRestoreStatus): EventRecord[] {
  const events: EventRecord[] = [];
  events.push(...phaseEvent(before, after));
  if (before.phase !== after.phase) {
    // Completed, but some entries kept the mover's owner: never a silent Completed.
    const owners = findCondition(after.conditions, C.OwnersRestored);
    if (after.phase === 'Completed' && owners?.status === 'False')
      events.push({ type: 'Warning', reason: owners.reason, message: owners.message });
  }
  if (!before.jobName && after.jobName && before.phase === after.phase)
    events.push({
      type: 'Normal',
      reason: 'RestoreJobCreated',
      message: `created restore Job ${after.jobName}`,
    });
  events.push(...stalledEvent(before, after));
  return events;
}
