// What arrives in the bucket, and what a restore gives back, for a tree with everything a volume
// holds: nested folders, empty files and folders, a 256 MiB file (multipart upload), symlinks,
// modes other than 0644, owners, names with spaces and non-ASCII characters.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { describeDestination } from '../../src/jobs/destination.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { RCLONE, S3Server } from '../support/s3.js';
import { describeTree, makeTree, tempDir } from '../support/tree.js';

const exec = promisify(execFile);
const s3 = new S3Server();
let source: string;

beforeAll(async () => {
  await s3.start('backups');
  source = tempDir('dm-src-');
  makeTree(source, { bigFileMiB: 256 });
});

afterAll(async () => {
  await s3.stop();
});

const moverEnv = (spec: Parameters<typeof dm>[0]) =>
  moverEnvFor(dm(spec), s3.secretEnv('backups'), source, T0);

const rclone = (args: string[]) =>
  exec(RCLONE, args, { env: { ...process.env, ...s3.remoteEnv() }, maxBuffer: 64 * 1024 * 1024 });

describe('a backup', () => {
  it('puts every file in the bucket at the path status shows, with matching content', async () => {
    const spec = { addTimestampPrefix: true };
    const run = await runMover(moverEnv(spec));
    expect(run.code, run.output).toBe(0);
    const result = parseMoverResult(run.termination)!;
    const status = describeDestination(dm(spec), T0); // bucket:ns/data/2026-01-02-030405-<UID's>/
    const path = status.slice(status.indexOf(':') + 1);
    expect(result.destination).toBe(`backups/${path}`);
    expect(result.files).toBe(10);
    expect(result.bytes).toBeGreaterThan(256 * 1024 * 1024);
    // rclone check compares sizes and hashes of every file (links as .rclonelink objects).
    // The run's folder holds its marker and, in data/, the volume's files.
    const data = `S3:backups/${path}data/`;
    const check = await rclone(['check', source, data, '--one-way', '--links', '--download']);
    expect(check.stderr).toContain('0 differences found');
    const objects = (await rclone(['lsf', '-R', data])).stdout.split('\n').filter(Boolean).sort();
    expect(objects).toEqual(
      expect.arrayContaining([
        'README.md',
        'big.bin',
        'current.db.rclonelink',
        'db/data.db',
        'données/été/naïve café.txt',
        'empty dir/',
        'empty.txt',
        'with space.txt',
      ]),
    );
  });

  it('transfers only what changed on a second run', async () => {
    const env = moverEnv({});
    expect((await runMover(env)).code).toBe(0);
    writeFileSync(join(source, 'with space.txt'), 'changed!\n');
    utimesSync(join(source, 'with space.txt'), new Date(), new Date(Date.now() + 5000));
    const second = await runMover(env);
    expect(second.code, second.output).toBe(0);
    expect(parseMoverResult(second.termination)).toMatchObject({ files: 1, bytes: 9 });
  });

  it('applies include and exclude filters and the bandwidth limit from the DataMover', async () => {
    const run = await runMover(
      moverEnv({ destinationPath: 'filtered', exclude: ['db/**', 'big.bin'], bandwidthLimit: '50M' }),
    );
    expect(run.code, run.output).toBe(0);
    const objects = (await rclone(['lsf', '-R', '--files-only', 'S3:backups/filtered/mirror/data/'])).stdout
      .split('\n')
      .filter(Boolean);
    expect(objects.some((o) => o.startsWith('db/'))).toBe(false);
    expect(objects).not.toContain('big.bin');
    expect(objects).toContain('README.md');
    const only = await runMover(moverEnv({ destinationPath: 'only-db', include: ['db/**'] }));
    expect(only.code, only.output).toBe(0);
    const dbObjects = (await rclone(['lsf', '-R', '--files-only', 'S3:backups/only-db/mirror/data/'])).stdout
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(dbObjects).toEqual(['db/data.db', 'db/wal/segments/0001.seg']);
  });

  it('restores into an empty folder with content, paths, mtimes, modes, owners, links and empty folders', async () => {
    const env = moverEnv({ destinationPath: 'restore-test' });
    expect((await runMover(env)).code).toBe(0);
    const restore = tempDir('dm-restore-');
    await rclone([
      'copy',
      'S3:backups/restore-test/mirror/data/',
      restore,
      '--metadata',
      '--links',
      '--create-empty-src-dirs',
      '--metadata-exclude',
      'content-type',
    ]);
    expect(describeTree(restore)).toEqual(describeTree(source));
  });
});

describe('a first backup into a new root', () => {
  // rclone logs `ERROR : error listing: directory not found` when it lists a folder nobody wrote yet;
  // a user reading the pod's log of a healthy first run must not see an error.
  it.each([
    ['a timestamped run', { destinationPath: 'first/timestamped', addTimestampPrefix: true }],
    ['the mirror', { destinationPath: 'first/mirror' }],
  ])('logs no ERROR line: %s', async (_what, spec) => {
    const run = await runMover(moverEnv(spec));
    expect(run.code, run.output).toBe(0);
    const errors = run.output.split('\n').filter((l) => /\bERROR\b|"level":"error"/i.test(l));
    expect(errors).toEqual([]);
    expect(parseMoverResult(run.termination)).toMatchObject({ files: 10, errors: 0 });
  });
});
