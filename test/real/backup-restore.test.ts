// Real bytes through the Jobs the operator builds: a writer pod makes a tree in a test-real volume, a
// DataMover backs it up from a clone (the mover pod on the real node, restricted profile, read-only
// root, the Secret's S3 endpoint by address), and a DataMoverRestore puts it into a new volume that a
// reader pod hashes. What a user would check: every object in the bucket hashes as its file does, the
// status counts match the tree, and the restored files have the same content, modes and times.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apply, dataMover, kubectlOk } from '../support/cluster.js';
import { restore, restoreHelpers } from '../support/restores.js';
import {
  busyboxPod,
  dataMoverCompleted,
  makeBucket,
  hostFolderOf,
  realBucketSecret,
  realPvc,
  realS3,
  realTolerations,
  runPod,
  skipReason,
  timed,
  titled,
  useRealNamespace,
  withoutOwners,
} from '../support/realnode.js';
import { snapshotBucket } from '../support/s3.js';
import { describeTree, type Entry } from '../support/tree.js';

const BUCKET = 'fidelity';
const BIG_MIB = 200;
const SMALL_FILES = 1000;
const DEPTH = 30;
const DEEPEST = Array.from({ length: DEPTH }, (_, i) => `level-${i + 1}`).join('/');

/**
 * The tree: SMALL_FILES small files (100 to a folder), one BIG_MIB MiB file of random bytes, empty
 * files and folders, names in several scripts, relative, absolute and dangling symlinks, folders
 * nested DEPTH deep, modes other than 0644 and a time in the past. Every entry stays readable by
 * others: the mover's default identity (65534) reads it without the privileged reader.
 */
const WRITER = `set -eu
cd /data
i=0
while [ $i -lt ${SMALL_FILES} ]; do
  d=many/$(( i / 100 ))
  [ $(( i % 100 )) -eq 0 ] && mkdir -p $d
  printf 'small file %d of the real tier\\n' $i > $d/file-$i.txt
  i=$(( i + 1 ))
done
head -c $(( ${BIG_MIB} * 1024 * 1024 )) /dev/urandom > big.bin
: > empty.txt
: > many/0/empty-too
mkdir -p 'empty dir' empty/nested/deeper 'données/été' 日本語
printf 'ünïcödé ✓\\n' > 'données/été/naïve café.txt'
printf 'こんにちは\\n' > 日本語/ファイル.txt
printf 'emoji\\n' > '🎉 party.txt'
p=.
for n in $(seq 1 ${DEPTH}); do p=$p/level-$n; done
mkdir -p $p
printf 'thirty levels down\\n' > $p/bottom.txt
ln -s many/0/file-0.txt link-relative
ln -s /etc/hostname link-absolute
ln -s no/such/file link-dangling
ln -s ../../données many/0/link-up
printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 755 run.sh
printf 'read only\\n' > readonly.txt && chmod 444 readonly.txt
printf 'old\\n' > old.txt && touch -d '2020-02-03 04:05:06' old.txt
chmod 775 many/1
echo written`;

/** The reader: per entry its type, mode, mtime (seconds) and, for files, SHA-256; links their target. */
const READER = `set -eu
cd /restored
find . -mindepth 1 ! -type l -exec stat -c 'E|%F|%a|%Y|%n' {} +
find . -type f -exec sha256sum {} +
find . -type l | while read -r l; do printf 'L|%s|%s\\n' "$l" "$(readlink "$l")"; done`;

interface Seen {
  type?: string;
  mode?: string;
  mtime?: number;
  sha256?: string;
  target?: string;
}

