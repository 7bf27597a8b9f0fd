// What a pass needs to know beyond the informer caches, and the rules that decide it. Each rule has
// one definition here: the machine (machine.ts) decides with it, and observe() (reconcile.ts) asks
// lookupsNeeded() which lookups the decision will read, so no request is made for nothing.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { DataMover } from '../api/v1alpha1/schema.js';
import { backupRoot, rootAllowed } from '../jobs/destination.js';

/** A Job that has made no pod after this long is stuck (admission refused its pods, quota, …). */
export const JOB_NO_POD_AFTER_MS = 10_000;

const ageMs = (o: { metadata?: { creationTimestamp?: Date | string } } | undefined, now: Date) =>
  now.getTime() - new Date(o?.metadata?.creationTimestamp ?? now).getTime();

/**
 * A PVC the mover mounts (a backup's clone, a restore's target) is ready for it: Bound, or of a class
 * that binds when the mover pod is scheduled.
 */
export function pvcReadyForMover(
  pvc: V1PersistentVolumeClaim | undefined,
  bindingMode: string | undefined,
): boolean {
  return pvc?.status?.phase === 'Bound' || (pvc !== undefined && bindingMode === 'WaitForFirstConsumer');
}

/** How long a PVC has existed (a clone, a restore's target waiting to bind). */
export const pvcAgeMs = (pvc: V1PersistentVolumeClaim, now: Date) => ageMs(pvc, now);

/** How long the Job has been without any pod (none listed, none active); undefined when it has one. */
export function podlessForMs(job: V1Job, pods: readonly V1Pod[], now: Date): number | undefined {
  return pods.length === 0 && !job.status?.active ? ageMs(job, now) : undefined;
}

/** What the caches hold for a DataMover, and the binding mode of its clone's class once looked up. */
export interface Cached {
  clone?: V1PersistentVolumeClaim | undefined;
  job?: V1Job | undefined;
  pods: readonly V1Pod[];
  cloneBindingMode?: string | undefined;
}

export interface Lookups {
  /** The namespace's annotations: the privileged-reader opt-in and the allowed destination prefixes. */
  namespace: boolean;
  /** The source PVC (GET: source PVCs are not watched). */
  source: boolean;
  /** The volumeBindingMode of the clone's storage class. */
  bindingMode: boolean;
  /** The provisioner's latest warning about a clone that is taking long. */
  cloneWarning: boolean;
  /** The latest warning about a Job that makes no pod. */
  jobWarning: boolean;
  /** Whether another DataMover holds the destination (a scan of the cache). */
  destinationLock: boolean;
}

export function lookupsNeeded(
  dm: DataMover,
  cached: Cached,
  now: Date,
  config: { cloneStallAfterMs: number },
): Lookups {
  const phase = dm.status?.phase;
  const beforeClone = phase === undefined || phase === 'CreatingClonedPVC';
  const { clone, job } = cached;
  const pending = beforeClone && clone !== undefined && clone.status?.phase !== 'Bound';
  const podless = job ? podlessForMs(job, cached.pods, now) : undefined;
  return {
    namespace:
      beforeClone &&
      (dm.spec.privilegedReader === true || !rootAllowed(backupRoot(dm), dm.metadata.namespace, [])),
    source: beforeClone && clone === undefined,
    bindingMode: pending,
    cloneWarning: pending && pvcAgeMs(clone, now) >= config.cloneStallAfterMs,
    jobWarning: phase === 'CreatingPod' && podless !== undefined && podless >= JOB_NO_POD_AFTER_MS,
    // Only a pass that may create the Job consults the lock: an O(n) scan that other passes skip.
    destinationLock:
      job === undefined &&
      (phase === 'CreatingPod' ||
        (phase === 'CreatingClonedPVC' && pvcReadyForMover(clone, cached.cloneBindingMode))),
  };
}
