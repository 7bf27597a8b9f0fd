// The DataMovers as the run cap (run-slots.ts) counts them: under way from the moment a clone is
// created until its clone and Job are gone, and waiting while a pass found no slot for it
// (status.queuePosition), or before its first pass.
import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { Census, Waiting } from '../run-slots.js';
import { cloneName, jobName, ownership } from '../../kube/names.js';
import { isTerminal } from '../status-builder.js';

const keyOf = (dm: DataMover) => `${dm.metadata.namespace}/${dm.metadata.name}`;

/** A DataMover's clone and Job in the caches, if any: whether each exists, and is being deleted. */
export type Children = (dm: DataMover) => {
  clone?: V1PersistentVolumeClaim | undefined;
  job?: KubernetesObject | undefined;
};

/**
 * A run's children as the caches hold them under its child names. The PVC cache holds every PVC: one
 * that only holds the clone's name (NameConflict) is not the run's, and holds no slot for it.
 */
export function cachedChildren(
  pvc: (namespace: string, name: string) => V1PersistentVolumeClaim | undefined,
  job: (namespace: string, name: string) => KubernetesObject | undefined,
): Children {
  return (dm) => {
    const clone = pvc(dm.metadata.namespace, cloneName(dm));
    return {
      clone: clone && ownership(clone, dm) !== 'foreign' ? clone : undefined,
      job: job(dm.metadata.namespace, jobName(dm)),
    };
  };
}

const deleting = (o: KubernetesObject | undefined) => Boolean(o?.metadata?.deletionTimestamp);

/**
 * Under way: a snapshot or a clone made (in the cache, or in the status), a mover Job, or cleaning up; and after the
 * end, while its clone or Job is being deleted, or its clone, deleted by the run, is still in the
 * cache (a clone kept by deletePvcAfterBackup: false is the user's, and holds no slot).
 */
export function underWay(dm: DataMover, children: Children): boolean {
  const phase = dm.status?.phase;
  if (phase === undefined) return false;
  if (isTerminal(phase)) {
    const { clone, job } = children(dm);
    // A clone the run deleted (its status names it no more) holds the slot until the cache shows it
    // gone, even before the cache shows it being deleted: the DataMover's watch may deliver the
    // run's end before the PVC watch delivers the deletion.
    const deleted = clone !== undefined && !dm.status?.restoredPvcName;
    return deleted || deleting(clone) || deleting(job);
  }
  // copyMethod Snapshot: under way from the snapshot's creation (named in status from its create).
  if (phase === 'CreatingSnapshot') return Boolean(dm.status?.snapshotName);
  return (
    phase !== 'CreatingClonedPVC' || Boolean(dm.status?.restoredPvcName) || children(dm).clone !== undefined
  );
}

/**
 * The StorageClass a run's clone is of, as far as the caches and its own object tell: the clone's,
 * the one it was queued for, or the one its spec asks for; undefined when only its source PVC knows.
 */
export function classOf(dm: DataMover, children: Children): string | undefined {
  return (
    children(dm).clone?.spec?.storageClassName ?? dm.status?.queueStorageClass ?? dm.spec.storageClassName
  );
}

/**
 * The runs of one pool (`inPool`) under way and those that wait for a slot; `self`, the run asking,
 * counts as waiting when it is not under way (whatever held it back before).
 */
export function census(
  dataMovers: Iterable<DataMover>,
  children: Children,
  self?: DataMover,
  inPool: (dm: DataMover) => boolean = () => true,
): Census {
  const holding = new Set<string>();
  const waiting: Waiting[] = [];
  const selfKey = self ? keyOf(self) : undefined;
  const others = [...dataMovers].filter((dm) => keyOf(dm) !== selfKey && inPool(dm));
  // The run asking is read from its own copy: the cache may not show its newest status yet.
  for (const dm of self ? [self, ...others] : others) {
    const key = keyOf(dm);
    if (underWay(dm, children)) holding.add(key);
    else if (
      !isTerminal(dm.status?.phase) &&
      (key === selfKey ||
        (!dm.metadata.deletionTimestamp &&
          (dm.status?.phase === undefined || dm.status.queuePosition !== undefined)))
    )
      waiting.push({
        key,
        namespace: dm.metadata.namespace,
        created: new Date(dm.metadata.creationTimestamp ?? 0).getTime(),
      });
  }
  return { holding, waiting };
}
