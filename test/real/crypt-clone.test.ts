// Two promises a user relies on without seeing them, on the real node:
// - clone isolation: the backup holds the volume as it was when the clone was made, even though the
//   application changes it while the backup runs (the test changes the source folder on the host as
//   soon as the clone is Bound);
// - client-side encryption: with RCLONE_CRYPT_PASSWORD in the Secret the bucket holds no file name and
//   no content of the volume (the S3 server's own folder is searched), and a DataMoverRestore with the
//   same Secret gives back every file with its content, mode and time.
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apply, dataMover, getJson, waitFor } from '../support/cluster.js';
import { restore, restoreHelpers } from '../support/restores.js';
import {
  busyboxPod,
  dataMoverCompleted,
  hostFolderOf,
  makeBucket,
  realBucketSecret,
  realPvc,
  realTolerations,
  runPod,
  skipReason,
  tier,
  timed,
  titled,
  useRealNamespace,
  fileHashes,
  filesOfRun,
  withoutOwners,
} from '../support/realnode.js';
import { describeTree } from '../support/tree.js';

const MARKER = 'PLAINTEXT-MARKER-7f3a';
/** Names that must not appear in the encrypted bucket (each long enough never to occur by chance). */
const NAMES = [
  'quarterly-report.txt',
  'secret-plans',
  'naïve café.txt',
  'données-privées',
  'payroll-2026.csv',
];

/** The same small tree in /a (encrypted backup) and /b (clone isolation), every file holding MARKER. */
const WRITER = `set -eu
for v in a b; do
  cd /$v
  mkdir -p secret-plans/drafts 'données-privées' 'empty folder'
  printf '${MARKER} quarterly numbers\\n' > secret-plans/quarterly-report.txt
  printf '${MARKER} draft\\n' > secret-plans/drafts/payroll-2026.csv && chmod 664 secret-plans/drafts/payroll-2026.csv
  printf '${MARKER} ünïcödé\\n' > 'données-privées/naïve café.txt'
  i=0; while [ $i -lt 50 ]; do printf '${MARKER} %d\\n' $i > secret-plans/note-$i.txt; i=$((i + 1)); done
  head -c 3000000 /dev/urandom > secret-plans/blob.bin
  printf '${MARKER} old\\n' > old.txt && touch -d '2020-02-03 04:05:06' old.txt
  ln -s secret-plans/quarterly-report.txt report-link
done
echo written`;

let ns = '';

useRealNamespace('real-crypt', async (name) => {
  ns = name;
  const crypt = realBucketSecret('crypt', 'crypt');
  Object.assign(crypt.stringData, {
    RCLONE_CRYPT_PASSWORD: 'correct horse battery staple',
    RCLONE_CRYPT_PASSWORD2: 'pepper',
  });
  await Promise.all([
    makeBucket('crypt'),
    makeBucket('isolation'),
    apply(ns, crypt, realBucketSecret('plain', 'isolation'), realPvc('app'), realPvc('busy')),
  ]);
  await runPod(
    ns,
    busyboxPod('writer', WRITER, [
      { claim: 'app', mount: 'a' },
      { claim: 'busy', mount: 'b' },
    ]),
  );
});

const spec = (sourcePvc: string, secretName: string) => ({
  sourcePvc,
  secretName,
  addTimestampPrefix: true,
  tolerations: realTolerations(),
});

/** Every file below a folder of the host, by relative path. */
function filesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out;
}

describe.skipIf(!!skipReason())(titled('clone isolation and encryption on the real node'), () => {
  it('backs up the volume as it was when cloned, while the source changes', async () => {
    const folder = await hostFolderOf(ns, 'busy');
    const atClone = describeTree(folder);
    await apply(ns, dataMover('isolated', spec('busy', 'plain')));
    // The application goes on writing as soon as the clone exists: a changed file, a new one, a
    // deleted one.
    await waitFor(
      async () =>
        (await getJson<{ status?: { phase?: string } }>(['get', 'pvc', 'isolated-clone', '-n', ns]))?.status
          ?.phase === 'Bound',
      { timeoutMs: 30_000, intervalMs: 100, what: 'the clone to bind' },
    );
    writeFileSync(join(folder, 'secret-plans/quarterly-report.txt'), 'changed after the clone\n');
    writeFileSync(join(folder, 'written-after-the-clone.txt'), 'new\n');
    rmSync(join(folder, 'old.txt'));
    const dm = await timed('backup while the source changes', () => dataMoverCompleted(ns, 'isolated'));
    const want = fileHashes(atClone);
    expect(await filesOfRun(dm, 'isolation')).toEqual(want);
    expect(describeTree(folder)['secret-plans/quarterly-report.txt']?.sha256).not.toBe(
      want.get('secret-plans/quarterly-report.txt'),
    );
  });

  it('encrypts: the bucket holds no name or content of the volume, and a restore gives it all back', async () => {
    const source = describeTree(await hostFolderOf(ns, 'app'));
    await apply(ns, dataMover('encrypted', spec('app', 'crypt')));
    await timed('encrypted backup', () => dataMoverCompleted(ns, 'encrypted'));
    // The S3 server's folder: what anyone reading the bucket sees.
    const bucket = join(tier().s3.root, 'crypt');
    const stored = filesBelow(bucket);
    const data = stored.filter((p) => p.includes('/data/'));
    expect(data.length).toBeGreaterThan(50);
    const plaintext = (root: string, path: string) => readFileSync(join(root, path)).includes(MARKER);
    for (const path of stored) {
      for (const name of NAMES) expect(path, 'an object name').not.toContain(name);
      expect(plaintext(bucket, path), `${path} holds plaintext`).toBe(false);
    }
    // The search would find them: the unencrypted backup of the same tree shows both.
    const clear = join(tier().s3.root, 'isolation');
    const inClear = filesBelow(clear);
    expect(inClear.some((p) => p.includes('secret-plans/quarterly-report.txt'))).toBe(true);
    expect(inClear.some((p) => plaintext(clear, p))).toBe(true);

    const { waitForRestore } = restoreHelpers({ ns });
    await apply(
      ns,
      restore('decrypted', {
        source: { backup: { secretName: 'crypt', sourcePvc: 'app' } },
        target: { newPvc: { name: 'decrypted', storageClassName: 'test-real' } },
        tolerations: realTolerations(),
      }),
    );
    const r = await timed('encrypted restore', () => waitForRestore('decrypted', undefined, 120_000));
    expect(r.status?.phase, r.status?.message).toBe('Completed');
    expect(withoutOwners(describeTree(await hostFolderOf(ns, 'decrypted')))).toEqual(withoutOwners(source));
  });
});
