// The DataMoverRestore state machine: a pure function from a restore and the facts observed about its
// source, its target PVC and its Job to the next status and the actions that move it on. No I/O.
//
//   (new) → CreatingTargetPVC → Restoring → Completed | Failed
//
// CreatingTargetPVC resolves whose backups to read, checks policy, creates the new PVC (or checks the
// existing one: there, Bound, mounted by no running pod) and ends when the PVC is ready. Restoring
// runs the restore Job and follows it as a backup's Job is followed (job-status.ts, pod-progress.ts).
// What becomes of a new PVC a restore created and did not complete is target.ts's.
import type { V1Job, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ConditionType as C, Reason } from '../../api/v1alpha1/conditions.js';
import {
  MAX_STATUS_MISMATCHES,
  type DataMoverRestore,
  type DataMoverRestoreStatus,
} from '../../api/v1alpha1/restore.js';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import type { MoverResult } from '../../contract/result.js';
import { trimSlashes } from '../../contract/layout.js';
import { LATEST } from '../../contract/restore.js';
import {
  RESTORED_BY_LABEL,
  RESTORED_BY_NAME_ANNOTATION,
  RESTORED_BY_UID_ANNOTATION,
  boundedName,
  restoreJobName,
} from '../../kube/names.js';
import { DESTINATION_PREFIXES_ANNOTATION, rootAllowed } from '../../jobs/destination.js';
import { PRIVILEGED_MOVERS_ANNOTATION, imageRefused, moverImage } from '../../jobs/job.js';
import {
  buildRestoreJob,
  describeSource,
  restoreBinding,
  type ResolvedSource,
} from '../../jobs/restore-job.js';
import { sizeLike } from '../pvc-size.js';
import { QUEUED_RECHECK_MS } from '../run-cap.js';
import type { Pool, Slot } from '../run-slots.js';
import { jobOutcome, RESTORE_REASON_BY_EXIT } from '../job-status.js';
import { pvcReadyForMover, pvcAgeMs } from '../readiness.js';
import { podProgress, type PodFacts } from '../pod-progress.js';
import { scheduledBackupsOf } from '../schedule/template.js';
import { isTerminal, RunStatusBuilder, type RunConfig } from '../status-builder.js';
import {
  leftover,
  podList,
  targetOwnership,
  targetPvcOf,
  type CleanupAction,
  type LeftoverFacts,
} from './target.js';

export { targetPvcOf };

export type RestoreConfig = RunConfig;

export interface RestoreObserved extends PodFacts, LeftoverFacts {
  /** The schedule of a schedule source, from the cache; null when there is none of that name. */
  schedule?: DataMoverSchedule | null;
  /** The PVC the backups are of; null when it is not in the namespace; undefined: not looked up. */
  sourcePvc?: V1PersistentVolumeClaim | null;
  /** The target PVC; null when it does not exist; undefined: not looked up. */
  target?: V1PersistentVolumeClaim | null;
  /** volumeBindingMode of the target's storage class, when known. */
  targetBindingMode?: string | undefined;
  /**
   * Running pods (not the restore's own) that mount the target; looked up once it is ready, and again
   * on a pass that may create the Job.
   */
  targetUsers?: readonly string[];
  /** Prefixes an administrator allows the namespace besides its own; looked up for a root outside it. */
  allowedDestinationPrefixes?: readonly string[];
  /**
   * Whether the namespace opted in to privileged movers; looked up only for restoreOwners, before the
   * target and again on a pass that may create the Job.
   */
  privilegedMoversAllowed?: boolean;
  /** A Job holds the restore Job's name and is not this restore's. */
  jobNotOurs?: boolean;
  /** Under a run cap, before the Job: whether the restore has a slot (run-cap.ts). */
  slot?: Slot | undefined;
  /** The cap the slot is counted against: the flag's, or the target's StorageClass's own. */
  pool?: Pool | undefined;
}

export type RestoreAction =
  | { type: 'createTargetPvc'; pvc: V1PersistentVolumeClaim }
  | { type: 'createJob'; job: V1Job }
  | CleanupAction;

