// The restore command in the mover image's sandbox: the image's ENTRYPOINT and layout, a read-only
// root filesystem, UID 65534, no capabilities, the target volume mounted writable at /restore and an
// emptyDir at /tmp, exactly the environment given (bubblewrap). The operator's restore Job spec
// (buildRestoreJob in src/mover/restore-job.ts) is being written in parallel: once it exists, this
// test should take the UID, mounts and environment from it, as contract.test.ts does for backups.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoverResult } from '../../src/contract/result.js';
import { dm, T0 } from '../../src/controller/fixtures.test-helpers.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server } from '../support/s3.js';
import { entrypointWith, imageSandbox, sandbox, terminationLog } from '../support/sandbox.js';
import { makeTree, snapshotTree, tempDir, type FullEntry } from '../support/tree.js';

const s3 = new S3Server();
let source: string;
const CRYPT = { RCLONE_CRYPT_PASSWORD: 'sandbox secret' };

beforeAll(async () => {
  await s3.start('backups');
  source = tempDir('dm-src-');
  makeTree(source);
  for (const [root, keys] of [
    ['plain', {}],
    ['crypt', CRYPT],
  ] as const) {
    const env = moverEnvFor(dm({ destinationPath: root }), s3.secretEnv('backups'), source, T0);
    const backup = await runMover({ ...env, ...keys });
    expect(backup.code, backup.output).toBe(0);
  }
});

afterAll(async () => {
  await s3.stop();
});

/** What a restore that is not root gives back: everything but owners. */
const withoutOwners = (tree: Map<string, FullEntry>) =>
  new Map([...tree].map(([path, { uid: _u, gid: _g, ...rest }]) => [path, rest]));

describe('the restore command in the mover sandbox', () => {
  it.each([
    ['plain', {}],
    ['crypt', CRYPT],
  ])(
    'restores %s into the mounted volume as UID 65534, reporting the owners it could not apply',
    async (root, keys) => {
      const target = tempDir('dm-restore-volume-');
      const termination = terminationLog();
      const args = imageSandbox({ uid: 65534, gid: 65534, termination });
      args.push('--bind', target, '/restore', '--tmpfs', '/tmp', '--chmod', '1777', '/tmp');
      args.push(
        ...entrypointWith({
          PATH: '/usr/local/bin:/usr/bin:/bin',
          HOME: '/tmp',
          ...s3.secretEnv('backups'),
          ...keys,
          DATAMOVER_COMMAND: 'restore',
          DATAMOVER_BACKUP_ROOT: root,
          DATAMOVER_RESTORE_RUN: 'latest',
          DATAMOVER_NAMESPACE: 'ns',
          DATAMOVER_SOURCE_PVC: 'data',
        }),
      );
      const run = await sandbox(args);
      expect(run.code, run.output).toBe(0);
      const report = parseMoverResult(readFileSync(termination, 'utf8'))!.restore!;
      expect(report).toMatchObject({ run: 'mirror', mismatches: 0, files: 7 });
      // Not root: nothing could be chowned, and the report says so rather than failing.
      expect(report.notApplied?.count).toBeGreaterThan(0);
      expect(report.notApplied?.named[0]).toMatch(/owner/);
      expect(withoutOwners(snapshotTree(target))).toEqual(withoutOwners(snapshotTree(source)));
    },
  );
});
