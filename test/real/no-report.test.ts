// A mover that exits 0 without its report never makes a run Completed. The image here is on the
// operator's allowlist but is no mover, as a custom image of the original operator's users may be:
// the tier's busybox, whose command `sh` exits 0 at once and writes nothing. Its backup and its
// restore end Failed (NoMoverReport, the exit code in the message), counted as failed, with the
// bucket object for object as it was (a hashed listing before and after) and the PVC's recovery
// point where the last real backup put it.
import { describe, expect, it } from 'vitest';
import { repositoryOf } from '../../src/config.js';
import { apply, condition, dataMover, waitForPhase } from '../support/cluster.js';
import { sample } from '../support/operator.js';
import { restore, restoreHelpers } from '../support/restores.js';
import {
  busyboxPod,
  dataMoverCompleted,
  makeBucket,
  realBucketSecret,
  realPvc,
  realS3,
  realTolerations,
  runPod,
  skipReason,
  tier,
  titled,
  useRealNamespace,
} from '../support/realnode.js';
import { snapshotBucket } from '../support/s3.js';

const BUCKET = 'noreport';

const env = useRealNamespace(
  'real-noreport',
  async (ns) => {
    await Promise.all([makeBucket(BUCKET), apply(ns, realBucketSecret('bucket', BUCKET), realPvc('app'))]);
    await runPod(
      ns,
      busyboxPod('writer', 'echo one > /data/a.txt; mkdir /data/d; echo two > /data/d/b.txt', [
        { claim: 'app', mount: 'data' },
      ]),
    );
  },
  () => [`--allowed-mover-images=${repositoryOf(tier().moverImage)},${repositoryOf(tier().busyboxImage)}`],
);

/** The tier's busybox as a DataMover's or a DataMoverRestore's image. */
const impostor = () => {
  const image = tier().busyboxImage;
  return { repository: repositoryOf(image), tag: image.slice(repositoryOf(image).length + 1) };
};

const metric = async (name: string, labels: Record<string, string>) =>
  sample(await env.operator!.scrape(), name, labels);

describe.skipIf(!!skipReason())(titled('a mover that exits 0 without its report, on the real node'), () => {
  it('fails the backup NoMoverReport: the bucket and the recovery point are unchanged, the run counted failed', async () => {
    const ns = env.ns;
    await apply(
      ns,
      dataMover('real', {
        sourcePvc: 'app',
        secretName: 'bucket',
        addTimestampPrefix: true,
        tolerations: realTolerations(),
      }),
    );
    await dataMoverCompleted(ns, 'real');
    const before = await snapshotBucket(realS3(), BUCKET);
    expect(before.size).toBeGreaterThan(2);
    const recoveryPoint = await metric('datamover_last_success_timestamp_seconds', {
      namespace: ns,
      pvc: 'app',
    });
    expect(recoveryPoint).toBeGreaterThan(0);
    const failedBefore = (await metric('datamover_runs_total', { namespace: ns, result: 'failed' })) ?? 0;

    await apply(
      ns,
      dataMover('impostor', {
        sourcePvc: 'app',
        secretName: 'bucket',
        addTimestampPrefix: true,
        image: impostor(),
        tolerations: realTolerations(),
      }),
    );
    const dm = await waitForPhase(ns, 'impostor', 'Failed', 150_000);
    expect(condition(dm, 'Failed')?.reason, dm.status?.message).toBe('NoMoverReport');
    expect(dm.status?.message).toContain('succeeded (exit code 0) without a report proving this run');
    expect(dm.status?.bytesTransferred).toBeUndefined();
    expect(await snapshotBucket(realS3(), BUCKET)).toEqual(before);
    expect(await metric('datamover_last_success_timestamp_seconds', { namespace: ns, pvc: 'app' })).toBe(
      recoveryPoint,
    );
    expect(await metric('datamover_runs_total', { namespace: ns, result: 'failed' })).toBe(failedBefore + 1);
  });

  it('fails the restore NoMoverReport, and the bucket is unchanged', async () => {
    const ns = env.ns;
    const before = await snapshotBucket(realS3(), BUCKET);
    await apply(
      ns,
      restore('impostor-restore', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'app' } },
        target: { newPvc: { name: 'restored', storageClassName: 'test-real' } },
        image: impostor(),
        tolerations: realTolerations(),
      }),
    );
    const r = await restoreHelpers({ ns }).waitForRestore('impostor-restore', undefined, 150_000);
    expect(r.status?.phase, r.status?.message).toBe('Failed');
    expect(r.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('NoMoverReport');
    expect(r.status?.message).toContain('exit code 0');
    expect(r.status?.filesRestored).toBeUndefined();
    expect(await snapshotBucket(realS3(), BUCKET)).toEqual(before);
  });
});
