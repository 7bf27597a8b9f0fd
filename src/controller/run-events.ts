// The events every kind of run (a DataMover's backup, a DataMoverRestore's restore) tells of a status
// change, in one place: one per phase it enters (a Warning with the failure's reason on Failed), and
// a Warning when it stalls, or stalls for another reason. Each kind adds its own beside them.
import { ConditionType as C, Reason } from '../api/v1alpha1/conditions.js';
import type { EventRecord } from '../kube/events.js';
import { findCondition } from './conditions.js';
import type { RunStatus } from './status-builder.js';

/** The event of the phase the run entered, if it entered one. */
export function phaseEvent(before: RunStatus, after: RunStatus): EventRecord[] {
  if (before.phase === after.phase || !after.phase) return [];
  const message = after.message ?? '';
  if (after.phase === 'Failed') {
    const reason = findCondition(after.conditions, C.Failed)?.reason ?? Reason.Failed;
    return [{ type: 'Warning', reason, message }];
  }
  return [{ type: 'Normal', reason: after.phase, message }];
}

/** A Warning when the run became Stalled, or Stalled for another reason (not when it failed). */
export function stalledEvent(before: RunStatus, after: RunStatus): EventRecord[] {
  const was = findCondition(before.conditions, C.Stalled);
  const is = findCondition(after.conditions, C.Stalled);
  if (after.phase === 'Failed' || is?.status !== 'True') return [];
  if (was?.status === 'True' && was.reason === is.reason) return [];
  return [{ type: 'Warning', reason: is.reason, message: is.message }];
}
