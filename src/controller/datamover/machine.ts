// The DataMover state machine: a pure function from a DataMover and the facts observed about its
// source and children to the next status and the actions that move the run on. No I/O happens here.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { DataMover, DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { ConditionType as C, Reason } from '../../api/v1alpha1/conditions.js';
import type { Config } from '../../config.js';
import { cloneName, jobName, snapshotName } from '../../kube/names.js';
import type { VolumeSnapshot } from '../../kube/snapshots.js';
import { backupRoot, describeDestination } from '../../jobs/destination.js';
import { PRIVILEGED_MOVERS_ANNOTATION, backupBinding, buildMoverJob } from '../../jobs/job.js';
import { policyViolation, sourceProblem } from './checks.js';
import type { MoverResult } from '../../contract/result.js';
import { buildClone, buildSnapshot, bySnapshot } from './clone.js';
import { setCondition } from '../conditions.js';
import { jobOutcome, podsStarted, pruneStatus } from '../job-status.js';
import { pvcReadyForMover, pvcAgeMs, stalledRecheckMs } from '../readiness.js';
import { podProgress } from '../pod-progress.js';
import type { RestoreInTheWay } from './restore-guard.js';
import { isTerminal, RunStatusBuilder, type RunConfig } from '../status-builder.js';
import type { Pool, Slot } from '../run-slots.js';
import { QUEUED_RECHECK_MS } from '../run-cap.js';

export type MachineConfig = RunConfig & Pick<Config, 'allowMoverServiceAccount' | 'maxConcurrentRuns'>;

export interface Observed {
  now: Date;
  /** The source PVC; null when it does not exist; undefined when it was not looked up. */
  source?: V1PersistentVolumeClaim | null;
  clone?: V1PersistentVolumeClaim | undefined;
  /** volumeBindingMode of the clone's storage class, when known. */
  cloneBindingMode?: string | undefined;
  /** Latest warning the provisioner reported for the clone. */
  cloneWarning?: string | undefined;
  job?: V1Job | undefined;
  pods: readonly V1Pod[];
  /** Latest warning about the mover Job (such as a FailedCreate refused by admission). */
  jobWarning?: string | undefined;
  /** The mover's last log lines, read only when its Job succeeded without a report (lookups.ts). */
  moverLogTail?: string | undefined;
  /** Whether the namespace opted in to privileged movers; looked up only when one is asked for. */
  privilegedMoversAllowed?: boolean | undefined;
  /**
   * Prefixes an administrator allows the namespace besides its own (an annotation); looked up only
   * for a backup root outside `<namespace>/`.
   */
  allowedDestinationPrefixes?: readonly string[] | undefined;
  /** Name of another DataMover that syncs to the same destination first. */
  destinationBusyWith?: string | undefined;
  /** A restore under way that writes into the source PVC, or reads the root this run prunes. */
  restoreInTheWay?: RestoreInTheWay | undefined;
  /** UIDs of the DataMovers that back up to the same root and still exist; read with the lock. */
  liveRuns?: readonly string[] | undefined;
  /** Objects holding a child's name that are not this DataMover's (see kube/names.ts ownership). */
  notOurs?: readonly NotOurChild[] | undefined;
  /**
   * With copyMethod Snapshot: the run's VolumeSnapshot (not watched: read by the passes that need
   * it); null when there is none; undefined when not looked up.
   */
  snapshot?: VolumeSnapshot | null | undefined;
  /** Under --max-concurrent-runs, before the clone: whether the run has a slot (run-slots.ts). */
  slot?: Slot | undefined;
  /** The cap the slot is counted against: the flag's, or the clone's StorageClass's own. */
  pool?: Pool | undefined;
  /** The StorageClass of the clone to be made, when known (recorded while queued). */
  storageClass?: string | undefined;
}

/** An object holding one of the DataMover's child names without being its child. */
export interface NotOurChild {
  kind: 'PersistentVolumeClaim' | 'Job' | 'VolumeSnapshot';
  name: string;
  uid: string;
  ownership: 'orphan' | 'foreign';
  /** Its deletion has begun (a garbage collector, or us). */
  deleting: boolean;
}

