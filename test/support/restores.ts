// Helpers for the DataMoverRestore journeys (test/e2e/restore*.test.ts): objects to apply, and waits on
// what a user sees of a restore (its status, its events, its Job's pod, the PVCs it writes).
import type { DataMoverRestore } from '../../src/api/v1alpha1/restore.js';
import { getJson, kubectlOk, waitFor } from './cluster.js';

export const TERMINAL = new Set(['Completed', 'Failed']);

export function restore(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'datamover.io/v1alpha1', kind: 'DataMoverRestore', metadata: { name }, spec };
}

export const reasonOf = (r: DataMoverRestore | undefined, type: string) =>
  r?.status?.conditions?.find((c) => c.type === type)?.reason;

export interface Pvc {
  metadata: {
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    deletionTimestamp?: string;
  };
  spec: { resources: { requests: { storage: string } } };
  status?: { phase?: string };
}

/** A pod that mounts a PVC and keeps running (kwok runs it), as an application would. */
export function appPod(name: string, claim: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image: 'app:1',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
  };
}

/** Lookups and waits in the namespace of `env` (read when called: withOperator sets it in beforeAll). */
export function restoreHelpers(env: { ns: string }) {
  const getRestore = (name: string) => getJson<DataMoverRestore>(['get', 'dmr', name, '-n', env.ns]);
  const getPvc = (name: string) => getJson<Pvc>(['get', 'pvc', name, '-n', env.ns]);

  function waitForRestore(name: string, phases = TERMINAL, timeoutMs = 60_000): Promise<DataMoverRestore> {
    return waitFor(
      async () => {
        const r = await getRestore(name);
        return phases.has(r?.status?.phase ?? '') ? r : undefined;
      },
      { timeoutMs, what: `DataMoverRestore ${name} to reach ${[...phases].join(' or ')}` },
    );
  }

  /** The running pod of a restore's Job. */
  function restorePod(name: string): Promise<string> {
    return waitFor(
      async () => {
        const list = await getJson<{
          items: Array<{ metadata: { name: string }; status?: { phase?: string } }>;
        }>(['get', 'pods', '-n', env.ns, '-l', `datamover.io/restore=${name}`]);
        return list?.items.find((p) => p.status?.phase === 'Running')?.metadata.name;
      },
      { what: `the pod of restore ${name} to run` },
    );
  }

  /**
   * Ends a (simulate=hang) mover pod as the mover would: its exit code and its report, bound to its run
   * as the mover binds it (protocol, command, the UID, root and run folder of the pod's own environment).
   */
  async function endPod(pod: string, exitCode: number, given: object): Promise<void> {
    const now = new Date().toISOString();
    const spec = await getJson<{
      spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> };
    }>(['get', 'pod', pod, '-n', env.ns]);
    const envOf = (name: string) => spec?.spec.containers[0]?.env?.find((e) => e.name === name)?.value;
    const command = envOf('DATAMOVER_COMMAND') ?? 'backup';
    const run = command === 'backup' ? { run: envOf('DATAMOVER_RUN_FOLDER') } : {};
    const report = {
      protocol: 1,
      command,
      uid: envOf('DATAMOVER_UID'),
      root: envOf('DATAMOVER_BACKUP_ROOT'),
      ...run,
      ...given,
    };
    const status = {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [
        {
          name: 'mover',
          image: 'ghcr.io/datamover-operator/mover:0.1.0',
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            terminated: {
              exitCode,
              reason: exitCode === 0 ? 'Completed' : 'Error',
              message: JSON.stringify(report),
              startedAt: now,
              finishedAt: now,
            },
          },
        },
      ],
    };
    await kubectlOk([
      'patch',
      'pod',
      pod,
      '-n',
      env.ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
  }

  /** The messages of the events about a restore with a reason, once there is one. */
  function eventsOf(restoreName: string, reason: string): Promise<string[]> {
    return waitFor(
      async () => {
        const list = await getJson<{ items: Array<{ message?: string }> }>([
          'get',
          'events',
          '-n',
          env.ns,
          '--field-selector',
          `involvedObject.kind=DataMoverRestore,involvedObject.name=${restoreName},reason=${reason}`,
        ]);
        const messages = (list?.items ?? []).map((e) => e.message ?? '');
        return messages.length > 0 ? messages : undefined;
      },
      { what: `a ${reason} event about DataMoverRestore ${restoreName}` },
    );
  }

  /** Waits until pod `name` runs (kwok runs an application pod at once). */
  function waitRunning(name: string): Promise<unknown> {
    return waitFor(
      async () =>
        (await getJson<{ status?: { phase?: string } }>(['get', 'pod', name, '-n', env.ns]))?.status
          ?.phase === 'Running',
      { what: `pod ${name} to run` },
    );
  }

  return { getRestore, getPvc, waitForRestore, restorePod, endPod, eventsOf, waitRunning };
}
