// copyMethod Snapshot on the test bed: the VolumeSnapshot CRDs and the snapshot controller built from
// external-snapshotter, with the test provisioner as the CSI driver's snapshotter (API only). A
// DataMover snapshots its source, makes its clone from the snapshot, reaches Completed and leaves no
// snapshot (nor clone, with deletePvcAfterBackup) behind; a snapshot class whose driver fails is
// Stalled with the driver's message, then Failed at the timeout, and its snapshot is deleted too; a
// schedule's template carries the method to its runs.
import { describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { BROKEN_SNAPSHOT_MESSAGE } from '../support/provisioner.js';
import {
  apply,
  dataMover,
  getDataMover,
  getJson,
  kubectlOk,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { withOperator } from '../support/operator.js';

const env = withOperator('dm-snapshot', ['--clone-stall-after=1s', '--clone-provision-timeout=10s']);

const snapshotsIn = async (ns: string) =>
  (await getJson<{ items: Array<{ metadata: { name: string } }> }>(['get', 'volumesnapshots', '-n', ns]))
    ?.items ?? [];
const condition = (dm: DataMover | undefined, type: string) =>
  dm?.status?.conditions?.find((c) => c.type === type);

/** The run's snapshot gone, and no longer named in its status. */
async function snapshotGone(ns: string, name: string): Promise<void> {
  await waitFor(
    async () =>
      !(await getDataMover(ns, name))?.status?.snapshotName &&
      !(await snapshotsIn(ns)).some((s) => s.metadata.name === `${name}-snapshot`),
    { what: `the snapshot of ${name} deleted` },
  );
}

describe('copyMethod: Snapshot', () => {
  it('backs up through a VolumeSnapshot, the clone made from it, and leaves no snapshot behind', async () => {
    await sourceAndSecret(env.ns, 'src');
    await apply(
      env.ns,
      dataMover('gone', {
        sourcePvc: 'src',
        secretName: 'bucket',
        copyMethod: 'Snapshot',
        deletePvcAfterBackup: true,
      }),
      dataMover('kept', {
        sourcePvc: 'src',
        secretName: 'bucket',
        destinationPath: `${env.ns}/kept`,
        copyMethod: 'Snapshot',
        volumeSnapshotClassName: 'test-snapshots',
      }),
    );
    for (const name of ['gone', 'kept']) {
      const done = await waitForPhase(env.ns, name, 'Completed');
      expect(done.status?.destination).toBeDefined();
      await snapshotGone(env.ns, name);
    }
    // The clone kept (deletePvcAfterBackup false) was made from the snapshot.
    const clone = await getJson<{ spec: { dataSource?: unknown } }>([
      'get',
      'pvc',
      'kept-clone',
      '-n',
      env.ns,
    ]);
    expect(clone?.spec.dataSource).toEqual({
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: 'kept-snapshot',
    });
    // The other left nothing: no clone, no snapshot.
    await waitFor(async () => (await getJson(['get', 'pvc', 'gone-clone', '-n', env.ns])) === undefined, {
      what: 'the clone of gone deleted',
    });
    // `kubectl describe` tells the story of a run in one Normal event, its end, and how long it took
    // (the test bed's short stall time may add a SnapshotNotReady warning). The snapshot, the clone
    // and the mover are in its status.
    const events = await kubectlOk([
      'get',
      'events',
      '-n',
      env.ns,
      '--field-selector',
      'involvedObject.name=gone,type=Normal',
      '-o',
      'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
    ]);
    expect(events.trim().split('\n')).toEqual([
      expect.stringMatching(/^Completed: backed up src to .* \(run took \d+s\)$/),
    ]);
  });

  it("is Stalled with the driver's error, then Failed at the timeout, and deletes its snapshot", async () => {
    await apply(
      env.ns,
      dataMover('broken', {
        sourcePvc: 'src',
        secretName: 'bucket',
        destinationPath: `${env.ns}/broken`,
        copyMethod: 'Snapshot',
        volumeSnapshotClassName: 'test-snapshots-broken',
      }),
    );
    // Stalled after a second, and naming the driver's error once the driver has reported it (on a
    // loaded machine the stall can come first: the snapshot is read again every 2 s).
    const stalled = await waitFor(
      async () => {
        const dm = await getDataMover(env.ns, 'broken');
        const stall = condition(dm, 'Stalled');
        return stall?.status === 'True' && stall.message?.includes(BROKEN_SNAPSHOT_MESSAGE) ? dm : undefined;
      },
      { what: "the broken snapshot Stalled with the driver's error" },
    );
    expect(stalled.status?.phase).toBe('CreatingSnapshot');
    expect(condition(stalled, 'Stalled')).toMatchObject({
      reason: 'SnapshotNotReady',
      message: `snapshot broken-snapshot is not ready yet: ${BROKEN_SNAPSHOT_MESSAGE}`,
    });
    const failed = await waitForPhase(env.ns, 'broken', 'Failed');
    expect(condition(failed, 'Failed')).toMatchObject({
      reason: 'SnapshotTimeout',
      message: `snapshot broken-snapshot was not ready within 10s: ${BROKEN_SNAPSHOT_MESSAGE}`,
    });
    await snapshotGone(env.ns, 'broken');
    expect(await getJson(['get', 'pvc', 'broken-clone', '-n', env.ns])).toBeUndefined();
  });

  it("is carried by a schedule's template to its runs", async () => {
    await kubectlOk(['label', 'pvc', 'src', '-n', env.ns, 'backup=snap']);
    await apply(env.ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverSchedule',
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 3 * * *',
        selector: { matchLabels: { backup: 'snap' } },
        trigger: 'now',
        template: { secretName: 'bucket', copyMethod: 'Snapshot', deletePvcAfterBackup: true },
      },
    });
    const run = await waitFor(
      async () =>
        (
          await getJson<{ items: DataMover[] }>([
            'get',
            'dm',
            '-n',
            env.ns,
            '-l',
            'datamover.io/schedule=nightly',
          ])
        )?.items.find((dm) => dm.status?.phase === 'Completed'),
      { what: "the schedule's run Completed" },
    );
    expect(run.spec.copyMethod).toBe('Snapshot');
    await snapshotGone(env.ns, run.metadata.name);
  });
});