export type Action =
  | { type: 'createSnapshot'; snapshot: VolumeSnapshot }
  | { type: 'deleteSnapshot'; name: string }
  | { type: 'createClone'; clone: V1PersistentVolumeClaim }
  | { type: 'createJob'; job: V1Job }
  | { type: 'deleteJob'; name: string }
  | { type: 'deleteClone'; name: string }
  | { type: 'deleteDataMover' }
  | { type: 'deleteLeftover'; kind: NotOurChild['kind']; name: string; uid: string };

export interface Decision {
  status: DataMoverStatus;
  actions: Action[];
  /** Re-run this DataMover after this long even if nothing it watches changes (deadlines). */
  requeueAfterMs?: number;
  /** When the pass entered a phase and also took its first step: the status of entering alone. */
  entered?: DataMoverStatus;
}

/** Snapshots are not watched (design record 22): one that is not ready, or being deleted, is read again this often. */
export const SNAPSHOT_RECHECK_MS = 2_000;
class StatusBuilder extends RunStatusBuilder<DataMoverStatus> {}

export { PRIVILEGED_MOVERS_ANNOTATION };

function start(dm: DataMover, o: Observed, b: StatusBuilder): Decision {
  b.enter(bySnapshot(dm) ? 'CreatingSnapshot' : 'CreatingClonedPVC');
  b.status.startTime = o.now.toISOString();
  b.status.destination = describeDestination(dm, o.now);
  b.status.attempts = 0;
  b.progressing(Reason.Started, 'backup started');
  return { status: b.status, actions: [] };
}

/**
 * Children are adopted by UID only. An object that holds a child's name without being this
 * DataMover's child fails the run (NameConflict), unless an earlier DataMover of the same name left
 * it: then it is deleted (only that very object: a UID precondition) and the run waits for it to go.
 */
function notOurs(dm: DataMover, o: Observed, b: StatusBuilder): Decision | undefined {
  const found = o.notOurs ?? [];
  const what = (c: NotOurChild) => `${c.kind} ${dm.metadata.namespace}/${c.name}`;
  const foreign = found.find((c) => c.ownership === 'foreign');
  if (foreign) {
    const message = `${what(foreign)} already exists and is not owned by this DataMover (uid ${dm.metadata.uid}); delete or rename it`;
    return { status: b.fail(Reason.NameConflict, message).status, actions: [] };
  }
  if (found.length === 0) return undefined;
  const names = found.map(what).join(' and ');
  b.progressing(
    Reason.WaitingForOldChild,
    `waiting for ${names}, left by an earlier DataMover named ${dm.metadata.name}, to be deleted`,
  );
  const actions: Action[] = found
    .filter((c) => !c.deleting)
    .map((c) => ({ type: 'deleteLeftover', kind: c.kind, name: c.name, uid: c.uid }));
  return { status: b.status, actions };
}

/**
 * Before the first child (a clone, or a snapshot): a restore writing into the source, a source that is
 * not there or not ready, or no slot under the run cap holds the run back.
 */
function waitForSource(dm: DataMover, o: Observed, b: StatusBuilder, config: MachineConfig) {
  if (o.restoreInTheWay?.why === 'writes') {
    const message = `waiting for DataMoverRestore ${o.restoreInTheWay.restore}, which is restoring into PVC ${dm.spec.sourcePvc}: a backup now would copy a half-restored volume`;
    b.progressing(Reason.WaitingForRestore, message);
    return { status: b.status, actions: [] };
  }
  const problem = sourceProblem(dm, o);
  if (problem) {
    const [reason, message, permanent] = problem;
    // Source PVCs are watched: the pass runs again when the source appears or binds, or at the deadline.
    const again = b.waitOrFail({ reason, message, permanent }, config.sourcePvcGracePeriodMs);
    return { status: b.status, actions: [], ...(again === undefined ? {} : { requeueAfterMs: again }) };
  }
  if (o.slot && !o.slot.admitted) return queued(o, o.slot, b);
  return undefined;
}

/**
 * The first steps of the phases that make a child (the snapshot, the clone): the policy, and names
 * held by objects that are not this run's. A place in the slot queue is only for a run that waits for
 * nothing else: it is cleared here and set again by queued().
 */
function checked(dm: DataMover, o: Observed, b: StatusBuilder, config: MachineConfig): Decision | undefined {
  delete b.status.queuePosition;
  delete b.status.queueStorageClass;
  const policy = policyViolation(dm, o, config);
  if (policy) return { status: b.fail(...policy).status, actions: [] };
  return notOurs(dm, o, b);
}

