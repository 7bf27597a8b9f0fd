// Restore, verified byte for byte: a backup of a tree with everything a volume holds (a 32 MiB file,
// 1,000 small files, 40 levels of folders, names in several scripts, every kind of symlink, empty
// files and folders, private files of another user) restored by the mover's restore command gives
// back every entry with the same content and metadata, with and without client-side encryption.
// Encrypted, the bucket holds no name or content of the volume. A corrupted object is found by the
// verify command and by a restore, by name; `latest` picks only Complete backups; and a restore
// refuses an unknown run, another PVC's root and a target that is not empty.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MoverExit } from '../../src/contract/exit-codes.js';
import {
  MARKER,
  parseMarker,
  runMarker,
  timestampFolder,
  type RunMarker,
} from '../../src/contract/layout.js';
import { ENCRYPTED_MANIFEST, MANIFEST } from '../../src/contract/manifest.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { runFolder } from '../../src/jobs/destination.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server, rcloneOn } from '../support/s3.js';
import { CONTENT_MARKER, makeRestoreTree, makeTree, snapshotTree, tempDir } from '../support/tree.js';
import { makeTempDir } from '../support/tempdirs.js';

const s3 = new S3Server();
const BUCKET = 'backups';
const CRYPT = { RCLONE_CRYPT_PASSWORD: 'correct horse battery staple', RCLONE_CRYPT_PASSWORD2: 'pepper' };
/**
 * The round trip's large file. The real tier (test/real/backup-restore.test.ts) round-trips 200 MiB
 * and 1,000 files through the operator on a real node; here the tree stays small enough for the
 * mover tier to run beside the real tier within the CI budget.
 */
const BIG_MIB = 32;
let big: string;
let small: string;

beforeAll(async () => {
  await s3.start(BUCKET);
  big = tempDir('dm-restore-src-');
  makeRestoreTree(big, { bigFileMiB: BIG_MIB, smallFiles: 1_000 });
  small = tempDir('dm-small-src-');
  makeTree(small);
});

afterAll(async () => {
  await s3.stop();
});

/** The run folder the backups below write: their start second and their DataMover's UID. */
const backupRun = (start = T0) => runFolder(dm({ addTimestampPrefix: true }), start);

const backupEnv = (root: string, source: string, start = T0, extra: Record<string, string> = {}) => ({
  ...moverEnvFor(
    dm({ destinationPath: root, addTimestampPrefix: true }),
    s3.secretEnv(BUCKET),
    source,
    start,
  ),
  ...extra,
});

const restoreEnv = (root: string, target: string, extra: Record<string, string> = {}) => ({
  ...s3.secretEnv(BUCKET),
  DATAMOVER_COMMAND: 'restore',
  DATAMOVER_BACKUP_ROOT: root,
  DATAMOVER_RESTORE_RUN: 'latest',
  DATAMOVER_RESTORE_TARGET: target,
  DATAMOVER_NAMESPACE: 'ns',
  DATAMOVER_SOURCE_PVC: 'data',
  ...extra,
});

const verifyEnv = (root: string, extra: Record<string, string> = {}) => {
  const env: Record<string, string> = {
    ...restoreEnv(root, '/nonexistent', extra),
    DATAMOVER_COMMAND: 'verify',
  };
  delete env.DATAMOVER_RESTORE_TARGET;
  return env;
};

/** An empty folder the restore writes into (as root, like the privileged reader). */
const emptyTarget = () => tempDir('dm-restore-target-');

const seconds = (output: string, pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? NaN);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now();
  const out = await fn();
  return [out, (Date.now() - start) / 1000];
}

