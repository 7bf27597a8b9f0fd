// Retention with real runs: a DataMoverSchedule with keep {last: 2}, triggered four times, leaves
// exactly two complete backups in the bucket (the two newest), and another PVC's backups under the
// same bucket are untouched, object for object (a hashed listing before and after).
import { describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { apply, dataMover, getJson, kubectlOk, waitFor } from '../support/cluster.js';
import {
  busyboxPod,
  dataMoverCompleted,
  makeBucket,
  realBucketSecret,
  realPvc,
  realS3,
  realTolerations,
  runFolderOf,
  runPod,
  runsIn,
  skipReason,
  timed,
  titled,
  useRealNamespace,
} from '../support/realnode.js';
import { snapshotBucket } from '../support/s3.js';

const BUCKET = 'retention';
let ns = '';

useRealNamespace('real-retention', async (name) => {
  ns = name;
  await Promise.all([
    makeBucket(BUCKET),
    apply(ns, realBucketSecret('bucket', BUCKET), realPvc('app'), realPvc('other')),
  ]);
  const write =
    'for v in a b; do for i in 1 2 3; do echo "$v $i" > /$v/file-$i.txt; done; mkdir /$v/sub; echo x > /$v/sub/y; done';
  await runPod(
    ns,
    busyboxPod('writer', write, [
      { claim: 'app', mount: 'a' },
      { claim: 'other', mount: 'b' },
    ]),
  );
});

describe.skipIf(!!skipReason())(titled('retention on the real node'), () => {
  it('keeps the last two of four triggered backups, and no other PVC loses a byte', async () => {
    await apply(
      ns,
      dataMover('other-backup', {
        sourcePvc: 'other',
        secretName: 'bucket',
        addTimestampPrefix: true,
        tolerations: realTolerations(),
      }),
    );
    const other = await dataMoverCompleted(ns, 'other-backup');
    const ofOther = async () =>
      new Map([...(await snapshotBucket(realS3(), BUCKET))].filter(([p]) => p.startsWith(`${ns}/other/`)));
    const before = await ofOther();
    expect(before.size).toBeGreaterThan(4);
    expect(Object.values(runsIn(BUCKET, `${ns}/other`))).toEqual(['Complete']);

    await apply(ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverSchedule',
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 3 * * *',
        sourcePvc: 'app',
        keep: { last: 2 },
        template: { secretName: 'bucket', tolerations: realTolerations() },
      },
    });
    const runs: DataMover[] = [];
    for (const trigger of ['one', 'two', 'three', 'four']) {
      await kubectlOk([
        'patch',
        'dms',
        'nightly',
        '-n',
        ns,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { trigger } }),
      ]);
      const run = await timed(`scheduled backup '${trigger}'`, () =>
        waitFor(
          async () => {
            const list = await getJson<{ items: DataMover[] }>([
              'get',
              'dm',
              '-n',
              ns,
              '-l',
              'datamover.io/schedule=nightly',
            ]);
            const dm = list?.items.find(
              (d) => d.metadata.annotations?.['datamover.io/fire-time'] === `trigger:${trigger}`,
            );
            const phase = dm?.status?.phase;
            return phase === 'Completed' || phase === 'Failed' ? dm : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 250, what: `the run of trigger ${trigger} to complete` },
        ),
      );
      expect(run.status?.phase, run.status?.message).toBe('Completed');
      runs.push(run);
    }
    // Exactly the two newest runs are left, both Complete; nothing else below the root.
    const newest = runs.slice(2).map(runFolderOf).sort();
    expect(runsIn(BUCKET, `${ns}/app`)).toEqual(Object.fromEntries(newest.map((r) => [r, 'Complete'])));
    // The other PVC's backup: every object as it was.
    expect(await ofOther()).toEqual(before);
    expect(runsIn(BUCKET, `${ns}/other`)).toEqual({ [runFolderOf(other)]: 'Complete' });
  });
});