/**
 * copyMethod Snapshot, before the clone: a VolumeSnapshot of the source, created once the run may
 * start, then waited for (ready to use) with the clone's stall and timeout rules and the driver's
 * error in the message. The clone is then made from it (creatingClone).
 */
function creatingSnapshot(dm: DataMover, o: Observed, b: StatusBuilder, config: MachineConfig): Decision {
  const refused = checked(dm, o, b, config);
  if (refused) return refused;
  const name = snapshotName(dm);
  const snapshot = o.snapshot;
  if (!snapshot) {
    delete b.status.snapshotName;
    const waiting = waitForSource(dm, o, b, config);
    if (waiting) return waiting;
    b.progressing(Reason.CreatingSnapshot, `creating snapshot ${name} of PVC ${dm.spec.sourcePvc}`);
    b.status.snapshotName = name;
    return {
      status: b.status,
      actions: [{ type: 'createSnapshot', snapshot: buildSnapshot(dm) }],
      requeueAfterMs: SNAPSHOT_RECHECK_MS,
    };
  }
  b.status.snapshotName = name;
  if (snapshot.status?.readyToUse) {
    b.enter('CreatingClonedPVC');
    b.progressing(Reason.CreatingClone, `snapshot ${name} is ready; creating clone ${cloneName(dm)}`);
    return { status: b.status, actions: [] };
  }
  const created = snapshot.metadata.creationTimestamp;
  const waited = created ? o.now.getTime() - new Date(created).getTime() : 0;
  const error = snapshot.status?.error?.message;
  const detail = error ? `: ${error}` : '';
  if (waited >= config.cloneProvisionTimeoutMs) {
    const message = `snapshot ${name} was not ready within ${config.cloneProvisionTimeoutMs / 1000}s${detail}`;
    return { status: b.fail(Reason.SnapshotTimeout, message).status, actions: [] };
  }
  if (waited >= config.cloneStallAfterMs) {
    b.stalled(Reason.SnapshotNotReady, `snapshot ${name} is not ready yet${detail}`);
    return {
      status: b.status,
      actions: [],
      requeueAfterMs: stalledRecheckMs(waited, config.cloneProvisionTimeoutMs),
    };
  }
  b.progressing(Reason.CreatingSnapshot, `creating snapshot ${name} of PVC ${dm.spec.sourcePvc}`);
  const left = config.cloneStallAfterMs - waited;
  return { status: b.status, actions: [], requeueAfterMs: Math.min(SNAPSHOT_RECHECK_MS, left) };
}

/** A run without a slot waits, before anything is created, with its place (slots freed wake it). */
function queued(o: Observed, slot: Extract<Slot, { admitted: false }>, b: StatusBuilder): Decision {
  if (o.storageClass) b.status.queueStorageClass = o.storageClass;
  b.queued(slot, o.pool!);
  return { status: b.status, actions: [], requeueAfterMs: QUEUED_RECHECK_MS };
}

