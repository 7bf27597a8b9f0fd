// Checks hold until the Job runs (issue 32), through the real apiserver with kwok's pods. What a run
// was checked for before it waited is checked again when it would create its Job:
//   - a privileged backup (privilegedReader) that waits for its destination after making its clone,
//     in a namespace whose administrator takes the datamover.io/privileged-movers opt-in back
//     meanwhile, fails with PrivilegedMoverNotAllowed once the destination frees, and no mover Job
//     is created;
//   - a restore into an existing PVC that waits for its slot (--max-concurrent-runs 1), while an
//     application pod starts mounting that PVC, fails with TargetPVCInUse once the slot frees, and no
//     restore Job is created.
// Each run is held back by a DataMover whose mover pod hangs (podLabels simulate=hang), and released
// by deleting that DataMover. Each operator then stops on SIGTERM: a run that ended this way leaves
// it idle.
import { afterAll, describe, expect, it } from 'vitest';
import type { DataMoverRestore } from '../../src/api/v1alpha1/restore.js';
import {
  apply,
  condition,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  getJson,
  kubectlOk,
  pvc,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { appPod, reasonOf, restore, restoreHelpers, type Pvc } from '../support/restores.js';

const namespaces: string[] = [];
const processes: OperatorProcess[] = [];

afterAll(async () => {
  // Each test stops its operator with SIGTERM and checks it exits; one that did not is killed here.
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  for (const ns of namespaces) await deleteNamespace(ns);
});

/** A namespace of its own and an operator watching it, with `args`. */
async function namespaceAndOperator(
  prefix: string,
  args: string[] = [],
): Promise<{ ns: string; operator: OperatorProcess }> {
  const ns = await createNamespace(prefix);
  namespaces.push(ns);
  await sourceAndSecret(ns, 'src');
  const operator = new OperatorProcess([ns], args);
  processes.push(operator);
  await operator.start();
  return { ns, operator };
}

/**
 * The operator's exit code on SIGTERM, or 'still running' after 20 s: an operator whose failed run
 * woke itself without end never yields to the signal (seen once: a restore failed before its Job
 * under the run cap woke itself for the slot the lagging cache showed it waiting for).
 */
function stopped(operator: OperatorProcess): Promise<number | null | 'still running'> {
  return Promise.race([
    operator.stop('SIGTERM'),
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000).unref()),
  ]);
}

/** A backup of `src` whose mover pod runs until the test ends it: it holds its root (and a slot). */
async function holder(ns: string): Promise<void> {
  await apply(
    ns,
    dataMover('holder', {
      sourcePvc: 'src',
      secretName: 'bucket',
      destinationPath: `${ns}/src`,
      podLabels: { simulate: 'hang' },
    }),
  );
  await waitFor(
    async () => {
      const job = (await getDataMover(ns, 'holder'))?.status?.jobName;
      if (!job) return undefined;
      const pods = await getJson<{ items: Array<{ status?: { phase?: string } }> }>([
        'get',
        'pods',
        '-n',
        ns,
        '-l',
        `job-name=${job}`,
      ]);
      return pods?.items.some((p) => p.status?.phase === 'Running');
    },
    { what: "the holder's mover pod running" },
  );
}

