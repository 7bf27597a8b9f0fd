// The clone of the source PVC that the mover reads: CSI volume cloning through spec.dataSource, or
// with copyMethod Snapshot, a VolumeSnapshot of the source and a PVC made from it.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import { childLabels, cloneName, controllerRef, snapshotName } from '../../kube/names.js';
import { SNAPSHOT_GROUP, type VolumeSnapshot } from '../../kube/snapshots.js';
import { sizeLike } from '../pvc-size.js';

/** The StorageClass of the clone: the DataMover's choice, else its source's (the default if neither). */
export function cloneClass(
  dm: DataMover,
  source: V1PersistentVolumeClaim | null | undefined,
): string | undefined {
  return dm.spec.storageClassName ?? source?.spec?.storageClassName;
}

export function buildClone(dm: DataMover, source: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  const storageClassName = cloneClass(dm, source);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: cloneName(dm),
      namespace: dm.metadata.namespace,
      labels: childLabels(dm),
      ownerReferences: [controllerRef(dm)],
    },
    spec: {
      accessModes: source.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: source.spec?.volumeMode ?? 'Filesystem',
      ...(storageClassName ? { storageClassName } : {}),
      resources: { requests: { storage: sizeLike(source) } },
      dataSource: bySnapshot(dm)
        ? { apiGroup: SNAPSHOT_GROUP, kind: 'VolumeSnapshot', name: snapshotName(dm) }
        : { kind: 'PersistentVolumeClaim', name: dm.spec.sourcePvc },
    },
  };
}

/** Whether the run copies its source through a VolumeSnapshot (copyMethod Snapshot). */
export const bySnapshot = (dm: DataMover) => dm.spec.copyMethod === 'Snapshot';

export function buildSnapshot(dm: DataMover): VolumeSnapshot {
  const className = dm.spec.volumeSnapshotClassName;
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name: snapshotName(dm),
      namespace: dm.metadata.namespace,
      labels: childLabels(dm),
      ownerReferences: [controllerRef(dm)],
    },
    spec: {
      source: { persistentVolumeClaimName: dm.spec.sourcePvc },
      ...(className ? { volumeSnapshotClassName: className } : {}),
    },
  };
}
