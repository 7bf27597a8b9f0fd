// The contract between the operator and the mover image: the Job the operator builds for a
// DataMover is run as the image would run it — the image's ENTRYPOINT, exactly the Job's
// environment (the Secret's keys resolved as the kubelet would), its UID/GID, its mounts (the clone read-only at
// /data, an emptyDir at /tmp), all capabilities dropped and a read-only root filesystem — inside
// bubblewrap; the termination message is parsed with the operator's own parser into the status.
import { chmodSync, chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, config, dm, T0, terminatedPod } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { decide } from '../../src/controller/datamover/machine.js';
import { buildMoverJob } from '../../src/jobs/job.js';
import { S3Server } from '../support/s3.js';
import {
  SYSTEM,
  containerEnv,
  entrypointWith,
  imageSandbox,
  sandbox,
  terminationLog,
} from '../support/sandbox.js';
import { makeTree, tempDir } from '../support/tree.js';

const s3 = new S3Server();
let source: string;

beforeAll(async () => {
  await s3.start('backups');
  source = tempDir('dm-clone-');
  makeTree(source);
  // Every file readable by the pod's user (the unreadable case is in permissions.test.ts).
  chownSync(join(source, 'db/wal/segments/0001.seg'), 0, 0);
  chmodSync(join(source, 'db/data.db'), 0o644);
});

afterAll(async () => {
  await s3.stop();
});

describe('the mover Job', () => {
  it('runs in the image layout as the Job specifies and reports into the DataMover status', async () => {
    const dataMover = dm({
      addTimestampPrefix: true,
      securityContext: { runAsUser: 65534, runAsGroup: 65534 },
    });
    const moverJob = buildMoverJob(dataMover, config, T0);
    const pod = moverJob.spec!.template.spec!;
    const container = pod.containers[0]!;
    const secret = s3.secretEnv('backups');

    // The Secret's keys by name, then the literal values, as the kubelet gives them.
    const env = containerEnv(container, { [dataMover.spec.secretName!]: secret });

    const termination = terminationLog();
    const args = imageSandbox({
      uid: pod.securityContext!.runAsUser!,
      gid: pod.securityContext!.runAsGroup!,
      termination,
    });
    for (const mount of container.volumeMounts ?? []) {
      const volume = pod.volumes!.find((v) => v.name === mount.name)!;
      if (volume.persistentVolumeClaim)
        args.push(mount.readOnly ? '--ro-bind' : '--bind', source, mount.mountPath);
      else if (volume.emptyDir) args.push('--tmpfs', mount.mountPath, '--chmod', '1777', mount.mountPath);
    }
    args.push(...entrypointWith(env));

    const run = await sandbox(args);
    expect(run.code, run.output).toBe(0);
    const message = readFileSync(termination, 'utf8');
    const status = decide(
      dm(dataMover.spec, {
        phase: 'CreatingPod',
        jobName: 'backup-mover',
        startTime: T0.toISOString(),
        destination: 'bucket:ns/data/2026-01-02-030405-2e123ab7/',
        phaseStartTime: at(0).toISOString(),
      }),
      // The Job itself, succeeded: the report must be bound to the run it was given.
      {
        now: at(9),
        job: { ...moverJob, status: { conditions: [{ type: 'Complete', status: 'True' }] } },
        pods: [terminatedPod(0, message)],
      },
      config,
    ).status;
    expect(status).toMatchObject({ phase: 'Completed', filesTransferred: 9 });
    expect(status.bytesTransferred).toBeGreaterThan(100_000);
    // The run's start second and 8 hex digits of the DataMover's UID (uid-backup is no UUID: hashed).
    expect(JSON.parse(message).destination).toBe('backups/ns/data/2026-01-02-030405-2e123ab7/');
  });

  it('cannot write to its root filesystem or the clone', async () => {
    const args = [
      '--unshare-user',
      '--uid',
      '65534',
      '--gid',
      '65534',
      '--cap-drop',
      'ALL',
      ...SYSTEM,
      '--ro-bind',
      source,
      '/data',
      '--tmpfs',
      '/tmp',
      '--dev',
      '/dev',
      '--remount-ro',
      '/',
      '--',
      'sh',
      '-c',
      'touch /x 2>/dev/null && echo root-writable; touch /data/x 2>/dev/null && echo data-writable; touch /tmp/x && echo tmp-writable',
    ];
    const run = await sandbox(args);
    expect(run.output.trim()).toBe('tmp-writable');
  });
});
