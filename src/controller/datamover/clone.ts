// The clone of the source PVC that the mover reads: CSI volume cloning through spec.dataSource.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import { childLabels, cloneName, controllerRef } from '../../kube/names.js';
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
      dataSource: { kind: 'PersistentVolumeClaim', name: dm.spec.sourcePvc },
    },
  };
}