describe('a backup restored by the restore command', () => {
  it.each([
    ['without encryption', 'plain', {}],
    ['with encryption', 'crypt', CRYPT],
  ])(
    'gives back every file, folder and link byte for byte with its metadata, %s',
    async (_what, name, keys) => {
      const root = `round-trip/${name}`;
      const [backup, backupSeconds] = await timed(() => runMover(backupEnv(root, big, T0, keys)));
      expect(backup.code, backup.output).toBe(0);
      const report = parseMoverResult(backup.termination)!;
      expect(report.verify).toMatchObject({ mismatches: 0, mismatched: [] });
      // Every entry of the tree is in the manifest and was checked: 1,000 files and the rest.
      expect(report.verify!.verified).toBe(snapshotTree(big).size);

      const target = emptyTarget();
      const [restored, restoreSeconds] = await timed(() => runMover(restoreEnv(root, target, keys)));
      expect(restored.code, restored.output).toBe(0);
      const result = parseMoverResult(restored.termination)!.restore!;
      expect(result).toMatchObject({
        run: backupRun(),
        mismatches: 0,
        verified: snapshotTree(big).size,
      });
      expect(result.notApplied).toBeUndefined();
      expect(result.bytes).toBeGreaterThan(BIG_MIB * 1024 * 1024);

      const want = snapshotTree(big);
      const got = snapshotTree(target);
      expect([...got.keys()]).toEqual([...want.keys()]);
      for (const [path, entry] of want) expect(got.get(path), path).toEqual(entry);

      const sync = seconds(backup.output, /to \S+ in ([\d.]+) s/);
      const verify = seconds(backup.output, /mismatch\(es\) in ([\d.]+) s/);
      console.log(
        `round trip ${name}: backup ${backupSeconds.toFixed(1)} s (sync ${sync} s, manifest and verify ${verify} s), restore ${restoreSeconds.toFixed(1)} s`,
      );
    },
  );

  it('leaves no name or content of the volume in the bucket when encrypted', async () => {
    const copy = makeTempDir('dm-bucket-copy-');
    // Every stored object, downloaded through the S3 API as it is stored.
    await rcloneOn(s3, ['copy', `S3:${BUCKET}/round-trip/crypt`, copy]);
    const objects: string[] = [];
    const walk = (dir: string, rel: string) => {
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        if (statSync(p).isDirectory()) walk(p, `${rel}${n}/`);
        else objects.push(`${rel}${n}`);
      }
    };
    walk(copy, '');
    expect(objects.length).toBeGreaterThan(1_000);
    const run = backupRun();
    expect(objects).toContain(`${run}/${ENCRYPTED_MANIFEST}`);
    expect(objects).not.toContain(`${run}/${MANIFEST}`);
    const plaintext = [
      'naïve',
      'ファイル',
      'party',
      'file-00042',
      'level-39',
      'secret.key',
      'many',
      'link-dangling',
    ];
    for (const o of objects) for (const word of plaintext) expect(o, o).not.toContain(word);
    const needles = [CONTENT_MARKER, 'file-00042', 'secret.key', 'naïve café', 'no/such/file'].map((t) =>
      Buffer.from(t),
    );
    for (const o of objects) {
      const content = readFileSync(join(copy, o));
      for (const needle of needles)
        expect(content.includes(needle), `${o} holds ${needle.toString()}`).toBe(false);
    }
    // The marker says the run is encrypted, and nothing of the volume.
    const marker = parseMarker(readFileSync(join(copy, run, MARKER), 'utf8')) as RunMarker;
    expect(marker).toMatchObject({ state: 'Complete', encrypted: true });
  });

  it('refuses an encrypted backup without the key, and reads it with the key only', async () => {
    const noKey = await runMover(restoreEnv('round-trip/crypt', emptyTarget()));
    expect(noKey.code).toBe(MoverExit.ConfigError);
    expect(parseMoverResult(noKey.termination)!.error).toMatch(
      /is encrypted: the Secret must give RCLONE_CRYPT_PASSWORD/,
    );
    const wrong = await runMover(
      restoreEnv('round-trip/crypt', emptyTarget(), { ...CRYPT, RCLONE_CRYPT_PASSWORD: 'wrong' }),
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).not.toContain(CRYPT.RCLONE_CRYPT_PASSWORD);
  });
});

describe('a corrupted object', () => {
  it.each([
    ['without encryption', 'plain', {}],
    ['with encryption', 'crypt', CRYPT],
  ])('is found by verify and by a restore, by name, %s', async (_what, name, keys) => {
    const root = `corrupt/${name}`;
    const backup = await runMover(backupEnv(root, small, T0, keys));
    expect(backup.code, backup.output).toBe(0);
    const data = `S3:${BUCKET}/${root}/${backupRun()}/data/`;
    // The object of db/data.db (100,000 bytes): the only one that large, whatever its stored name.
    const listing = JSON.parse((await rcloneOn(s3, ['lsjson', '-R', '--files-only', data])).stdout) as Array<{
      Path: string;
      Size: number;
    }>;
    const victim = listing.sort((a, b) => b.Size - a.Size)[0]!;
    const file = join(makeTempDir('dm-corrupt-'), 'object');
    writeFileSync(file, Buffer.alloc(victim.Size, 1));
    await rcloneOn(s3, ['copyto', file, `${data}${victim.Path}`]);

    const verify = await runMover(verifyEnv(root, keys));
    expect(verify.code, verify.output).toBe(MoverExit.VerifyFailed);
    const verified = parseMoverResult(verify.termination)!;
    expect(verified.verify).toMatchObject({ mismatches: 1 });
    expect(verified.verify!.mismatched[0]).toMatch(/^db\/data\.db: content/);
    expect(verified.error).toContain('db/data.db');

    const restore = await runMover(restoreEnv(root, emptyTarget(), keys));
    expect(restore.code, restore.output).toBe(MoverExit.VerifyFailed);
    const restored = parseMoverResult(restore.termination)!;
    expect(restored.restore!.mismatched.some((m) => m.startsWith('db/data.db: '))).toBe(true);
    expect(restored.error).toContain('db/data.db');
  });
});

