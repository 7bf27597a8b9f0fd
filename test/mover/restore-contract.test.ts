// The restore command run as the operator's restore Job specifies (buildRestoreJob): the image's
// ENTRYPOINT and layout, a read-only root filesystem, exactly the Job's environment (the Secret as
// the kubelet resolves its Secret keys), its UID/GID and capabilities, the target volume mounted writable at /restore and
// an emptyDir at /tmp (bubblewrap). The termination message is read with the operator's own machine
// into the DataMoverRestore's status and events, as a user sees them.
//
// - The default Job (UID 65534, no capability) restores everything but owners, and says so: the
//   report counts and names the entries whose owner it could not apply, and the restore is Completed
//   with status.ownersNotApplied, the OwnersRestored condition False and a Warning event.
// - restoreOwners (root with CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_OVERRIDE only) gives every
//   entry its owner back, set-group-ID bits of other groups included, and verifies the volume with
//   owners; with only CAP_CHOWN and CAP_FOWNER it cannot (why the Job adds the other two).
import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMoverRestoreSpec } from '../../src/api/v1alpha1/restore.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { config, dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { endedPod, inPhase, observed, restore } from '../../src/controller/restore/fixtures.test-helpers.js';
import { decideRestore } from '../../src/controller/restore/machine.js';
import { restoreEvents } from '../../src/controller/restore/transitions.js';
import { buildRestoreJob } from '../../src/jobs/restore-job.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server } from '../support/s3.js';
import { containerEnv, entrypointWith, imageSandbox, sandbox, terminationLog } from '../support/sandbox.js';
import { makeTree, snapshotTree, tempDir, type FullEntry } from '../support/tree.js';

const s3 = new S3Server();
const BUCKET = 'backups';
let source: string;
const CRYPT = { RCLONE_CRYPT_PASSWORD: 'sandbox secret' };
const APP = 999;

/**
 * What a database volume holds besides makeTree's: a private folder and file of the application's
 * user, a shared set-group-ID folder of its group, a set-group-ID program and a link of its own.
 */
function addApplicationFiles(root: string): void {
  mkdirSync(join(root, 'pgdata'));
  writeFileSync(join(root, 'pgdata/PG_VERSION'), '17\n');
  chmodSync(join(root, 'pgdata/PG_VERSION'), 0o600);
  chownSync(join(root, 'pgdata/PG_VERSION'), APP, APP);
  symlinkSync('PG_VERSION', join(root, 'pgdata/version-link'));
  lchownSync(join(root, 'pgdata/version-link'), APP, APP);
  chownSync(join(root, 'pgdata'), APP, APP);
  chmodSync(join(root, 'pgdata'), 0o700);
  mkdirSync(join(root, 'shared'));
  writeFileSync(join(root, 'shared/report.txt'), 'shared\n');
  chownSync(join(root, 'shared/report.txt'), 1000, APP);
  chmodSync(join(root, 'shared/report.txt'), 0o640);
  writeFileSync(join(root, 'shared/tool'), '#!/bin/sh\n');
  chownSync(join(root, 'shared/tool'), 1000, APP);
  chmodSync(join(root, 'shared/tool'), 0o2755);
  chownSync(join(root, 'shared'), 1000, APP);
  chmodSync(join(root, 'shared'), 0o2775);
}

beforeAll(async () => {
  await s3.start(BUCKET);
  source = tempDir('dm-src-');
  makeTree(source);
  addApplicationFiles(source);
  for (const [root, keys] of [
    ['plain', {}],
    ['crypt', CRYPT],
  ] as const) {
    // The backup runs as root here: it reads every file (as the privileged reader would).
    const env = moverEnvFor(dm({ destinationPath: root }), s3.secretEnv(BUCKET), source, T0);
    const backup = await runMover({ ...env, ...keys });
    expect(backup.code, backup.output).toBe(0);
  }
});

afterAll(async () => {
  await s3.stop();
});

const SOURCE = { secretName: 'bucket', root: 'plain', namespace: 'ns', sourcePvc: 'data' };