describe('a privileged backup waiting for its destination', () => {
  it('fails, with no mover Job, when the namespace takes its opt-in back while it waits', async () => {
    const { ns, operator } = await namespaceAndOperator('dm-stale-priv');
    // An administrator opts the namespace in (and lets it run the privileged reader's pod).
    await kubectlOk(['annotate', 'namespace', ns, 'datamover.io/privileged-movers=true', '--overwrite']);
    await kubectlOk([
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=privileged',
      '--overwrite',
    ]);
    await holder(ns);
    await apply(
      ns,
      dataMover('reader', {
        sourcePvc: 'src',
        secretName: 'bucket',
        destinationPath: `${ns}/src`,
        privilegedReader: true,
      }),
    );
    // Checked and allowed: it made its clone, and waits for the holder's root.
    const waiting = await waitFor(
      async () => {
        const dm = await getDataMover(ns, 'reader');
        return condition(dm, 'Reconciling')?.reason === 'WaitingForDestination' ? dm : undefined;
      },
      { what: 'the privileged run waiting for its destination' },
    );
    expect(waiting.status).toMatchObject({ phase: 'CreatingPod', restoredPvcName: 'reader-clone' });
    expect(waiting.status?.jobName).toBeUndefined();

    // The administrator takes the opt-in back while it waits; then the destination frees.
    await kubectlOk(['annotate', 'namespace', ns, 'datamover.io/privileged-movers-']);
    await kubectlOk(['delete', 'datamover', 'holder', '-n', ns]);

    const failed = await waitForPhase(ns, 'reader', 'Failed', 60_000);
    expect(condition(failed, 'Failed')?.reason).toBe('PrivilegedMoverNotAllowed');
    expect(failed.status?.message).toBe(
      `privilegedReader is no longer allowed in namespace ${ns}: its annotation datamover.io/privileged-movers=true was removed while the run waited to start its mover; no mover ran and nothing was written to the bucket; clone reader-clone, made before, stays until this DataMover is deleted`,
    );
    expect(failed.status?.jobName).toBeUndefined();
    expect(await getJson(['get', 'job', 'reader-mover', '-n', ns])).toBeUndefined();
    // As the message says: the clone is there, and named, until the DataMover goes.
    expect(failed.status?.restoredPvcName).toBe('reader-clone');
    expect(await getJson<Pvc>(['get', 'pvc', 'reader-clone', '-n', ns])).toBeDefined();
    expect(await stopped(operator)).toBe(0);
  });
});

describe('a restore into an existing PVC waiting for its slot', () => {
  it('fails, with no restore Job, when a pod starts mounting the PVC while it waits', async () => {
    const { ns, operator } = await namespaceAndOperator('dm-stale-use', ['--max-concurrent-runs=1']);
    const { getPvc, waitForRestore } = restoreHelpers({ ns });
    await apply(ns, pvc('app-data'));
    await waitFor(async () => (await getPvc('app-data'))?.status?.phase === 'Bound', {
      what: 'PVC app-data to bind',
    });
    await holder(ns);
    await apply(
      ns,
      restore('back', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'src' } },
        target: { existingPvc: 'app-data' },
        overwrite: true,
      }),
    );
    // Checked (Bound, mounted by no pod): it waits for the one slot, which the holder has.
    const queued = await waitFor(
      async () => {
        const r = await getJson<DataMoverRestore>(['get', 'dmr', 'back', '-n', ns]);
        return r?.status?.queuePosition !== undefined ? r : undefined;
      },
      { what: 'the restore queued' },
    );
    expect(queued.status).toMatchObject({ phase: 'Restoring', queuePosition: 1 });
    expect(reasonOf(queued, 'Reconciling')).toBe('Queued');

    // The application starts meanwhile (kwok runs it); then the slot frees.
    await apply(ns, appPod('app', 'app-data'));
    await waitFor(
      async () =>
        (await getJson<{ status?: { phase?: string } }>(['get', 'pod', 'app', '-n', ns]))?.status?.phase ===
        'Running',
      { what: 'the application pod to run' },
    );
    await kubectlOk(['delete', 'datamover', 'holder', '-n', ns]);

    const failed = await waitForRestore('back');
    expect(failed.status?.phase).toBe('Failed');
    expect(reasonOf(failed, 'Failed')).toBe('TargetPVCInUse');
    expect(failed.status?.message).toBe(
      'PVC app-data is now mounted by running pod(s) app, started while the restore waited to start its Job; no restore Job ran, so nothing was written to PVC app-data: stop them (scale the workload to 0) and create the DataMoverRestore again',
    );
    expect(failed.status?.jobName).toBeUndefined();
    expect(await getJson(['get', 'job', 'back-restore', '-n', ns])).toBeUndefined();
    // The PVC is the user's: left as it was.
    const data = await getPvc('app-data');
    expect(data?.status?.phase).toBe('Bound');
    expect(data?.metadata.deletionTimestamp).toBeUndefined();
    // The failed restore leaves the operator idle: it stops on SIGTERM.
    expect(await stopped(operator)).toBe(0);
  });
});
