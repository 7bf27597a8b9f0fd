// Builders for unit tests of the pure controller logic.
import type { Observed } from './machine.js';
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import type { DataMover, DataMoverSpec, DataMoverStatus } from '../../api/v1alpha1/schema.js';
import type { MachineConfig } from './machine.js';

export const T0 = new Date('2026-01-02T03:04:05.000Z');
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

export const config: MachineConfig = {
  sourcePvcGracePeriodMs: 60_000,
  cloneProvisionTimeoutMs: 600_000,
  cloneStallAfterMs: 60_000,
  podStartTimeoutMs: 300_000,
  defaultMoverImage: 'ghcr.io/datamover-operator/mover:0.1.0',
  allowedMoverImages: ['ghcr.io/datamover-operator/mover'],
  allowMoverServiceAccount: false,
  maxConcurrentRuns: 0,
};

export function dm(spec: Partial<DataMoverSpec> = {}, status?: DataMoverStatus, name = 'backup'): DataMover {
  return {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMover',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: T0,
      resourceVersion: '1',
    },
    spec: { sourcePvc: 'data', secretName: 'bucket', ...spec },
    ...(status ? { status } : {}),
  };
}

export function source(
  opts: { phase?: string; mode?: string; request?: string; capacity?: string; deleting?: boolean } = {},
): V1PersistentVolumeClaim {
  return {
    metadata: { name: 'data', namespace: 'ns', ...(opts.deleting ? { deletionTimestamp: T0 } : {}) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      volumeMode: opts.mode ?? 'Filesystem',
      storageClassName: 'fast',
      resources: { requests: { storage: opts.request ?? '1Gi' } },
    },
    status: { phase: opts.phase ?? 'Bound', capacity: { storage: opts.capacity ?? '1Gi' } },
  };
}

export function clone(phase: string, createdAt = T0): V1PersistentVolumeClaim {
  return {
    metadata: { name: 'backup-clone', namespace: 'ns', creationTimestamp: createdAt },
    spec: { storageClassName: 'fast' },
    status: { phase },
  };
}

export function job(
  condition?: { type: string; reason?: string; message?: string },
  counts: { failed?: number; succeeded?: number; active?: number } = {},
): V1Job {
  return {
    metadata: { name: 'backup-mover', namespace: 'ns' },
    status: {
      ...counts,
      conditions: condition
        ? [{ type: condition.type, status: 'True', reason: condition.reason, message: condition.message }]
        : [],
    },
  };
}

export function pendingPod(reason: { unschedulable?: string; waiting?: string }): V1Pod {
  return {
    metadata: { name: 'backup-mover-x', namespace: 'ns' },
    status: {
      phase: 'Pending',
      conditions: reason.unschedulable
        ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: reason.unschedulable }]
        : [],
      containerStatuses: reason.waiting
        ? [moverStatus({ waiting: { reason: reason.waiting, message: 'pull failed' } })]
        : [],
    },
  };
}

export function terminatedPod(exitCode: number, message = ''): V1Pod {
  return {
    metadata: { name: 'backup-mover-y', namespace: 'ns' },
    status: {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [moverStatus({ terminated: { exitCode, message, finishedAt: T0 } })],
    },
  };
}

/**
 * The report a mover of the fixture's DataMover (`backup`, mirror run of ns/data) writes when it
 * succeeds: protocol 1, bound to the run, with what it wrote and verified.
 */
export function moverReport(extra: Record<string, unknown> = {}, name = 'backup'): string {
  return JSON.stringify({
    protocol: 1,
    command: 'backup',
    uid: `uid-${name}`,
    root: 'ns/data',
    run: 'mirror',
    bytes: 0,
    files: 0,
    verify: { verified: 1, mismatches: 0, mismatched: [] },
    ...extra,
  });
}

/**
 * What a pass observes: the time and the children. A Job that succeeded has, unless pods are given,
 * the pod a real one leaves: exited 0 with the mover's report.
 */
export const observed = (now: Date, extra: Partial<Observed> = {}): Observed => {
  const succeeded = extra.job?.status?.conditions?.some((c) => c.type === 'Complete');
  return { now, pods: succeeded ? [terminatedPod(0, moverReport())] : [], ...extra };
};

/** A DataMover's status in `phase`, started at T0, with its clone and destination named. */
export const inPhase = (phase: DataMoverStatus['phase'], extra: DataMoverStatus = {}): DataMoverStatus => ({
  phase,
  startTime: T0.toISOString(),
  phaseStartTime: T0.toISOString(),
  restoredPvcName: 'backup-clone',
  destination: 'bucket:ns/data/',
  ...extra,
});

/** The mover container's status in a pod, in the given state. */
export const moverStatus = (state: V1ContainerState): V1ContainerStatus => ({
  name: 'mover',
  image: 'x',
  imageID: '',
  ready: false,
  restartCount: 0,
  state,
});