/**
 * Runs the restore Job of a DataMoverRestore with this spec into a fresh folder, as the kubelet would
 * run its pod; `capabilities` replaces the Job's own (to show what fewer would do).
 */
async function runRestoreJob(
  spec: Partial<DataMoverRestoreSpec>,
  opts: { root?: string; keys?: Record<string, string>; capabilities?: string[] } = {},
) {
  const job = buildRestoreJob(
    restore(spec),
    { ...SOURCE, root: opts.root ?? 'plain' },
    'data-restored',
    config,
  );
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;
  const env = containerEnv(container, { [SOURCE.secretName]: { ...s3.secretEnv(BUCKET), ...opts.keys } });

  const target = tempDir('dm-restore-volume-');
  const termination = terminationLog();
  const uid = pod.securityContext!.runAsUser!;
  const added = container.securityContext!.capabilities?.add;
  const args = imageSandbox({
    uid,
    gid: pod.securityContext!.runAsGroup!,
    termination,
    ...(uid === 0 ? { capabilities: opts.capabilities ?? added ?? [] } : {}),
  });
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes!.find((v) => v.name === mount.name)!;
    if (volume.persistentVolumeClaim) args.push('--bind', target, mount.mountPath);
    else if (volume.emptyDir) args.push('--tmpfs', mount.mountPath, '--chmod', '1777', mount.mountPath);
  }
  args.push(...entrypointWith(env));
  const run = await sandbox(args);
  const message = readFileSync(termination, 'utf8');
  // What the operator makes of it: the Restoring restore's Job succeeded with this report.
  const before = restore(
    spec,
    inPhase('Restoring', { source: `bucket:${opts.root ?? 'plain'}/`, jobName: 'back-restore' }),
  );
  const status = decideRestore(
    before,
    observed({
      // The Job itself, ended: a success must carry the report bound to this restore and root.
      job: {
        ...job,
        status: {
          conditions: [
            run.code === 0
              ? { type: 'Complete', status: 'True' }
              : { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
          ],
        },
      },
      pods: [endedPod(run.code, message)],
    }),
    config,
  ).status;
  return {
    ...run,
    target,
    report: parseMoverResult(message),
    status,
    events: restoreEvents(before.status!, status),
  };
}

/** What a restore that is not root gives back: everything but owners. */
const withoutOwners = (tree: Map<string, FullEntry>) =>
  new Map([...tree].map(([path, { uid: _u, gid: _g, ...rest }]) => [path, rest]));

const condition = (s: { conditions?: Array<{ type: string }> }, type: string) =>
  s.conditions?.find((c) => c.type === type);