function creatingClone(dm: DataMover, o: Observed, b: StatusBuilder, config: MachineConfig): Decision {
  // status.restoredPvcName (kubectl's CLONE column) names a clone only once one is created.
  if (!o.clone) delete b.status.restoredPvcName;
  const refused = checked(dm, o, b, config);
  if (refused) return refused;
  if (!o.clone) {
    // A clone from a snapshot copies the volume as the snapshot froze it: a restore since is no matter.
    const waiting = bySnapshot(dm) ? undefined : waitForSource(dm, o, b, config);
    if (waiting) return waiting;
    b.progressing(Reason.CreatingClone, `creating clone ${cloneName(dm)} of PVC ${dm.spec.sourcePvc}`);
    b.status.restoredPvcName = cloneName(dm);
    return { status: b.status, actions: [{ type: 'createClone', clone: buildClone(dm, o.source!) }] };
  }
  b.status.restoredPvcName = cloneName(dm);
  const phase = o.clone.status?.phase;
  if (pvcReadyForMover(o.clone, o.cloneBindingMode)) {
    b.enter('CreatingPod');
    b.progressing(Reason.MoverRunning, `clone ${cloneName(dm)} is ready; starting the mover`);
    return { status: b.status, actions: [] };
  }
  if (phase === 'Lost') {
    return {
      status: b.fail(Reason.CloneNotProvisioned, `clone ${cloneName(dm)} lost its volume`).status,
      actions: [],
    };
  }
  const waited = pvcAgeMs(o.clone, o.now);
  const detail = o.cloneWarning ? `: ${o.cloneWarning}` : '';
  if (waited >= config.cloneProvisionTimeoutMs) {
    const message = `clone ${cloneName(dm)} was not provisioned within ${config.cloneProvisionTimeoutMs / 1000}s${detail}`;
    return { status: b.fail(Reason.CloneProvisioningTimeout, message).status, actions: [] };
  }
  if (waited >= config.cloneStallAfterMs) {
    b.stalled(Reason.CloneNotProvisioned, `clone ${cloneName(dm)} is not provisioned yet${detail}`);
    return {
      status: b.status,
      actions: [],
      requeueAfterMs: stalledRecheckMs(waited, config.cloneProvisionTimeoutMs),
    };
  }
  // Same words as when the clone was created: a clone that binds in time costs no status write.
  b.progressing(Reason.CreatingClone, `creating clone ${cloneName(dm)} of PVC ${dm.spec.sourcePvc}`);
  return { status: b.status, actions: [], requeueAfterMs: config.cloneStallAfterMs - waited };
}

/**
 * The privileged reader was allowed when the clone was made (checked()); a run that waited since, for
 * its destination or a restore, creates its Job only if the namespace still allows it (read again on
 * that pass: lookups.ts). Checked on every pass before the Job, so the run fails as soon as it is seen.
 */
function privilegeTakenBack(dm: DataMover, o: Observed, b: StatusBuilder): Decision | undefined {
  if (!dm.spec.privilegedReader || o.privilegedMoversAllowed) return undefined;
  const message = `privilegedReader is no longer allowed in namespace ${dm.metadata.namespace}: its annotation ${PRIVILEGED_MOVERS_ANNOTATION}=true was removed while the run waited to start its mover; no mover ran and nothing was written to the bucket; clone ${cloneName(dm)}, made before, stays until this DataMover is deleted`;
  return { status: b.fail(Reason.PrivilegedMoverNotAllowed, message).status, actions: [] };
}

function creatingPod(dm: DataMover, o: Observed, b: StatusBuilder, config: MachineConfig): Decision {
  const leftover = notOurs(dm, o, b);
  if (leftover) return leftover;
  const job = o.job;
  if (!job) {
    const revoked = b.status.jobName ? undefined : privilegeTakenBack(dm, o, b);
    if (revoked) return revoked;
    if (!b.status.jobName && o.destinationBusyWith) {
      const message = `waiting for DataMover ${o.destinationBusyWith}, which backs up to ${backupRoot(dm)}/ or a folder inside or around it`;
      b.progressing(Reason.WaitingForDestination, message);
      return { status: b.status, actions: [] };
    }
    if (!b.status.jobName && o.restoreInTheWay?.why === 'reads') {
      const message = `waiting for DataMoverRestore ${o.restoreInTheWay.restore}, which reads backups in ${backupRoot(dm)}/: this run's retention could delete the run it restores`;
      b.progressing(Reason.WaitingForRestore, message);
      return { status: b.status, actions: [] };
    }
    const startTime = new Date(b.status.startTime ?? o.now);
    b.status.jobName = jobName(dm);
    // The first attempt starts now; stating it here saves a status write when the pod appears.
    b.status.attempts = Math.max(b.status.attempts ?? 0, 1);
    b.progressing(Reason.MoverRunning, `mover Job ${jobName(dm)} is running`);
    const moverJob = buildMoverJob(dm, config, startTime, o.liveRuns);
    return { status: b.status, actions: [{ type: 'createJob', job: moverJob }] };
  }
  b.status.jobName = job.metadata?.name ?? jobName(dm);
  // The Job's counts lag its pods (a new pod is not yet active, a finished one is being finalized),
  // so they never count the attempts down.
  b.status.attempts = Math.max(b.status.attempts ?? 0, podsStarted(job.status));
  const outcome = jobOutcome(job, o.pods, {
    expected: backupBinding(dm),
    now: o.now,
    logTail: o.moverLogTail,
  });
  if (outcome.kind === 'succeeded') return moverSucceeded(dm, b, outcome.result);
  if (outcome.kind === 'failed') {
    recordVerification(b, outcome.result);
    return { status: b.fail(outcome.reason, outcome.message).status, actions: [] };
  }
  const progress = moverPodProgress(o, b, config);
  if (outcome.recheckMs === undefined) return progress;
  return { ...progress, requeueAfterMs: Math.min(progress.requeueAfterMs ?? Infinity, outcome.recheckMs) };
}

