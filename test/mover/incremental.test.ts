// Incremental runs against a real S3 server: a tree backed up twice, 1 % of it changed in between.
// The second run copies the unchanged files inside the bucket from the first and uploads only what
// changed (a plain run through rclone --copy-dest; an encrypted one by seeding its folder with the
// first run's ciphertext); each run still holds every file, so each restores byte for byte on its
// own, no object outside the second run's folder changes, and deleting the first run leaves the
// second whole. Bytes uploaded and times, full against incremental, are printed (BENCHMARKS.md).
// The plain tree is 1 GiB (DATAMOVER_INCREMENTAL_MIB), the encrypted one a quarter of it: its
// verification downloads and decrypts every run whole.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoverResult, type MoverResult } from '../../src/contract/result.js';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { runFolder } from '../../src/jobs/destination.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server, listBucket, rcloneOn } from '../support/s3.js';
import { snapshotTree, tempDir, type FullEntry } from '../support/tree.js';

const s3 = new S3Server();
const BUCKET = 'backups';
const MIB = 1024 * 1024;
const TREE_MIB = Number(process.env.DATAMOVER_INCREMENTAL_MIB ?? 1024);
const CRYPT = { RCLONE_CRYPT_PASSWORD: 'correct horse battery staple', RCLONE_CRYPT_PASSWORD2: 'pepper' };
const NOTES = 20;

beforeAll(async () => {
  await s3.start(BUCKET);
});

afterAll(async () => {
  await s3.stop();
});

const writeRandom = (path: string, bytes: number) => writeFileSync(path, randomBytes(bytes));

/** 128 random files in 8 folders (`mib` in all) and 20 small ones; returns the bytes written. */
function makeTree(root: string, mib: number): { bytes: number; fileBytes: number } {
  const fileBytes = (mib * MIB) / 128;
  for (let i = 0; i < 128; i++) {
    const folder = join(root, `part-${i % 8}`);
    mkdirSync(folder, { recursive: true });
    writeRandom(join(folder, `file-${i}.bin`), fileBytes);
  }
  let bytes = 128 * fileBytes;
  for (let i = 0; i < NOTES; i++) {
    writeFileSync(join(root, `note-${i}.txt`), `note ${i}\n`);
    bytes += `note ${i}\n`.length;
  }
  return { bytes, fileBytes };
}

const treeBytes = (tree: Map<string, FullEntry>) => [...tree.values()].reduce((n, e) => n + (e.size ?? 0), 0);

function expectSameTree(got: Map<string, FullEntry>, want: Map<string, FullEntry>): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [path, entry] of want) expect(got.get(path), path).toEqual(entry);
}

