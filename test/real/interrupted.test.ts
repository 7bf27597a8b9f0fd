// A mover killed in the middle of its sync, on the real node: a large file under a bandwidth limit
// keeps the sync going while the test kills the mover container's processes (SIGKILL, as the OOM
// killer or a node's eviction would). What a user would check: the Job retries and the backup
// completes; a restore of `latest` started while the half-written run is in the bucket reads the
// previous complete backup; and afterwards the bucket holds both runs Complete, each object hashing
// as its file did, with no partial object anywhere and the earlier run untouched.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { MARKER, type RunMarker } from '../../src/contract/layout.js';
import { apply, dataMover, getDataMover, getJson, waitFor } from '../support/cluster.js';
import { restore, restoreHelpers } from '../support/restores.js';
import {
  busyboxPod,
  dataMoverCompleted,
  hostFolderOf,
  makeBucket,
  realBucketSecret,
  realPvc,
  realS3,
  realTolerations,
  runFolderOf,
  runPod,
  runsIn,
  skipReason,
  tier,
  timed,
  titled,
  useRealNamespace,
  withoutOwners,
} from '../support/realnode.js';
import { snapshotBucket } from '../support/s3.js';
import { describeTree } from '../support/tree.js';

const BUCKET = 'interrupted';
/** 32 MiB at 4 MiB/s: the sync of the large file lasts about 8 s per attempt. */
const BIG_MIB = 32;
const LIMIT = '4M';

const env = useRealNamespace('real-interrupted', (ns) =>
  Promise.all([makeBucket(BUCKET), apply(ns, realBucketSecret('bucket', BUCKET), realPvc('app'))]),
);

const spec = (extra: Record<string, unknown> = {}) => ({
  sourcePvc: 'app',
  secretName: 'bucket',
  addTimestampPrefix: true,
  tolerations: realTolerations(),
  ...extra,
});

/** The processes of a DataMover's mover container on this host (the node's containers run here). */
function moverProcesses(ns: string, name: string): number[] {
  const wanted = [`DATAMOVER_NAMESPACE=${ns}`, `DATAMOVER_NAME=${name}`];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const vars = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (wanted.every((v) => vars.includes(v))) pids.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return pids;
}

/** The files below a folder on the host, recursively, with their sizes. */
function filesBelow(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else out[path.slice(dir.length + 1)] = st.size;
    }
  };
  walk(dir);
  return out;
}

/** The exit codes of the mover pods of a Job, oldest first. */
async function moverExitCodes(ns: string, job: string): Promise<Array<number | undefined>> {
  const pods = await getJson<{
    items: Array<{
      metadata: { creationTimestamp: string };
      status?: { containerStatuses?: Array<{ state?: { terminated?: { exitCode: number } } }> };
    }>;
  }>(['get', 'pods', '-n', ns, '-l', `job-name=${job}`]);
  return (pods?.items ?? [])
    .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp))
    .map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode);
}