/** The mover's check of the bucket against the manifest, succeeded or not. */
function recordVerification(b: StatusBuilder, result: MoverResult | undefined): void {
  const v = result?.verify;
  if (!v) return;
  b.status.verification = {
    verified: v.verified,
    mismatches: v.mismatches,
    ...(v.mismatched.length > 0 ? { mismatchedFiles: v.mismatched.slice(0, 10) } : {}),
  };
}

/** A Job whose report proves the run (job-status.ts): what it wrote and verified goes into status. */
function moverSucceeded(dm: DataMover, b: StatusBuilder, result: MoverResult): Decision {
  if (result.bytes !== undefined) b.status.bytesTransferred = result.bytes;
  if (result.files !== undefined) b.status.filesTransferred = result.files;
  if (result.uploaded !== undefined) b.status.bytesUploaded = result.uploaded;
  if (result.base) b.status.incrementalFrom = result.base;
  if (result.prune) b.status.prune = pruneStatus(result.prune);
  recordVerification(b, result);
  if (dm.spec.deletePvcAfterBackup) {
    b.enter('CleaningUp');
    b.progressing(Reason.DeletingClone, `backup done; deleting clone ${cloneName(dm)}`);
    return { status: b.status, actions: [] };
  }
  return {
    status: b.complete(`backed up ${dm.spec.sourcePvc} to ${b.status.destination}`).status,
    actions: [],
  };
}

/** While the Job runs: healthy, or Stalled on a pod that cannot start, and Failed past the timeout. */
function moverPodProgress(o: Observed, b: StatusBuilder, config: MachineConfig): Decision {
  const p = podProgress(o, b, config, 'mover');
  return {
    status: p.status,
    actions: p.deleteJob ? [{ type: 'deleteJob', name: p.deleteJob }] : [],
    ...(p.requeueAfterMs !== undefined ? { requeueAfterMs: p.requeueAfterMs } : {}),
  };
}

function cleaningUp(dm: DataMover, o: Observed, b: StatusBuilder): Decision {
  const name = cloneName(dm);
  b.condition(C.CleanedUp, 'True', Reason.CloneDeleted, `clone ${name} deleted`);
  b.complete(`backed up ${dm.spec.sourcePvc} to ${b.status.destination}; clone deleted`);
  delete b.status.restoredPvcName;
  const actions: Action[] = [];
  // PVC protection keeps a clone while any scheduled pod names it, finished or not: the Job and its
  // pods go first (Background propagation), then the clone.
  if (o.job && !o.job.metadata?.deletionTimestamp)
    actions.push({ type: 'deleteJob', name: o.job.metadata!.name! });
  if (o.clone && !o.clone.metadata?.deletionTimestamp) actions.push({ type: 'deleteClone', name });
  actions.push(...snapshotGoes(o));
  return { status: b.status, actions };
}

/** The run's snapshot, once the run has ended: deleted (the clone made from it needs it no more). */
function snapshotGoes(o: Observed): Action[] {
  const snapshot = o.snapshot;
  if (!snapshot || snapshot.metadata.deletionTimestamp) return [];
  return [{ type: 'deleteSnapshot', name: snapshot.metadata.name }];
}