export interface RestoreDecision {
  status: DataMoverRestoreStatus;
  actions: RestoreAction[];
  /** Run the restore again after this long even if nothing it watches changes (target PVCs are not watched). */
  requeueAfterMs?: number;
}

/** Target PVCs are not ours and not watched: one that is not ready yet is looked at again this often. */
export const TARGET_RECHECK_MS = 2_000;

class Builder extends RunStatusBuilder<DataMoverRestoreStatus> {}

const ms = (t: string | undefined, fallback: Date) => (t ? new Date(t).getTime() : fallback.getTime());

/** The PVC the backups are of. */
export function sourcePvcOf(r: DataMoverRestore): string {
  return r.spec.source.backup?.sourcePvc ?? r.spec.source.schedule!.pvc;
}

/** The namespace of the PVC the backups are of: a backup source may name another one. */
export function sourceNamespaceOf(r: DataMoverRestore): string {
  return r.spec.source.backup?.sourceNamespace ?? r.metadata.namespace;
}

type Problem = { reason: string; message: string; permanent: boolean };

/** Whose backups to read: the spec's own, or a schedule's (the same root rule as its runs). */
export function resolveSource(
  r: DataMoverRestore,
  schedule: DataMoverSchedule | null | undefined,
): ResolvedSource | Problem {
  const { backup, schedule: bySchedule } = r.spec.source;
  if (backup) {
    const namespace = sourceNamespaceOf(r);
    const root = trimSlashes(backup.backupRoot ?? `${namespace}/${backup.sourcePvc}`);
    return { secretName: backup.secretName, root, namespace, sourcePvc: backup.sourcePvc };
  }
  const { name, pvc } = bySchedule!;
  if (!schedule) {
    return {
      reason: Reason.ScheduleNotFound,
      message: `DataMoverSchedule ${name} not found in namespace ${r.metadata.namespace}`,
      permanent: false,
    };
  }
  const only = schedule.spec.sourcePvc;
  if (only !== undefined && only !== pvc) {
    return {
      reason: Reason.ScheduleHasNoSuchPVC,
      message: `DataMoverSchedule ${name} backs up PVC ${only}, not ${pvc}`,
      permanent: true,
    };
  }
  const { secretName, root } = scheduledBackupsOf(schedule, pvc);
  return { secretName: secretName ?? '', root, namespace: r.metadata.namespace, sourcePvc: pvc };
}

const isProblem = (s: ResolvedSource | Problem): s is Problem => 'reason' in s;

/**
 * Whether a pass must read the namespace's annotations: the prefixes an administrator allows (a root
 * outside its own), or the privileged-mover opt-in (restoreOwners), as a DataMover's pass does.
 */
export function needsNamespace(r: DataMoverRestore, schedule: DataMoverSchedule | null | undefined): boolean {
  if (r.spec.restoreOwners) return true;
  const source = resolveSource(r, schedule);
  return !isProblem(source) && !rootAllowed(source.root, r.metadata.namespace, []);
}

function policyViolation(
  r: DataMoverRestore,
  source: ResolvedSource,
  o: RestoreObserved,
  config: RestoreConfig,
): [string, string] | undefined {
  const image = moverImage(r, config);
  const refused = imageRefused(image, config.allowedMoverImages);
  if (refused) return [Reason.ImageNotAllowed, refused];
  // A namespace reads only the backups it may write: its own prefix, or what an administrator allows.
  // Another namespace's backups likewise: only from a root an administrator allows this namespace.
  if (!rootAllowed(source.root, r.metadata.namespace, o.allowedDestinationPrefixes ?? [])) {
    const whose =
      source.namespace === r.metadata.namespace ? '' : ` (the backups of namespace ${source.namespace})`;
    return [
      Reason.DestinationNotAllowed,
      `backup root ${source.root}${whose} is outside the namespace's own prefix ${r.metadata.namespace}/; an administrator may allow it with the namespace annotation ${DESTINATION_PREFIXES_ANNOTATION}`,
    ];
  }
  if (r.spec.restoreOwners && !o.privilegedMoversAllowed) {
    return [
      Reason.PrivilegedMoverNotAllowed,
      `restoreOwners is not allowed in namespace ${r.metadata.namespace}: it runs the restore as root with CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_OVERRIDE, and an administrator must annotate the namespace ${PRIVILEGED_MOVERS_ANNOTATION}=true; without restoreOwners the files belong to the mover's user (securityContext.runAsUser)`,
    ];
  }
  return undefined;
}

