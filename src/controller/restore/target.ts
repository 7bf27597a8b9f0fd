// A restore's target PVC: whose it is, and what becomes of a new PVC a restore created when that
// restore does not complete. Pure: the restore machine (machine.ts) and its reconciler use it.
//
// The new PVC a restore creates carries its name and UID (buildTargetPvc), so a retry is never blocked
// by it:
//   - a restore that fails deletes the new PVC it created, and its Job (afterFailure);
//   - a new restore whose PVC name is held by a PVC another restore created and left (that restore is
//     gone or Failed) restores into it as it is, never replacing anything (leftover).
// A PVC a restore did not create, and the PVC a Completed restore filled, are never deleted.
import type { V1Job, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { DataMoverRestore, DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import {
  RESTORED_BY_LABEL,
  RESTORED_BY_NAME_ANNOTATION,
  RESTORED_BY_UID_ANNOTATION,
  boundedName,
  type Ownership,
} from '../../kube/names.js';

/** The PVC restored into. */
export function targetPvcOf(r: DataMoverRestore): string {
  return r.spec.target.newPvc?.name ?? r.spec.target.existingPvc!;
}

/** The DataMoverRestore that created a PVC, as its label and annotations (buildTargetPvc) name it. */
export function restoredBy(pvc: V1PersistentVolumeClaim): { name: string; uid: string } | undefined {
  const name = pvc.metadata?.annotations?.[RESTORED_BY_NAME_ANNOTATION];
  const uid = pvc.metadata?.annotations?.[RESTORED_BY_UID_ANNOTATION];
  if (!name || !uid || pvc.metadata?.labels?.[RESTORED_BY_LABEL] !== boundedName(name)) return undefined;
  return { name, uid };
}

/**
 * Whose a PVC holding a new target's name is, in the words of a DataMover's children (names.ts): this
 * restore created it (its UID), another DataMoverRestore did and left it, or anyone else.
 */
export function targetOwnership(pvc: V1PersistentVolumeClaim, r: DataMoverRestore): Ownership {
  const uid = pvc.metadata?.annotations?.[RESTORED_BY_UID_ANNOTATION];
  if (uid !== undefined && uid === r.metadata.uid) return 'ours';
  return restoredBy(pvc) ? 'orphan' : 'foreign';
}

export const podList = (users: readonly string[]) =>
  users.slice(0, 5).join(', ') + (users.length > 5 ? ` and ${users.length - 5} more` : '');

/** What a restore whose PVC name another restore's leftover holds knows about it (from the cache). */
export interface LeftoverFacts {
  /** The restore that created it (same name and UID), or null when it is gone. */
  creator?: DataMoverRestore | null | undefined;
  /** The other DataMoverRestores of the namespace whose status names the PVC as theirs. */
  otherRestores?: readonly DataMoverRestore[] | undefined;
  /** Running pods that mount it. */
  targetUsers?: readonly string[] | undefined;
}

export type LeftoverVerdict =
  /** Restore into it as it is; `reused` names it in messages. */
  | { kind: 'reuse'; reused: string }
  /** Fail TargetPVCExists: it is someone's. */
  | { kind: 'exists'; message: string }
  /** Wait until it is gone (a failed restore deleting its own), then create it again. */
  | { kind: 'deleting'; message: string }
  /** Fail TargetPVCInUse naming these pods. */
  | { kind: 'inUse'; users: readonly string[] };

const createdAt = (r: DataMoverRestore) => new Date(r.metadata.creationTimestamp ?? 0).getTime();

/** Whether `other`, restoring into the same PVC, goes first: it is at it already, or started first. */
function goesFirst(other: DataMoverRestore, r: DataMoverRestore): boolean {
  const phase = other.status?.phase;
  if (phase === 'Restoring' || phase === 'Completed') return true;
  if (phase !== 'CreatingTargetPVC') return false;
  const [a, b] = [createdAt(other), createdAt(r)];
  return a < b || (a === b && other.metadata.name < r.metadata.name);
}

/**
 * A new PVC's name is held by a PVC another DataMoverRestore created. It is restored into as it is
 * when that restore is gone or Failed (it did not complete into it, or is not there to say), no other
 * restore uses it or completed into it, and no pod mounts it. Nothing is replaced: the mover refuses
 * a volume that is not empty, and a restore that sets overwrite is refused here (a restore that is
 * gone may have completed into the PVC, and the PVC is then someone's data).
 */
export function leftover(
  r: DataMoverRestore,
  target: V1PersistentVolumeClaim,
  facts: LeftoverFacts,
): LeftoverVerdict {
  const name = targetPvcOf(r);
  const by = `DataMoverRestore ${restoredBy(target)!.name}`;
  const exists = (why: string): LeftoverVerdict => ({
    kind: 'exists',
    message: `PVC ${name} already exists: ${why}; restore into another new PVC, or into this one with target.existingPvc`,
  });
  const prior = facts.creator;
  if (prior && prior.status?.phase !== 'Failed') {
    const doing = prior.status?.phase === 'Completed' ? 'restored into it' : 'is restoring into it';
    return exists(`${by} created it and ${doing}`);
  }
  const other = (facts.otherRestores ?? []).find(
    (x) => x.metadata.uid !== r.metadata.uid && x.metadata.uid !== prior?.metadata.uid && goesFirst(x, r),
  );
  if (other) {
    const doing = other.status?.phase === 'Completed' ? 'restored into it' : 'is restoring into it';
    return exists(`DataMoverRestore ${other.metadata.name} ${doing}`);
  }
  const gone = prior ? 'it failed' : 'it is gone';
  const reused = `PVC ${name}, which ${by} created and left (${gone}),`;
  if (target.metadata?.deletionTimestamp)
    return { kind: 'deleting', message: `${reused} is being deleted; it is created again once it is gone` };
  if (r.spec.overwrite) {
    return exists(
      `${by} created it and left it (${gone}), and this restore sets overwrite: a PVC it did not create is never overwritten (without overwrite, it restores into that PVC if it is empty)`,
    );
  }
  const users = facts.targetUsers ?? [];
  return users.length > 0 ? { kind: 'inUse', users } : { kind: 'reuse', reused };
}

/** The deletions a failed restore makes: its Job and the PVC it created, each by UID. */
export type CleanupAction =
  { type: 'deleteJob'; name: string; uid?: string } | { type: 'deleteTargetPvc'; name: string; uid: string };

/** What a pass that failed the restore looked up about its target, for afterFailure. */
export interface FailedTarget {
  /** The target PVC; null when it is not there. */
  target: V1PersistentVolumeClaim | null;
  /** Running pods, but the restore's own, that mount it. */
  users: readonly string[];
  /** The restore's Job, when it has one. */
  job?: V1Job | undefined;
}

/** `status` with `note` added to its message, and to the conditions that carry that message. */
function noted(status: DataMoverRestoreStatus, note: string): DataMoverRestoreStatus {
  const before = status.message ?? '';
  const message = before ? `${before}; ${note}` : note;
  const conditions = status.conditions?.map((c) => (c.message === before ? { ...c, message } : c));
  return { ...status, message, ...(conditions ? { conditions } : {}) };
}

/**
 * A restore that has just failed (`status`; `r` holds the status before) deletes the new PVC it
 * created (its UID on the PVC), so that a new restore can create it again: the restore did not
 * complete, so the PVC holds no restore (at most part of one), and the backup is where it was. Its
 * Job goes too, since the Job's finished pod would keep the PVC from going. Both are deleted with a
 * UID precondition, so never another object of the name. Kept: a PVC a running pod mounts (someone
 * uses it), one being deleted, and any PVC the restore did not create (an existing one, another
 * restore's leftover it restored into, anyone else's). A Completed restore never comes here.
 */
export function afterFailure(
  r: DataMoverRestore,
  status: DataMoverRestoreStatus,
  f: FailedTarget,
): { status: DataMoverRestoreStatus; actions: CleanupAction[] } {
  const nothing = { status, actions: [] };
  const target = f.target;
  const uid = target?.metadata?.uid;
  if (status.phase !== 'Failed' || r.status?.phase === 'Failed' || !r.spec.target.newPvc) return nothing;
  if (!target || !uid || targetOwnership(target, r) !== 'ours' || target.metadata?.deletionTimestamp)
    return nothing;
  const name = targetPvcOf(r);
  if (f.users.length > 0) {
    const note = `kept PVC ${name}, which it created, because running pod(s) ${podList(f.users)} mount it`;
    return { status: noted(status, note), actions: [] };
  }
  const actions: CleanupAction[] = [];
  const job = f.job?.metadata;
  if (job?.name) actions.push({ type: 'deleteJob', name: job.name, ...(job.uid ? { uid: job.uid } : {}) });
  actions.push({ type: 'deleteTargetPvc', name, uid });
  // Before the Job ran nothing was written; after, at most part of the backup.
  const what =
    r.status?.phase === 'Restoring'
      ? `PVC ${name}, which it had created,`
      : `the empty PVC ${name} it had created`;
  return { status: noted(status, `deleted ${what} so that a new restore can create it again`), actions };
}
