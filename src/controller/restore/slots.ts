// The DataMoverRestores as the run cap counts them (run-cap.ts), beside the DataMovers: a restore
// holds a slot from its Job's creation (status.jobName, or the Job in the cache) until that Job is
// gone or done, and waits for one in Restoring before its Job. Its target PVC is not a clone: it is
// made, or checked, before the restore asks for a slot.
import type { V1Job } from '@kubernetes/client-node';
import type { DataMoverRestore } from '../../api/v1alpha1/restore.js';
import type { Census, Waiting } from '../run-slots.js';
import { isTerminal } from '../status-builder.js';

export const RESTORE_KEY_PREFIX = 'DataMoverRestore:';

/** A restore's key in the shared cap: its kind first, so it is never taken for a DataMover's. */
export const restoreKey = (r: DataMoverRestore) =>
  `${RESTORE_KEY_PREFIX}${r.metadata.namespace}/${r.metadata.name}`;

/** Under way: its Job created (or being deleted after its end). */
export function restoreUnderWay(r: DataMoverRestore, job: V1Job | undefined): boolean {
  const phase = r.status?.phase;
  if (isTerminal(phase)) return Boolean(job?.metadata?.deletionTimestamp);
  return phase === 'Restoring' && (r.status?.jobName !== undefined || job !== undefined);
}

/**
 * The restores of one pool (`inPool`) under way and those that wait for a slot; `self`, the restore
 * asking, counts as waiting when it is not under way.
 */
export function restoreCensus(
  restores: Iterable<DataMoverRestore>,
  jobOf: (r: DataMoverRestore) => V1Job | undefined,
  self?: DataMoverRestore,
  inPool: (r: DataMoverRestore) => boolean = () => true,
): Census {
  const holding = new Set<string>();
  const waiting: Waiting[] = [];
  const selfKey = self ? restoreKey(self) : undefined;
  const others = [...restores].filter((r) => restoreKey(r) !== selfKey && inPool(r));
  for (const r of self ? [self, ...others] : others) {
    const key = restoreKey(r);
    const job = jobOf(r);
    if (restoreUnderWay(r, job)) holding.add(key);
    else if (r.status?.phase === 'Restoring' && (key === selfKey || !r.metadata.deletionTimestamp))
      waiting.push({
        key,
        namespace: r.metadata.namespace,
        created: new Date(r.metadata.creationTimestamp ?? 0).getTime(),
      });
  }
  return { holding, waiting };
}