/** The new PVC: sized and classed as asked, else as the PVC the backup came from. User data: no owner. */
export function buildTargetPvc(
  r: DataMoverRestore,
  source: V1PersistentVolumeClaim | null | undefined,
): V1PersistentVolumeClaim | Problem {
  const wanted = r.spec.target.newPvc!;
  let size = wanted.size;
  if (!size) {
    const from = sourceNamespaceOf(r);
    if (from !== r.metadata.namespace) {
      return {
        reason: Reason.TargetSizeUnknown,
        message: `the backup is of PVC ${sourcePvcOf(r)} of namespace ${from}, which a restore in ${r.metadata.namespace} does not look at, so the new PVC cannot be sized like it: create the DataMoverRestore again with target.newPvc.size, at least the backup's size`,
        permanent: true,
      };
    }
    if (!source) {
      return {
        reason: Reason.TargetSizeUnknown,
        message: `PVC ${sourcePvcOf(r)}, whose backup this is, is not in namespace ${r.metadata.namespace}, so the new PVC cannot be sized like it: create the DataMoverRestore again with target.newPvc.size, at least the backup's size`,
        permanent: true,
      };
    }
    size = sizeLike(source);
  }
  const storageClassName = wanted.storageClassName ?? source?.spec?.storageClassName;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: wanted.name,
      namespace: r.metadata.namespace,
      labels: { [RESTORED_BY_LABEL]: boundedName(r.metadata.name) },
      annotations: {
        [RESTORED_BY_NAME_ANNOTATION]: r.metadata.name,
        [RESTORED_BY_UID_ANNOTATION]: r.metadata.uid ?? '',
      },
    },
    spec: {
      accessModes: wanted.accessModes ?? source?.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      ...(storageClassName ? { storageClassName } : {}),
      resources: { requests: { storage: size } },
    },
  };
}

function start(r: DataMoverRestore, o: RestoreObserved, b: Builder): RestoreDecision {
  b.enter('CreatingTargetPVC');
  b.status.startTime = o.now.toISOString();
  b.status.targetPvc = targetPvcOf(r);
  const source = resolveSource(r, o.schedule);
  if (!isProblem(source)) b.status.source = describeSource(source);
  b.progressing(Reason.Started, 'restore started');
  return { status: b.status, actions: [], requeueAfterMs: 0 };
}

/** Fails at once when permanent or past the grace period; otherwise Stalled until it ends. */
function waitOrFail(b: Builder, o: RestoreObserved, config: RestoreConfig, p: Problem): RestoreDecision {
  const again = b.waitOrFail(p, config.sourcePvcGracePeriodMs, TARGET_RECHECK_MS);
  return { status: b.status, actions: [], ...(again === undefined ? {} : { requeueAfterMs: again }) };
}

function creatingTarget(
  r: DataMoverRestore,
  o: RestoreObserved,
  b: Builder,
  config: RestoreConfig,
): RestoreDecision {
  const source = resolveSource(r, o.schedule);
  if (isProblem(source)) return waitOrFail(b, o, config, source);
  b.status.source = describeSource(source);
  const policy = policyViolation(r, source, o, config);
  if (policy) return { status: b.fail(...policy).status, actions: [] };
  const name = targetPvcOf(r);
  const target = o.target;
  if (!target) {
    if (r.spec.target.existingPvc) {
      const p = { reason: Reason.TargetPVCNotFound, message: `PVC ${name} not found`, permanent: false };
      return waitOrFail(b, o, config, p);
    }
    const pvc = buildTargetPvc(r, o.sourcePvc);
    if ('reason' in pvc) return { status: b.fail(pvc.reason, pvc.message).status, actions: [] };
    b.progressing(Reason.CreatingTargetPVC, `creating PVC ${name}`);
    return {
      status: b.status,
      actions: [{ type: 'createTargetPvc', pvc }],
      requeueAfterMs: TARGET_RECHECK_MS,
    };
  }
  if (r.spec.target.newPvc) {
    const owner = targetOwnership(target, r);
    if (owner === 'orphan') return leftTarget(r, o, b, config, target);
    if (owner === 'foreign') {
      const message = `PVC ${name} already exists and was not created by this restore; to restore into it, use target.existingPvc (with overwrite: true if it holds data)`;
      return { status: b.fail(Reason.TargetPVCExists, message).status, actions: [] };
    }
  }
  return targetReady(r, o, b, config, target);
}