/** The reader's output, by relative path. */
function parseReader(out: string): Record<string, Seen> {
  const seen: Record<string, Seen> = {};
  const at = (p: string) => (seen[p.replace(/^\.\//, '')] ??= {});
  for (const line of out.split('\n').filter(Boolean)) {
    if (line.startsWith('E|')) {
      const [, type, mode, mtime, ...name] = line.split('|');
      Object.assign(at(name.join('|')), { type, mode, mtime: Number(mtime) });
    } else if (line.startsWith('L|')) {
      const [, name, target] = line.split('|');
      Object.assign(at(name!), { type: 'symbolic link', target });
    } else Object.assign(at(line.slice(66)), { sha256: line.slice(0, 64) });
  }
  return seen;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

let ns = '';
let source: Record<string, Entry> = {};

useRealNamespace('real-fidelity', async (name) => {
  ns = name;
  await Promise.all([makeBucket(BUCKET), apply(ns, realBucketSecret('bucket', BUCKET), realPvc('app'))]);
  await timed('writer pod (tree of 1,000 files and 200 MiB)', () =>
    runPod(ns, busyboxPod('writer', WRITER, [{ claim: 'app', mount: 'data' }]), 120_000),
  );
  source = describeTree(await hostFolderOf(ns, 'app'));
});

describe.skipIf(!!skipReason())(titled('a backup and a restore on the real node'), () => {
  const files = () => Object.entries(source).filter(([, e]) => e.type === 'file');
  const links = () => Object.entries(source).filter(([, e]) => e.type === 'link');

  it('backs up every file: each object hashes as its file does, and the status counts match', async () => {
    expect(files().length).toBeGreaterThan(SMALL_FILES);
    // The namespace enforces Pod Security restricted: the mover Job, as the operator writes it, passes.
    const labels = JSON.parse(await kubectlOk(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels}']));
    expect(labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    await apply(
      ns,
      dataMover('backup', {
        sourcePvc: 'app',
        secretName: 'bucket',
        addTimestampPrefix: true,
        tolerations: realTolerations(),
      }),
    );
    const dm = await timed('backup (DataMover to Completed)', () =>
      dataMoverCompleted(ns, 'backup', 150_000),
    );
    // status.destination is <Secret>:<root>/<run>/; the files are in <run>/data/.
    const destination = dm.status!.destination!;
    expect(destination).toMatch(new RegExp(`^bucket:${ns}/app/\\d{4}-\\d{2}-\\d{2}-\\d{6}-[0-9a-f]{8}/$`));
    const data = `${destination.slice('bucket:'.length)}data/`;
    const objects = await timed('hashed listing of the bucket', () => snapshotBucket(realS3(), BUCKET));
    const inRun = new Map(
      [...objects].filter(([p]) => p.startsWith(data)).map(([p, o]) => [p.slice(data.length), o]),
    );
    const expected = new Map<string, string>();
    for (const [path, e] of files()) expected.set(path, e.sha256!);
    // Links are objects named <link>.rclonelink that hold the target.
    for (const [path, e] of links()) expected.set(`${path}.rclonelink`, sha(e.target!));
    expect(new Map([...inRun].map(([p, o]) => [p, o.sha256]))).toEqual(expected);
    const bytes =
      files().reduce((n, [path]) => n + inRun.get(path)!.size, 0) +
      links().reduce((n, [, e]) => n + Buffer.byteLength(e.target!), 0);
    expect(bytes).toBeGreaterThan(BIG_MIB * 1024 * 1024);
    expect(dm.status?.filesTransferred).toBe(expected.size);
    expect(dm.status?.bytesTransferred).toBe(bytes);
  });

  it('restores into a new volume: a reader pod finds the same content, modes and times', async () => {
    const { waitForRestore } = restoreHelpers({ ns });
    await apply(
      ns,
      restore('restore', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'app' } },
        target: { newPvc: { name: 'restored', storageClassName: 'test-real' } },
        tolerations: realTolerations(),
      }),
    );
    const r = await timed('restore (DataMoverRestore to Completed)', () =>
      waitForRestore('restore', undefined, 150_000),
    );
    expect(r.status?.phase, r.status?.message).toBe('Completed');
    const out = await timed('reader pod (hashes every file)', () =>
      runPod(
        ns,
        busyboxPod('reader', READER, [{ claim: 'restored', mount: 'restored', readOnly: true }]),
        120_000,
      ),
    );
    const seen = parseReader(out);
    const want: Record<string, Seen> = {};
    for (const [path, e] of Object.entries(source)) {
      if (e.type === 'file') {
        const type = e.sha256 === sha('') ? 'regular empty file' : 'regular file';
        want[path] = { type, mode: e.mode, mtime: e.mtime, sha256: e.sha256 };
      } else if (e.type === 'link') want[path] = { type: 'symbolic link', target: e.target };
    }
    const got = Object.fromEntries(Object.entries(seen).filter(([, s]) => s.type !== 'directory'));
    expect(got).toEqual(want);
    expect(Object.keys(seen).filter((p) => seen[p]!.type === 'directory')).toEqual(
      expect.arrayContaining(['empty dir', 'empty/nested/deeper', DEEPEST]),
    );
    // The host's view of the restored folder agrees, owners aside (restored as the mover's user).
    const restored = describeTree(await hostFolderOf(ns, 'restored'));
    expect(withoutOwners(restored)).toEqual(withoutOwners(source));
  });
});
