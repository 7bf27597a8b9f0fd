// The VolumeSnapshot API (snapshot.storage.k8s.io/v1, the external-snapshotter's CRDs), as far as
// the operator uses it: a DataMover with copyMethod Snapshot creates one of its source PVC, makes its
// clone from it, and deletes it when the run ends. Not every cluster installs it.

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_VERSION = 'v1';
export const SNAPSHOT_PLURAL = 'volumesnapshots';

export interface VolumeSnapshot {
  apiVersion: 'snapshot.storage.k8s.io/v1';
  kind: 'VolumeSnapshot';
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
    labels?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
  };
  spec: {
    source: { persistentVolumeClaimName: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    boundVolumeSnapshotContentName?: string;
    error?: { message?: string; time?: string };
  };
}