/**
 * A new PVC's name is held by a PVC another DataMoverRestore created (target.ts decides): restored
 * into as it is, someone's (TargetPVCExists), in use, or being deleted (waited for, then created).
 */
function leftTarget(
  r: DataMoverRestore,
  o: RestoreObserved,
  b: Builder,
  config: RestoreConfig,
  target: V1PersistentVolumeClaim,
): RestoreDecision {
  const verdict = leftover(r, target, o);
  switch (verdict.kind) {
    case 'reuse':
      return targetReady(r, o, b, config, target, verdict.reused);
    case 'exists':
      return { status: b.fail(Reason.TargetPVCExists, verdict.message).status, actions: [] };
    case 'inUse':
      return inUse(b, targetPvcOf(r), verdict.users);
    case 'deleting': {
      const p = { reason: Reason.TargetPVCTerminating, message: verdict.message, permanent: false };
      return waitOrFail(b, o, config, p);
    }
  }
}

function inUse(b: Builder, name: string, users: readonly string[]): RestoreDecision {
  const message = `PVC ${name} is mounted by running pod(s) ${podList(users)}: stop them (scale the workload to 0) and create the DataMoverRestore again`;
  return { status: b.fail(Reason.TargetPVCInUse, message).status, actions: [] };
}

/**
 * What CreatingTargetPVC checked holds until the Job is created, however long the restore waited for
 * its slot since: the namespace still allows restoreOwners, and no running pod mounts the target
 * (both read again on every pass that may create the Job: reconcile.ts). Nothing is written yet.
 */
function changedWhileWaiting(
  r: DataMoverRestore,
  o: RestoreObserved,
  b: Builder,
): RestoreDecision | undefined {
  // A Job created already (the cache does not show it yet): its own pod may mount the target.
  if (b.status.jobName) return undefined;
  const name = targetPvcOf(r);
  const untouched = `no restore Job ran, so nothing was written to PVC ${name}`;
  if (r.spec.restoreOwners && !o.privilegedMoversAllowed) {
    const message = `restoreOwners is no longer allowed in namespace ${r.metadata.namespace}: its annotation ${PRIVILEGED_MOVERS_ANNOTATION}=true was removed while the restore waited to start its Job; ${untouched}`;
    return { status: b.fail(Reason.PrivilegedMoverNotAllowed, message).status, actions: [] };
  }
  const users = o.targetUsers ?? [];
  if (users.length === 0) return undefined;
  const message = `PVC ${name} is now mounted by running pod(s) ${podList(users)}, started while the restore waited to start its Job; ${untouched}: stop them (scale the workload to 0) and create the DataMoverRestore again`;
  return { status: b.fail(Reason.TargetPVCInUse, message).status, actions: [] };
}