describe('the default restore Job (UID 65534, no capability)', () => {
  it.each([
    ['plain', {}],
    ['crypt', CRYPT],
  ])(
    'restores %s with every mode and time, and never completes silently without the owners',
    async (root, keys) => {
      const run = await runRestoreJob({}, { root, keys });
      expect(run.code, run.output).toBe(0);
      const report = run.report!.restore!;
      expect(report).toMatchObject({ run: 'mirror', mismatches: 0 });
      expect(withoutOwners(snapshotTree(run.target))).toEqual(withoutOwners(snapshotTree(source)));
      // Every entry not owned by 65534 in the source is counted and the first ones are named.
      const foreign = [...snapshotTree(source).values()].filter((e) => e.uid !== 65534).length;
      expect(report.notApplied?.count).toBe(foreign);
      // The first 10 in the manifest's order, each with the owner it got and the backup's.
      const first = [...snapshotTree(source).keys()].slice(0, 10);
      expect(report.notApplied!.named.map((n) => n.split(': ')[0])).toEqual(first);
      expect(report.notApplied!.named).toContain(
        'db/wal/segments/0001.seg: owner (65534:65534, not 1001:1002)',
      );
      expect(run.output).toContain(`could not apply the owner of ${foreign} entries`);

      // The user sees it: Completed, with the count, the first paths, a condition and a Warning.
      expect(run.status.phase).toBe('Completed');
      expect(run.status.ownersNotApplied).toBe(foreign);
      expect(run.status.ownersNotAppliedFiles).toEqual(report.notApplied!.named);
      expect(condition(run.status, 'OwnersRestored')).toMatchObject({
        status: 'False',
        reason: 'OwnersNotApplied',
      });
      expect(run.status.message).toContain(`could not apply the owner of ${foreign} entries`);
      const warning = run.events.find((e) => e.type === 'Warning');
      expect(warning).toMatchObject({ reason: 'OwnersNotApplied' });
      expect(warning!.message).toContain(`could not apply the owner of ${foreign} entries`);
      expect(warning!.message).toContain('db/wal/segments/0001.seg: owner (65534:65534, not 1001:1002)');
      expect(warning!.message).toContain('restoreOwners');
    },
  );

  it('refuses to restore owners it cannot apply: DATAMOVER_RESTORE_OWNERS=true needs root', async () => {
    const env = {
      ...s3.secretEnv(BUCKET),
      DATAMOVER_COMMAND: 'restore',
      DATAMOVER_BACKUP_ROOT: 'plain',
      DATAMOVER_RESTORE_TARGET: tempDir('dm-restore-volume-'),
      DATAMOVER_NAMESPACE: 'ns',
      DATAMOVER_SOURCE_PVC: 'data',
      DATAMOVER_RESTORE_OWNERS: 'true',
    };
    const run = await runMover(env, { uid: 65534 });
    expect(run.code).toBe(MoverExit.ConfigError);
    expect(parseMoverResult(run.termination)!.error).toMatch(
      /DATAMOVER_RESTORE_OWNERS=true needs a mover that runs as root with CAP_CHOWN and CAP_FOWNER .* not uid 65534/,
    );
  });
});

describe('the restoreOwners Job (root with CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_DAC_OVERRIDE)', () => {
  it.each([
    ['plain', {}],
    ['crypt', CRYPT],
  ])('gives every entry of %s its owner back and verifies it', async (root, keys) => {
    const run = await runRestoreJob({ restoreOwners: true }, { root, keys });
    expect(run.code, run.output).toBe(0);
    expect(run.report!.restore).toMatchObject({ run: 'mirror', mismatches: 0 });
    expect(run.report!.restore!.notApplied).toBeUndefined();
    // Owners, modes (the set-group-ID folder and program of group 999 too), times, links, content.
    expect(snapshotTree(run.target)).toEqual(snapshotTree(source));
    expect(snapshotTree(run.target).get('shared/tool')).toMatchObject({ mode: '2755', uid: 1000, gid: APP });
    expect(run.status.phase).toBe('Completed');
    expect(run.status.ownersNotApplied).toBe(0);
    expect(condition(run.status, 'OwnersRestored')).toMatchObject({
      status: 'True',
      reason: 'OwnersApplied',
    });
    expect(run.events.filter((e) => e.type === 'Warning')).toEqual([]);
  });

  it('cannot with CAP_CHOWN and CAP_FOWNER alone: the verify cannot read back a file it gave to another user', async () => {
    const run = await runRestoreJob({ restoreOwners: true }, { capabilities: ['CHOWN', 'FOWNER'] });
    expect(run.code).not.toBe(0);
    expect(run.status.phase).toBe('Failed');
    // db/wal/segments/0001.seg is 0640 of 1001:1002: root without CAP_DAC_OVERRIDE may not read it.
    expect(run.status.message).toMatch(/permission denied, open '\/restore\/db\/wal\/segments\/0001\.seg'/);
  });

  it('cannot without CAP_FSETID: the set-group-ID bit of a group root is not in is lost, and the restore fails naming it', async () => {
    const run = await runRestoreJob(
      { restoreOwners: true },
      { capabilities: ['CHOWN', 'FOWNER', 'DAC_OVERRIDE'] },
    );
    expect(run.code).toBe(MoverExit.VerifyFailed);
    expect(run.status).toMatchObject({ phase: 'Failed', mismatches: 2 });
    expect(run.status.mismatchedFiles).toEqual([
      'shared: mode (775, not 2775)',
      'shared/tool: mode (755, not 2755)',
    ]);
  });
});