describe('restoring latest', () => {
  const root = 'latest';
  const complete = T0;
  const newer = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

  beforeAll(async () => {
    const backup = await runMover(backupEnv(root, small, complete));
    expect(backup.code, backup.output).toBe(0);
    const identity = { namespace: 'ns', pvc: 'data', dataMover: { name: 'later', uid: 'uid-later' } };
    const put = async (run: string, marker: RunMarker | undefined) => {
      const dir = makeTempDir('dm-fake-run-');
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'half-written.bin'), 'partial');
      if (marker) writeFileSync(join(dir, MARKER), JSON.stringify(marker));
      await rcloneOn(s3, ['copy', dir, `S3:${BUCKET}/${root}/${run}`]);
    };
    // Newer than the Complete backup: one being written, one being pruned, one without a marker (an
    // older operator's names), and one abandoned (its DataMover went away before it completed).
    const inProgress = timestampFolder(newer(10));
    await put(inProgress, runMarker(identity, inProgress, newer(10)));
    const deleting = timestampFolder(newer(20));
    await put(deleting, { ...runMarker(identity, deleting, newer(20)), state: 'Deleting' });
    await put(timestampFolder(newer(30)), undefined);
    const abandoned = `${timestampFolder(newer(40))}-0a1b2c3d`;
    await put(abandoned, {
      ...runMarker(identity, abandoned, newer(40)),
      state: 'Abandoned',
      abandoned: newer(50).toISOString(),
    });
  });

  it('picks the newest Complete backup, never one still being written, being pruned, abandoned or without a marker', async () => {
    const run = await runMover(restoreEnv(root, emptyTarget()));
    expect(run.code, run.output).toBe(0);
    expect(parseMoverResult(run.termination)!.restore).toMatchObject({
      run: backupRun(complete),
      mismatches: 0,
    });
  });

  it('refuses a named run that is not Complete, naming what the root holds', async () => {
    const run = await runMover(
      restoreEnv(root, emptyTarget(), { DATAMOVER_RESTORE_RUN: timestampFolder(newer(10)) }),
    );
    expect(run.code).toBe(MoverExit.BackupNotFound);
    const error = parseMoverResult(run.termination)!.error!;
    expect(error).toContain(`no Complete backup ${timestampFolder(newer(10))} of PVC ns/data`);
    expect(error).toContain(`${timestampFolder(newer(10))} (InProgress)`);
    expect(error).toContain(`${timestampFolder(newer(20))} (Deleting)`);
    expect(error).toContain(`${timestampFolder(newer(40))}-0a1b2c3d (Abandoned)`);
    expect(error).toContain(`${backupRun(complete)} (Complete)`);
  });
});

describe('a restore refuses', () => {
  it('an unknown run with BackupNotFound, and a root without backups', async () => {
    const unknown = await runMover(
      restoreEnv('latest', emptyTarget(), { DATAMOVER_RESTORE_RUN: '2030-01-01-000000' }),
    );
    expect(unknown.code).toBe(MoverExit.BackupNotFound);
    expect(parseMoverResult(unknown.termination)!.error).toMatch(
      /no Complete backup 2030-01-01-000000 .* in backups\/latest\/: it holds /,
    );
    const none = await runMover(restoreEnv('nothing/here', emptyTarget()));
    expect(none.code).toBe(MoverExit.BackupNotFound);
    expect(parseMoverResult(none.termination)!.error).toMatch(/backups\/nothing\/here\/ holds no backups/);
  });

  it("another PVC's root with DestinationConflict", async () => {
    const run = await runMover(restoreEnv('latest', emptyTarget(), { DATAMOVER_SOURCE_PVC: 'other' }));
    expect(run.code).toBe(MoverExit.DestinationConflict);
    expect(parseMoverResult(run.termination)!.error).toMatch(
      /holds the backups of PVC ns\/data, not of PVC ns\/other/,
    );
  });

  it('a target that is not empty, unless told to overwrite it', async () => {
    const target = emptyTarget();
    writeFileSync(join(target, 'precious.txt'), 'do not lose me');
    const run = await runMover(restoreEnv('latest', target));
    expect(run.code).toBe(MoverExit.ConfigError);
    expect(parseMoverResult(run.termination)!.error).toMatch(
      /is not empty \(it holds precious\.txt\).*DATAMOVER_RESTORE_OVERWRITE=true/,
    );
    expect(readFileSync(join(target, 'precious.txt'), 'utf8')).toBe('do not lose me');
    const overwrite = await runMover(restoreEnv('latest', target, { DATAMOVER_RESTORE_OVERWRITE: 'true' }));
    expect(overwrite.code, overwrite.output).toBe(0);
    expect(snapshotTree(target)).toEqual(snapshotTree(small));
  });
});
