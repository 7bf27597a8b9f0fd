// What a DataMover's pass needs to know beyond the informer caches, and the rule that decides it: the
// machine (machine.ts) decides with these facts, and observe() (reconcile.ts) asks lookupsNeeded()
// which lookups the decision will read, so no request is made for nothing.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import { backupRoot, rootAllowed } from '../../jobs/destination.js';
import { backupBinding } from '../../jobs/job.js';
import { isTerminal } from '../status-builder.js';
import type { VolumeSnapshot } from '../../kube/snapshots.js';
import { unprovenSuccess } from '../job-status.js';
import { pvcAgeMs, pvcReadyForMover, JOB_NO_POD_AFTER_MS, podlessForMs } from '../readiness.js';

/** What the caches hold for a DataMover, and the binding mode of its clone's class once looked up. */
export interface Cached {
  clone?: V1PersistentVolumeClaim | undefined;
  job?: V1Job | undefined;
  pods: readonly V1Pod[];
  cloneBindingMode?: string | undefined;
  /** copyMethod Snapshot: the run's snapshot, once read (it is read before the other lookups). */
  snapshot?: VolumeSnapshot | null | undefined;
}

export interface Lookups {
  /** The namespace's annotations: the privileged-reader opt-in and the allowed destination prefixes. */
  namespace: boolean;
  /** The source PVC (from the cache; a GET when the cache does not show it Bound). */
  source: boolean;
  /** The volumeBindingMode of the clone's storage class. */
  bindingMode: boolean;
  /** The provisioner's latest warning about a clone that is taking long. */
  cloneWarning: boolean;
  /** The latest warning about a Job that makes no pod. */
  jobWarning: boolean;
  /** The pod whose mover's last log lines are read: its Job succeeded without a report (job-status.ts). */
  moverLog: string | undefined;
  /** Whether another DataMover holds the destination (a scan of the cache). */
  destinationLock: boolean;
  /** The run's VolumeSnapshot (GET: snapshots are not watched), with copyMethod Snapshot. */
  snapshot: boolean;
}

/**
 * A snapshot made and not ready yet: the pass only waits for it (every 2 s), so it reads no source
 * PVC; the pass that finds it ready does, to make the clone.
 */
const snapshotPending = (cached: Cached) =>
  cached.snapshot !== undefined && cached.snapshot !== null && !cached.snapshot.status?.readyToUse;

/** The run's snapshot: while it is made, and once the run ended (or cleans up), until it is gone. */
function snapshotNeeded(dm: DataMover): boolean {
  const phase = dm.status?.phase;
  if (phase === 'CreatingSnapshot') return true;
  return dm.status?.snapshotName !== undefined && (phase === 'CleaningUp' || isTerminal(phase));
}

/**
 * The namespace's annotations: before the clone, for the privileged reader or a root outside the
 * namespace's own prefix. A run that waited in CreatingPod since (for its destination, or a restore
 * reading its root) creates its Job on a later pass: a privileged one reads the opt-in again there,
 * as it may have been taken back meanwhile. Ordinary runs read nothing more (BENCHMARKS.md's requests
 * per DataMover), nor does the pass that enters CreatingPod, which read it before the clone.
 */
function namespaceNeeded(dm: DataMover, beforeClone: boolean, job: V1Job | undefined): boolean {
  const privileged = dm.spec.privilegedReader === true;
  if (beforeClone) return privileged || !rootAllowed(backupRoot(dm), dm.metadata.namespace, []);
  return privileged && dm.status?.phase === 'CreatingPod' && job === undefined && !dm.status.jobName;
}

export function lookupsNeeded(
  dm: DataMover,
  cached: Cached,
  now: Date,
  config: { cloneStallAfterMs: number },
): Lookups {
  const phase = dm.status?.phase;
  const beforeClone = phase === undefined || phase === 'CreatingSnapshot' || phase === 'CreatingClonedPVC';
  const { clone, job } = cached;
  const pending = beforeClone && clone !== undefined && clone.status?.phase !== 'Bound';
  const podless = job ? podlessForMs(job, cached.pods, now) : undefined;
  return {
    namespace: namespaceNeeded(dm, beforeClone, job),
    source: beforeClone && clone === undefined && !snapshotPending(cached),
    bindingMode: pending,
    cloneWarning: pending && pvcAgeMs(clone, now) >= config.cloneStallAfterMs,
    jobWarning: phase === 'CreatingPod' && podless !== undefined && podless >= JOB_NO_POD_AFTER_MS,
    moverLog:
      phase === 'CreatingPod' && job ? unprovenSuccess(job, cached.pods, backupBinding(dm)) : undefined,
    snapshot: snapshotNeeded(dm),
    // Only a pass that may create the Job consults the lock: an O(n) scan that other passes skip.
    destinationLock:
      job === undefined &&
      (phase === 'CreatingPod' ||
        (phase === 'CreatingClonedPVC' && pvcReadyForMover(clone, cached.cloneBindingMode))),
  };
}