describe.each([
  ['plain', {}, TREE_MIB],
  ['encrypted', CRYPT, TREE_MIB / 4],
])('a second timestamped run of a PVC, %s', (name, keys: Record<string, string>, mib) => {
  const root = `ns/${name}`;

  /** A backup of `source` by its own DataMover (each scheduled run is one), started at `start`. */
  async function backup(source: string, dmName: string, start: Date) {
    const dataMover = dm({ destinationPath: root, addTimestampPrefix: true }, undefined, dmName);
    const begun = Date.now();
    const env = { ...moverEnvFor(dataMover, s3.secretEnv(BUCKET), source, start), ...keys };
    const out = await runMover(env);
    expect(out.code, out.output).toBe(0);
    return {
      result: parseMoverResult(out.termination)! satisfies MoverResult,
      seconds: (Date.now() - begun) / 1000,
      run: runFolder(dataMover, start),
    };
  }

  /** Restores `run` into an empty folder and returns that folder's snapshot. */
  async function restored(run: string): Promise<Map<string, FullEntry>> {
    const target = tempDir('dm-incremental-target-');
    const out = await runMover({
      ...s3.secretEnv(BUCKET),
      ...keys,
      DATAMOVER_COMMAND: 'restore',
      DATAMOVER_BACKUP_ROOT: root,
      DATAMOVER_RESTORE_RUN: run,
      DATAMOVER_RESTORE_TARGET: target,
      DATAMOVER_NAMESPACE: 'ns',
      DATAMOVER_SOURCE_PVC: 'data',
    });
    expect(out.code, out.output).toBe(0);
    expect(parseMoverResult(out.termination)?.restore).toMatchObject({ run, mismatches: 0 });
    const snapshot = snapshotTree(target);
    rmSync(target, { recursive: true, force: true });
    return snapshot;
  }

  it('uploads only what changed, and each run restores on its own, the second without the first', async () => {
    const source = tempDir('dm-incremental-src-');
    const made = makeTree(source, mib);
    const full = await backup(source, `${name}-1`, T0);
    expect(full.result.bytes).toBe(made.bytes);
    // Encrypted, what is uploaded is the ciphertext: a header and a tag per 64 KiB block more.
    if (name === 'plain') expect(full.result.uploaded).toBe(made.bytes);
    else expect(full.result.uploaded).toBeGreaterThan(made.bytes);
    expect(full.result.base).toBeUndefined();
    const first = snapshotTree(source);

    // 1 % changes: a file rewritten, one a quarter its size added, two small files deleted, one edited.
    writeRandom(join(source, 'part-0', 'file-0.bin'), made.fileBytes);
    writeRandom(join(source, 'part-1', 'added.bin'), made.fileBytes / 4);
    rmSync(join(source, 'note-1.txt'));
    rmSync(join(source, 'note-2.txt'));
    writeFileSync(join(source, 'note-3.txt'), 'note 3, edited\n');
    const second = snapshotTree(source);
    const secondBytes = treeBytes(second);

    // Listed with the server's MD5 of every object: downloading gigabytes to hash them would double the
    // test's time on a machine the cluster tiers share.
    const before = await listBucket(s3, BUCKET);
    const incremental = await backup(source, `${name}-2`, new Date(T0.getTime() + 86_400_000));
    // It read the first run and changed nothing outside its own folder.
    const after = await listBucket(s3, BUCKET);
    for (const [key, state] of before) expect(after.get(key), key).toEqual(state);
    const added = [...after.keys()].filter((key) => !before.has(key));
    expect(added.every((key) => key.startsWith(`${root}/${incremental.run}/`))).toBe(true);

    expect(incremental.result.base).toBe(full.run);
    expect(incremental.result.bytes).toBe(secondBytes);
    const uploaded = incremental.result.uploaded!;
    expect(uploaded).toBeGreaterThanOrEqual(made.fileBytes);
    expect(uploaded).toBeLessThanOrEqual(0.02 * secondBytes);
    console.log(
      `incremental, ${name}, ${mib} MiB tree: full run uploaded ${full.result.uploaded} bytes in ${full.seconds.toFixed(1)} s; ` +
        `second run (1 % changed) uploaded ${uploaded} bytes (${((100 * uploaded) / secondBytes).toFixed(2)} %) ` +
        `and copied ${secondBytes - uploaded} in the bucket, in ${incremental.seconds.toFixed(1)} s`,
    );

    expectSameTree(await restored(full.run), first);
    // The first run deleted (as a prune would): the second is whole on its own.
    await rcloneOn(s3, ['purge', `S3:${BUCKET}/${root}/${full.run}`]);
    expectSameTree(await restored(incremental.run), second);
    rmSync(source, { recursive: true, force: true });
  });
});

describe('an encrypted run whose newest Complete run has other keys', () => {
  it('uploads in full rather than copy what it could not decrypt, and restores with its own keys', async () => {
    const root = 'ns/rekeyed';
    const source = tempDir('dm-incremental-rekeyed-');
    const made = makeTree(source, 4);
    const run = async (dmName: string, start: Date, password: string) => {
      const dataMover = dm({ destinationPath: root, addTimestampPrefix: true }, undefined, dmName);
      const env = {
        ...moverEnvFor(dataMover, s3.secretEnv(BUCKET), source, start),
        RCLONE_CRYPT_PASSWORD: password,
      };
      const out = await runMover(env);
      expect(out.code, out.output).toBe(0);
      return {
        result: parseMoverResult(out.termination)!,
        out: out.output,
        run: runFolder(dataMover, start),
      };
    };
    await run('old-key', T0, 'the old key');
    const rekeyed = await run('new-key', new Date(T0.getTime() + 3_600_000), 'the new key');
    expect(rekeyed.result.base).toBeUndefined();
    expect(rekeyed.result.uploaded).toBeGreaterThan(made.bytes);
    expect(rekeyed.out).toContain("does not decrypt with this run's keys: uploading in full");
    const target = tempDir('dm-incremental-rekeyed-target-');
    const out = await runMover({
      ...s3.secretEnv(BUCKET),
      RCLONE_CRYPT_PASSWORD: 'the new key',
      DATAMOVER_COMMAND: 'restore',
      DATAMOVER_BACKUP_ROOT: root,
      DATAMOVER_RESTORE_RUN: rekeyed.run,
      DATAMOVER_RESTORE_TARGET: target,
      DATAMOVER_NAMESPACE: 'ns',
      DATAMOVER_SOURCE_PVC: 'data',
    });
    expect(out.code, out.output).toBe(0);
    expectSameTree(snapshotTree(target), snapshotTree(source));
  });
});