describe.skipIf(!!skipReason())(titled('a mover killed mid-sync on the real node'), () => {
  it('retries to a complete backup; latest reads the previous run meanwhile; the bucket stays consistent', async () => {
    const { ns } = env;
    const root = `${ns}/app`;
    const hostRoot = join(tier().s3.root, BUCKET, root);
    const volume = await (async () => {
      await runPod(
        ns,
        busyboxPod('writer-1', 'echo 1 > /data/version.txt && mkdir /data/sub && echo a > /data/sub/a.txt', [
          { claim: 'app', mount: 'data' },
        ]),
      );
      return hostFolderOf(ns, 'app');
    })();
    const v1 = describeTree(volume);
    await apply(ns, dataMover('first', spec()));
    const first = await timed('first backup', () => dataMoverCompleted(ns, 'first'));
    const firstRun = runFolderOf(first);
    const before = await snapshotBucket(realS3(), BUCKET);

    await runPod(
      ns,
      busyboxPod(
        'writer-2',
        `echo 2 > /data/version.txt && head -c $((${BIG_MIB} * 1024 * 1024)) /dev/urandom > /data/big.bin`,
        [{ claim: 'app', mount: 'data' }],
      ),
    );
    const v2 = describeTree(volume);
    await apply(ns, dataMover('second', spec({ bandwidthLimit: LIMIT })));

    // The sync is under way once the run's data folder holds a file; the large file is not whole yet.
    const { run, data } = await timed('second backup to start its sync', () =>
      waitFor(
        async () => {
          const dm = await getDataMover(ns, 'second');
          if (!dm?.status?.destination) return undefined;
          const r = runFolderOf(dm);
          const d = join(hostRoot, r, 'data');
          try {
            return Object.keys(filesBelow(d)).length > 0 ? { run: r, data: d } : undefined;
          } catch {
            return undefined;
          }
        },
        { timeoutMs: 90_000, intervalMs: 100, what: 'the second backup to write its first object' },
      ),
    );
    expect(filesBelow(data)['big.bin'] ?? 0).toBeLessThan(BIG_MIB * 1024 * 1024);
    const pids = moverProcesses(ns, 'second');
    expect(pids.length, 'the mover processes of the second backup on this host').toBeGreaterThan(0);
    // A process listed may end before its kill (the mover's short-lived helpers do): it is gone, as
    // wanted. At least one must have been running, or nothing was interrupted.
    let killed = 0;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed += 1;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    expect(killed, 'mover processes of the second backup killed').toBeGreaterThan(0);

    // The half-written run is in the bucket, marked InProgress: a restore of latest must not pick it.
    const marker = JSON.parse(readFileSync(join(hostRoot, run, MARKER), 'utf8')) as RunMarker;
    expect(marker.state).toBe('InProgress');
    const { waitForRestore } = restoreHelpers(env);
    await apply(
      ns,
      restore('meanwhile', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'app' } },
        target: { newPvc: { name: 'restored', storageClassName: 'test-real' } },
        tolerations: realTolerations(),
      }),
    );

    const second: DataMover = await timed('second backup to complete after the kill', () =>
      dataMoverCompleted(ns, 'second', 150_000),
    );
    const restored = await timed('restore of latest', () => waitForRestore('meanwhile', undefined, 120_000));
    expect(restored.status?.phase, restored.status?.message).toBe('Completed');

    // The Job retried: the first pod was killed (137), the second finished the run.
    expect(second.status?.attempts).toBe(2);
    expect(await moverExitCodes(ns, second.status!.jobName!)).toEqual([137, 0]);
    expect(runFolderOf(second)).toBe(run);

    // The restore started while the run was half written, and read the previous complete backup.
    expect(restored.status?.run).toBe(firstRun);
    expect(withoutOwners(describeTree(await hostFolderOf(ns, 'restored')))).toEqual(withoutOwners(v1));

    // The bucket: two Complete runs; the second holds every file of the volume as it hashes, and no
    // partial object; nothing else below the root changed.
    expect(runsIn(BUCKET, root)).toEqual({ [firstRun]: 'Complete', [run]: 'Complete' });
    const after = await snapshotBucket(realS3(), BUCKET);
    const prefix = `${root}/${run}/data/`;
    const inRun = new Map(
      [...after].filter(([p]) => p.startsWith(prefix)).map(([p, o]) => [p.slice(prefix.length), o.sha256]),
    );
    const files = Object.entries(v2).filter(([, e]) => e.type === 'file');
    expect(inRun).toEqual(new Map(files.map(([p, e]) => [p, e.sha256!])));
    const outside = (m: typeof after) => new Map([...m].filter(([p]) => !p.startsWith(`${root}/${run}/`)));
    expect(outside(after)).toEqual(before);
    const stray = [...after.keys()].filter(
      (p) => !p.startsWith(`${root}/${firstRun}/`) && !p.startsWith(`${root}/${run}/`),
    );
    expect(
      stray.every((p) => !p.slice(root.length + 1).includes('/')),
      stray.join(', '),
    ).toBe(true);
  });
});
