// Incremental runs against a real S3 server: a 1 GiB tree backed up twice, 1 % of it changed in
// between. The second run copies the unchanged files inside the bucket from the first (rclone
// --copy-dest) and uploads only what changed; each run still holds every file, so each restores byte
// for byte on its own, and deleting the first run leaves the second whole. Bytes uploaded and times,
// full against incremental, are printed (BENCHMARKS.md). DATAMOVER_INCREMENTAL_MIB sizes the tree.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoverResult, type MoverResult } from '../../src/contract/result.js';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { runFolder } from '../../src/jobs/destination.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server, rcloneOn, snapshotBucket } from '../support/s3.js';
import { snapshotTree, tempDir, type FullEntry } from '../support/tree.js';

const s3 = new S3Server();
const BUCKET = 'backups';
const ROOT = 'ns/data';
const MIB = 1024 * 1024;
const TREE_MIB = Number(process.env.DATAMOVER_INCREMENTAL_MIB ?? 1024);
/** The tree: files of 8 MiB (the last one smaller), in 8 folders, and a few small files. */
const FILE_MIB = 8;
let source: string;
let treeBytes = 0;

function writeRandom(path: string, bytes: number): void {
  writeFileSync(path, randomBytes(bytes));
}

beforeAll(async () => {
  await s3.start(BUCKET);
  source = tempDir('dm-incremental-src-');
  for (let i = 0, left = TREE_MIB * MIB; left > 0; i++) {
    const folder = join(source, `part-${i % 8}`);
    mkdirSync(folder, { recursive: true });
    const size = Math.min(left, FILE_MIB * MIB);
    writeRandom(join(folder, `file-${i}.bin`), size);
    left -= size;
    treeBytes += size;
  }
  for (let i = 0; i < 20; i++) writeFileSync(join(source, `note-${i}.txt`), `note ${i}\n`);
  treeBytes += [...Array(20).keys()].reduce((sum, i) => sum + `note ${i}\n`.length, 0);
});

afterAll(async () => {
  await s3.stop();
});

/** A backup of the tree by its own DataMover (each scheduled run is one), started at `start`. */
async function backup(
  name: string,
  start: Date,
): Promise<{ result: MoverResult; seconds: number; run: string }> {
  const dataMover = dm({ destinationPath: ROOT, addTimestampPrefix: true }, undefined, name);
  const begun = Date.now();
  const out = await runMover(moverEnvFor(dataMover, s3.secretEnv(BUCKET), source, start));
  expect(out.code, out.output).toBe(0);
  return {
    result: parseMoverResult(out.termination)!,
    seconds: (Date.now() - begun) / 1000,
    run: runFolder(dataMover, start),
  };
}

/** Restores `run` into an empty folder and returns that folder's snapshot. */
async function restored(run: string): Promise<Map<string, FullEntry>> {
  const target = tempDir('dm-incremental-target-');
  const out = await runMover({
    ...s3.secretEnv(BUCKET),
    DATAMOVER_COMMAND: 'restore',
    DATAMOVER_BACKUP_ROOT: ROOT,
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

function expectSameTree(got: Map<string, FullEntry>, want: Map<string, FullEntry>): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [path, entry] of want) expect(got.get(path), path).toEqual(entry);
}

describe('a second timestamped run of a PVC', () => {
  it('uploads only what changed, and each run restores on its own, the second without the first', async () => {
    const full = await backup('nightly-1', T0);
    expect(full.result).toMatchObject({ bytes: treeBytes, uploaded: treeBytes });
    expect(full.result.base).toBeUndefined();
    const first = snapshotTree(source);

    // 1 % changes: one 8 MiB file rewritten, a 2 MiB file added, two small files deleted, one edited.
    writeRandom(join(source, 'part-0', 'file-0.bin'), FILE_MIB * MIB);
    writeRandom(join(source, 'part-1', 'added.bin'), 2 * MIB);
    rmSync(join(source, 'note-1.txt'));
    rmSync(join(source, 'note-2.txt'));
    writeFileSync(join(source, 'note-3.txt'), 'note 3, edited\n');
    const second = snapshotTree(source);
    const secondBytes = [...second.values()].reduce((sum, e) => sum + (e.size ?? 0), 0);

    const before = await snapshotBucket(s3, BUCKET);
    const incremental = await backup('nightly-2', new Date(T0.getTime() + 86_400_000));
    // It read the first run and changed nothing outside its own folder.
    const after = await snapshotBucket(s3, BUCKET);
    for (const [key, state] of before) expect(after.get(key), key).toEqual(state);
    const added = [...after.keys()].filter((key) => !before.has(key));
    expect(added.every((key) => key.startsWith(`${ROOT}/${incremental.run}/`))).toBe(true);
    expect(incremental.result.base).toBe(full.run);
    expect(incremental.result.bytes).toBe(secondBytes);
    const uploaded = incremental.result.uploaded!;
    expect(uploaded).toBeGreaterThanOrEqual(10 * MIB);
    expect(uploaded).toBeLessThanOrEqual(0.02 * secondBytes);
    console.log(
      `incremental, ${(treeBytes / MIB).toFixed(0)} MiB tree: full run uploaded ${full.result.uploaded} bytes in ${full.seconds.toFixed(1)} s; ` +
        `second run (1 % changed) uploaded ${uploaded} bytes (${((100 * uploaded) / secondBytes).toFixed(2)} %) ` +
        `and copied ${secondBytes - uploaded} in the bucket, in ${incremental.seconds.toFixed(1)} s`,
    );

    expectSameTree(await restored(full.run), first);

    // The first run deleted (as a prune would): the second is whole on its own.
    await rcloneOn(s3, ['purge', `S3:${BUCKET}/${ROOT}/${full.run}`]);
    expectSameTree(await restored(incremental.run), second);
  });
});