/** `reused`: the target is another restore's leftover (leftTarget), named so in messages. */
function targetReady(
  r: DataMoverRestore,
  o: RestoreObserved,
  b: Builder,
  config: RestoreConfig,
  target: V1PersistentVolumeClaim,
  reused?: string,
): RestoreDecision {
  const name = targetPvcOf(r);
  if (target.metadata?.deletionTimestamp)
    return {
      status: b.fail(Reason.TargetPVCTerminating, `PVC ${name} is being deleted`).status,
      actions: [],
    };
  if (target.status?.phase === 'Lost')
    return { status: b.fail(Reason.TargetPVCNotBound, `PVC ${name} lost its volume`).status, actions: [] };
  if (pvcReadyForMover(target, o.targetBindingMode)) {
    const users = o.targetUsers ?? [];
    if (users.length > 0) return inUse(b, name, users);
    b.enter('Restoring');
    const storageClass = target.spec?.storageClassName;
    if (storageClass) b.status.targetStorageClass = storageClass;
    b.progressing(Reason.Restoring, `${reused ?? `PVC ${name}`} is ready; starting the restore`);
    return { status: b.status, actions: [], requeueAfterMs: 0 };
  }
  // A PVC left by another restore may be old: its time to bind counts from this restore's start.
  const waited = reused ? o.now.getTime() - ms(b.status.phaseStartTime, o.now) : pvcAgeMs(target, o.now);
  if (waited >= config.cloneProvisionTimeoutMs) {
    const message = `PVC ${name} was not bound within ${config.cloneProvisionTimeoutMs / 1000}s`;
    return { status: b.fail(Reason.TargetPVCNotBound, message).status, actions: [] };
  }
  if (waited >= config.cloneStallAfterMs)
    b.stalled(Reason.TargetPVCNotBound, `${reused ?? `PVC ${name}`} is not bound yet`);
  else
    b.progressing(Reason.CreatingTargetPVC, reused ? `${reused} is not bound yet` : `creating PVC ${name}`);
  const next = waited >= config.cloneStallAfterMs ? config.cloneProvisionTimeoutMs : config.cloneStallAfterMs;
  return { status: b.status, actions: [], requeueAfterMs: Math.min(TARGET_RECHECK_MS, next - waited) };
}

/** status fields from the mover's report: the restore's own, or a plain report's counts. */
function recordReport(b: Builder, result: MoverResult | undefined): void {
  const report = result?.restore;
  if (report) {
    b.status.run = report.run;
    b.status.bytesRestored = report.bytes;
    b.status.filesRestored = report.files;
    b.status.filesVerified = report.verified;
    b.status.mismatches = report.mismatches;
    b.status.mismatchedFiles = report.mismatched.slice(0, MAX_STATUS_MISMATCHES);
    b.status.ownersNotApplied = report.notApplied?.count ?? 0;
    if (report.notApplied?.count)
      b.status.ownersNotAppliedFiles = report.notApplied.named.slice(0, MAX_STATUS_MISMATCHES);
    else delete b.status.ownersNotAppliedFiles;
    return;
  }
  if (result?.bytes !== undefined) b.status.bytesRestored = result.bytes;
  if (result?.files !== undefined) b.status.filesRestored = result.files;
}

/** Restoring without a Job: the source, what was checked before (still true), a slot; then the Job. */
function startJob(
  r: DataMoverRestore,
  o: RestoreObserved,
  b: Builder,
  config: RestoreConfig,
): RestoreDecision {
  // A place in the slot queue is only for a restore that waits for nothing else (set again below).
  delete b.status.queuePosition;
  const source = resolveSource(r, o.schedule);
  if (isProblem(source)) return waitOrFail(b, o, config, source);
  const changed = changedWhileWaiting(r, o, b);
  if (changed) return changed;
  if (o.slot && !o.slot.admitted)
    return { status: b.queued(o.slot, o.pool!).status, actions: [], requeueAfterMs: QUEUED_RECHECK_MS };
  const jobName = restoreJobName(r);
  b.status.jobName = jobName;
  // What the Job is given to read: its report must name the same root (restoreBinding).
  b.status.source = describeSource(source);
  b.progressing(Reason.Restoring, `restore Job ${jobName} is running`);
  return {
    status: b.status,
    actions: [{ type: 'createJob', job: buildRestoreJob(r, source, targetPvcOf(r), config) }],
  };
}

