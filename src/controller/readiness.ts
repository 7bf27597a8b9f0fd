// When a PVC the mover mounts is ready for it, how long a PVC has waited, how long a Job has been
// without a pod, and when to look again at what stalls: rules every kind of run (a backup's clone, a
// restore's target) decides with.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';

/**
 * When to look again at a stalled snapshot or clone: what its driver reports (a snapshot's error, a
 * provisioner's warning event) reaches no watch, and may come after the stall began. A quarter of
 * the time waited so far, between 2 and 30 s, and never past the timeout.
 */
export function stalledRecheckMs(waited: number, timeoutMs: number): number {
  return Math.min(Math.min(30_000, Math.max(2_000, Math.floor(waited / 4))), timeoutMs - waited);
}

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
