// Builders for unit tests of the restore machine (machine.test.ts, target.test.ts).
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type {
  DataMoverRestore,
  DataMoverRestoreSpec,
  DataMoverRestoreStatus,
} from '../../api/v1alpha1/restore.js';
import { at, moverStatus, T0 } from '../datamover/fixtures.test-helpers.js';
import type { RestoreDecision, RestoreObserved } from './machine.js';

export function restore(
  spec: Partial<DataMoverRestoreSpec> = {},
  status?: DataMoverRestoreStatus,
  name = 'back',
): DataMoverRestore {
  return {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverRestore',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, creationTimestamp: T0 },
    spec: {
      source: { backup: { secretName: 'bucket', sourcePvc: 'data' } },
      target: { newPvc: { name: 'data-restored' } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

export const inPhase = (phase: DataMoverRestoreStatus['phase'], extra: DataMoverRestoreStatus = {}) => ({
  phase,
  phaseStartTime: T0.toISOString(),
  startTime: T0.toISOString(),
  targetPvc: 'data-restored',
  ...extra,
});

/**
 * The target PVC: by default the one this restore created (as buildTargetPvc marks it); `by` another
 * restore's name for one that restore created, `ours: false` for one no restore made.
 */
export function target(
  opts: { phase?: string; ours?: boolean; by?: string; createdAt?: Date; deleting?: boolean } = {},
): V1PersistentVolumeClaim {
  const by = opts.by ?? 'back';
  const marks =
    opts.ours === false
      ? {}
      : {
          labels: { 'datamover.io/restored-by': by },
          annotations: { 'datamover.io/restored-by-name': by, 'datamover.io/restored-by-uid': `uid-${by}` },
        };
  return {
    metadata: {
      name: 'data-restored',
      namespace: 'ns',
      uid: 'pvc-uid',
      creationTimestamp: opts.createdAt ?? T0,
      annotations: {},
      ...marks,
      ...(opts.deleting ? { deletionTimestamp: T0 } : {}),
    },
    spec: { storageClassName: 'fast' },
    status: { phase: opts.phase ?? 'Bound' },
  };
}

export function restoreJob(condition?: { type: string; reason?: string }): V1Job {
  return {
    metadata: { name: 'back-restore', namespace: 'ns', uid: 'job-uid', creationTimestamp: T0 },
    status: {
      active: condition ? 0 : 1,
      conditions: condition ? [{ type: condition.type, status: 'True', reason: condition.reason }] : [],
    },
  };
}

export function endedPod(exitCode: number, message: string): V1Pod {
  return {
    metadata: { name: 'back-restore-x', namespace: 'ns' },
    status: {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [moverStatus({ terminated: { exitCode, message, finishedAt: at(5) } })],
    },
  };
}

export const observed = (o: Partial<RestoreObserved> = {}): RestoreObserved => ({ now: T0, pods: [], ...o });
export const failedReason = (d: RestoreDecision) =>
  d.status.conditions?.find((c) => c.type === 'Failed')?.reason;
export const stalledReason = (d: RestoreDecision) =>
  d.status.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True')?.reason;

/** The fixture restore's report: protocol 1, bound to it (uid-back) and the root it read. */
export const BINDING = { protocol: 1, command: 'restore', uid: 'uid-back', root: 'ns/data' };
export const REPORT = JSON.stringify({
  ...BINDING,
  restore: { run: '2026-01-02-030405', bytes: 100, files: 2, verified: 3, mismatches: 0, mismatched: [] },
});