function restoring(
  r: DataMoverRestore,
  o: RestoreObserved,
  b: Builder,
  config: RestoreConfig,
): RestoreDecision {
  const jobName = restoreJobName(r);
  if (o.jobNotOurs) {
    const message = `Job ${r.metadata.namespace}/${jobName} already exists and is not owned by this DataMoverRestore (uid ${r.metadata.uid}); delete or rename it`;
    return { status: b.fail(Reason.NameConflict, message).status, actions: [] };
  }
  const job = o.job;
  if (!job) return startJob(r, o, b, config);
  b.status.jobName = job.metadata?.name ?? jobName;
  const outcome = jobOutcome(job, o.pods, {
    expected: restoreBinding(r),
    now: o.now,
    reasons: RESTORE_REASON_BY_EXIT,
    logTail: o.moverLogTail,
  });
  if (outcome.kind === 'succeeded') {
    recordReport(b, outcome.result);
    const run = b.status.run ?? r.spec.run ?? LATEST;
    const verified =
      b.status.filesVerified !== undefined ? `, ${b.status.filesVerified} entries verified` : '';
    const owners = ownersOutcome(r, b.status);
    b.complete(
      `restored ${b.status.source ?? ''}${run}/ into PVC ${targetPvcOf(r)}${verified}${owners.status === 'False' ? `; ${owners.message}` : ''}`,
    );
    b.condition(C.OwnersRestored, owners.status, owners.reason, owners.message);
    // The finished pod still names the PVC: the Job goes, so nothing but the user's pods holds it.
    return { status: b.status, actions: [{ type: 'deleteJob', name: b.status.jobName }] };
  }
  if (outcome.kind === 'failed') {
    recordReport(b, outcome.result);
    const named = b.status.mismatchedFiles?.length
      ? `; first mismatches: ${b.status.mismatchedFiles.join(', ')}`
      : '';
    return { status: b.fail(outcome.reason, `${outcome.message}${named}`).status, actions: [] };
  }
  const p = podProgress(o, b, config, 'restore');
  const recheck = Math.min(p.requeueAfterMs ?? Infinity, outcome.recheckMs ?? Infinity);
  return {
    status: p.status,
    actions: p.deleteJob ? [{ type: 'deleteJob', name: p.deleteJob }] : [],
    ...(recheck !== Infinity ? { requeueAfterMs: recheck } : {}),
  };
}

/**
 * Whether a completed restore gave every entry the backup's owner. A mover that was not asked to
 * (restoreOwners) and is not root cannot chown: it reports how many entries kept its own owner, and
 * the restore says so (this condition, the message, an OwnersNotApplied Warning event) rather than
 * completing silently with every file owned by 65534.
 */
export function ownersOutcome(
  r: DataMoverRestore,
  status: DataMoverRestoreStatus,
): { status: 'True' | 'False'; reason: string; message: string } {
  const count = status.ownersNotApplied ?? 0;
  if (count === 0) {
    const how = r.spec.restoreOwners ? ' (restored and verified)' : '';
    return {
      status: 'True',
      reason: Reason.OwnersApplied,
      message: `every entry has the backup's owner${how}`,
    };
  }
  const first = status.ownersNotAppliedFiles ?? [];
  const named = first.length ? `: ${first.join('; ')}${count > first.length ? '; …' : ''}` : '';
  return {
    status: 'False',
    reason: Reason.OwnersNotApplied,
    message: `could not apply the owner of ${count} entr${count === 1 ? 'y' : 'ies'} (the mover is not root; set spec.restoreOwners: true, allowed by the namespace annotation ${PRIVILEGED_MOVERS_ANNOTATION}=true, or securityContext.runAsUser to the application's user)${named}`,
  };
}

export function decideRestore(
  r: DataMoverRestore,
  o: RestoreObserved,
  config: RestoreConfig,
): RestoreDecision {
  if (r.status && isTerminal(r.status.phase)) return { status: r.status, actions: [] };
  const b = new Builder(r, o.now);
  if (!r.status?.phase) return start(r, o, b);
  return r.status.phase === 'CreatingTargetPVC'
    ? creatingTarget(r, o, b, config)
    : restoring(r, o, b, config);
}

/** A create the apiserver refused for good (invalid, forbidden, quota): the restore fails. */
export function restoreActionRefused(
  r: DataMoverRestore,
  status: DataMoverRestoreStatus,
  action: 'createTargetPvc' | 'createJob',
  message: string,
  now: Date,
  nameConflict = false,
): DataMoverRestoreStatus {
  const b = new Builder({ ...r, status }, now);
  if (action === 'createTargetPvc')
    return b.fail(Reason.TargetPVCCreationFailed, `PVC could not be created: ${message}`).status;
  delete b.status.jobName;
  if (nameConflict) return b.fail(Reason.NameConflict, message).status;
  return b.fail(Reason.JobCreationFailed, `restore Job could not be created: ${message}`).status;
}
