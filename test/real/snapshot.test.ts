// copyMethod Snapshot with real bytes on the real node. The source is a test-real-csi volume: a CSI
// volume that the test bed's node plugin (hack/testbed/csi-hostfolders) publishes into pods, so the
// external snapshot controller snapshots it; the test provisioner cuts the snapshot as a copy of the
// volume's folder and provisions the clone from that copy. What a user would check: the backup holds
// the volume as it was when the snapshot was cut, although the application changed it while the
// backup ran; a restore gives back every file with its content, mode and time; and nothing is left
// behind: no VolumeSnapshot, no content, no clone, no snapshot data on the node.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apply, dataMover, getJson, waitFor } from '../support/cluster.js';
import { restore, restoreHelpers } from '../support/restores.js';
import * as real from '../support/realnode.js';
import { describeTree, type Entry } from '../support/tree.js';

const BUCKET = 'snapshots';
const CLASS = 'test-real-csi';

/** A small tree with the attributes a backup must keep: modes, an old time, a link, an empty folder. */
const WRITER = `set -eu
cd /data
mkdir -p reports/2026 'empty folder' 'données'
i=0; while [ $i -lt 200 ]; do printf 'row %d\\n' $i > reports/2026/row-$i.txt; i=$((i + 1)); done
head -c 5000000 /dev/urandom > reports/blob.bin
printf 'ünïcödé\\n' > 'données/naïve café.txt'
printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 755 run.sh
printf 'old\\n' > old.txt && touch -d '2020-02-03 04:05:06' old.txt
ln -s reports/2026/row-0.txt first-row
echo written`;

let ns = '';
let folder = '';

real.useRealNamespace('real-snapshot', async (name) => {
  ns = name;
  await Promise.all([
    real.makeBucket(BUCKET),
    apply(ns, real.realBucketSecret('bucket', BUCKET), real.realPvc('app', '1Gi', CLASS)),
  ]);
  await real.runPod(ns, real.busyboxPod('writer', WRITER, [{ claim: 'app', mount: 'data' }]));
  folder = await real.hostFolderOf(ns, 'app');
});

const itemsIn = async (kind: string, namespace?: string) =>
  (
    await getJson<{ items: Array<{ metadata: { name: string } }> }>([
      'get',
      kind,
      ...(namespace ? ['-n', namespace] : []),
    ])
  )?.items.map((i) => i.metadata.name) ?? [];

describe.skipIf(!!real.skipReason())(real.titled('copyMethod Snapshot on the real node'), () => {
  let atSnapshot: Record<string, Entry> = {};

  it('writes through the CSI node plugin: the pod wrote into the volume folder', () => {
    const tree = describeTree(folder);
    expect(Object.keys(tree).filter((p) => p.startsWith('reports/2026/'))).toHaveLength(200);
    expect(tree['old.txt']?.mtime).toBe(Date.parse('2020-02-03T04:05:06Z') / 1000);
  });

  it('backs up the volume as it was when the snapshot was cut, while the source changes', async () => {
    atSnapshot = describeTree(folder);
    await apply(
      ns,
      dataMover('snap', {
        sourcePvc: 'app',
        secretName: 'bucket',
        addTimestampPrefix: true,
        copyMethod: 'Snapshot',
        volumeSnapshotClassName: 'test-real-snapshots',
        deletePvcAfterBackup: true,
        tolerations: real.realTolerations(),
      }),
    );
    await waitFor(
      async () =>
        (
          await getJson<{ status?: { readyToUse?: boolean } }>([
            'get',
            'volumesnapshot',
            'snap-snapshot',
            '-n',
            ns,
          ])
        )?.status?.readyToUse === true,
      { timeoutMs: 30_000, intervalMs: 100, what: 'the snapshot to be ready' },
    );
    // The application goes on: a changed file, a new one, a deleted one.
    writeFileSync(join(folder, 'reports/2026/row-1.txt'), 'changed after the snapshot\n');
    writeFileSync(join(folder, 'written-after-the-snapshot.txt'), 'new\n');
    rmSync(join(folder, 'old.txt'));
    const dm = await real.timed('backup through a snapshot', () =>
      real.dataMoverCompleted(ns, 'snap', 120_000),
    );
    const want = real.fileHashes(atSnapshot);
    expect(await real.filesOfRun(dm, BUCKET)).toEqual(want);
    expect(describeTree(folder)['reports/2026/row-1.txt']?.sha256).not.toBe(
      want.get('reports/2026/row-1.txt'),
    );
  });

  it('leaves no snapshot, content, clone or snapshot data behind', async () => {
    await waitFor(async () => (await itemsIn('volumesnapshots', ns)).length === 0, {
      what: 'the VolumeSnapshot deleted',
    });
    await waitFor(async () => !(await itemsIn('pvc', ns)).includes('snap-clone'), {
      what: 'the clone deleted',
    });
    await waitFor(async () => !readdirSync(dirname(folder)).some((n) => n.startsWith('snapcontent-')), {
      what: "the snapshot's folder on the node removed",
    });
    const contents = await getJson<{
      items: Array<{ spec: { volumeSnapshotRef?: { namespace?: string } } }>;
    }>(['get', 'volumesnapshotcontents']);
    expect(contents?.items.filter((c) => c.spec.volumeSnapshotRef?.namespace === ns)).toEqual([]);
  });

  it('restores the snapshot-time volume byte for byte', async () => {
    const { waitForRestore } = restoreHelpers({ ns });
    await apply(
      ns,
      restore('back', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'app' } },
        target: { newPvc: { name: 'back', storageClassName: CLASS } },
        tolerations: real.realTolerations(),
      }),
    );
    const r = await real.timed('restore of the snapshot backup', () =>
      waitForRestore('back', undefined, 120_000),
    );
    expect(r.status?.phase, r.status?.message).toBe('Completed');
    expect(real.withoutOwners(describeTree(await real.hostFolderOf(ns, 'back')))).toEqual(
      real.withoutOwners(atSnapshot),
    );
  });
});