function finished(dm: DataMover, o: Observed): Decision {
  let status = dm.status ?? {};
  // A clone deleted since (by hand; or being deleted) is no longer named.
  if (status.restoredPvcName && (!o.clone || o.clone.metadata?.deletionTimestamp)) {
    status = { ...status };
    delete status.restoredPvcName;
  }
  // The snapshot goes once the run has ended, and is named until it is gone.
  if (status.snapshotName && o.snapshot !== undefined) {
    if (o.snapshot === null) {
      status = { ...status };
      delete status.snapshotName;
    } else return { status, actions: snapshotGoes(o), requeueAfterMs: SNAPSHOT_RECHECK_MS };
  }
  const ttl = dm.spec.ttlSecondsAfterFinished;
  if (ttl === undefined || !status.completionTime) return { status, actions: [] };
  const due = new Date(status.completionTime).getTime() + ttl * 1000;
  if (o.now.getTime() >= due) return { status, actions: [{ type: 'deleteDataMover' }] };
  return { status, actions: [], requeueAfterMs: due - o.now.getTime() };
}

type Step = (dm: DataMover, o: Observed, b: StatusBuilder, config: MachineConfig) => Decision;

/** The step of each phase a backup works in, and of a DataMover that has not started (`new`). */
const STEPS: Readonly<Record<string, Step>> = {
  new: start,
  CreatingSnapshot: creatingSnapshot,
  CreatingClonedPVC: creatingClone,
  CreatingPod: creatingPod,
  CleaningUp: cleaningUp,
};

function step(dm: DataMover, observed: Observed, config: MachineConfig): Decision {
  const b = new StatusBuilder(dm, observed.now);
  const phase = dm.status?.phase ?? 'new';
  const next = STEPS[phase];
  if (next) return next(dm, observed, b, config);
  return { status: b.fail(Reason.Failed, `unknown phase ${phase}`).status, actions: [] };
}

export function decide(dm: DataMover, observed: Observed, config: MachineConfig): Decision {
  if (isTerminal(dm.status?.phase)) return finished(dm, observed);
  const entered = step(dm, observed, config);
  const phase = entered.status.phase;
  if (entered.actions.length > 0 || phase === dm.status?.phase || isTerminal(phase)) return entered;
  // A pass that only entered a phase also takes that phase's first step (create the clone, create
  // the Job), so one status write covers both; but never a second transition, which would hide a
  // phase from the metrics derived from the write.
  const next = step({ ...dm, status: entered.status }, observed, config);
  // A run queued for a slot says so in its first write: the queue counts it by its place.
  const queued = next.status.queuePosition !== undefined;
  if (next.status.phase === phase && (next.actions.length > 0 || queued))
    return { ...next, entered: entered.status };
  // The phase's first step is also its last (cleanup deletes and completes in one pass): take it in
  // a pass of its own, at once, rather than waiting for the watch event of this write.
  return next.actions.length > 0 ? { ...entered, requeueAfterMs: 0 } : entered;
}

/**
 * Replaces the optimistic outcome of an action the apiserver refused for good (invalid, forbidden):
 * a refused create fails the run (`refused`), counted against the phase it happened in; a refused
 * clone deletion is reported and does not fail a backup that succeeded.
 */
export function actionRefused(
  dm: DataMover,
  status: DataMoverStatus,
  action: 'createSnapshot' | 'createClone' | 'createJob' | 'deleteClone',
  message: string,
  now: Date,
  nameConflict = false,
): { status: DataMoverStatus; refused: boolean } {
  if (action === 'deleteClone') {
    const conditions = setCondition(
      status.conditions ?? [],
      C.CleanedUp,
      'False',
      Reason.CleanupFailed,
      message,
      dm.metadata.generation,
      now,
    );
    const kept = { restoredPvcName: cloneName(dm) };
    return {
      status: {
        ...status,
        ...kept,
        conditions,
        message: `${status.message ?? ''}; clone not deleted: ${message}`,
      },
      refused: false,
    };
  }
  const b = new StatusBuilder(dm, now);
  if (nameConflict) {
    delete b.status.jobName;
    return { status: b.fail(Reason.NameConflict, message).status, refused: true };
  }
  if (action === 'createSnapshot') {
    delete b.status.snapshotName;
    return {
      status: b.fail(Reason.SnapshotCreationFailed, `snapshot could not be created: ${message}`).status,
      refused: true,
    };
  }
  if (action === 'createClone') {
    delete b.status.restoredPvcName;
    return {
      status: b.fail(Reason.CloneCreationFailed, `clone could not be created: ${message}`).status,
      refused: true,
    };
  }
  delete b.status.jobName;
  return {
    status: b.fail(Reason.JobCreationFailed, `mover Job could not be created: ${message}`).status,
    refused: true,
  };
}
