import { describe, expect, it } from 'vitest';
import type { DataMoverRestore, DataMoverRestoreSpec } from '../api/v1alpha1/restore.js';
import { config } from '../controller/datamover/fixtures.test-helpers.js';
import { buildRestoreJob } from './restore-job.js';

function restore(spec: Partial<DataMoverRestoreSpec> = {}): DataMoverRestore {
  return {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverRestore',
    metadata: { name: 'back', namespace: 'ns', uid: 'uid-back', generation: 1 },
    spec: {
      source: { backup: { secretName: 'bucket', sourcePvc: 'db' } },
      target: { newPvc: { name: 'db-restored' } },
      ...spec,
    },
  };
}

const source = { secretName: 'bucket', root: 'ns/db', namespace: 'ns', sourcePvc: 'db' };

describe('the restore Job', () => {
  const job = buildRestoreJob(
    restore({ run: '2026-01-02-030405', securityContext: { runAsUser: 1000, fsGroup: 2000 } }),
    source,
    'db-restored',
    config,
  );
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;

  it('passes Pod Security restricted, as the backup Job does', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      fsGroup: 2000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('mounts the target PVC read-write at /restore and reads the Secret into the environment', () => {
    expect(container.volumeMounts).toContainEqual({ name: 'target', mountPath: '/restore' });
    expect(pod.volumes).toContainEqual({
      name: 'target',
      persistentVolumeClaim: { claimName: 'db-restored' },
    });
    expect(container.envFrom).toBeUndefined();
    expect(container.env).toContainEqual({
      name: 'BUCKET_NAME',
      valueFrom: { secretKeyRef: { name: 'bucket', key: 'BUCKET_NAME' } },
    });
    expect(container.env).toContainEqual({ name: 'DATAMOVER_UID', value: 'uid-back' });
  });

  it('tells the mover to restore which run of whose backups, and where', () => {
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'DATAMOVER_COMMAND', value: 'restore' },
        { name: 'DATAMOVER_BACKUP_ROOT', value: 'ns/db' },
        { name: 'DATAMOVER_RESTORE_RUN', value: '2026-01-02-030405' },
        { name: 'DATAMOVER_RESTORE_TARGET', value: '/restore' },
        { name: 'DATAMOVER_NAMESPACE', value: 'ns' },
        { name: 'DATAMOVER_SOURCE_PVC', value: 'db' },
      ]),
    );
    expect(container.env!.map((e) => e.name)).not.toContain('DATAMOVER_RESTORE_OVERWRITE');
  });

  it("names the other namespace whose backups it reads, for the mover to check against the root's marker", () => {
    const other = { secretName: 'bucket', root: 'team-a/db', namespace: 'team-a', sourcePvc: 'db' };
    const env = buildRestoreJob(restore(), other, 't', config).spec!.template.spec!.containers[0]!.env!;
    expect(env).toContainEqual({ name: 'DATAMOVER_NAMESPACE', value: 'team-a' });
    expect(env).toContainEqual({ name: 'DATAMOVER_BACKUP_ROOT', value: 'team-a/db' });
  });

  it('restores the newest backup by default and overwrites a non-empty target only when asked', () => {
    const env = buildRestoreJob(restore({ overwrite: true }), source, 't', config).spec!.template.spec!
      .containers[0]!.env!;
    expect(env).toContainEqual({ name: 'DATAMOVER_RESTORE_RUN', value: 'latest' });
    expect(env).toContainEqual({ name: 'DATAMOVER_RESTORE_OVERWRITE', value: 'true' });
  });

  it('fails at once on a verification failure or a missing backup, and is owned by the restore', () => {
    expect(job.spec!.podFailurePolicy!.rules[0]).toMatchObject({
      action: 'FailJob',
      onExitCodes: { values: expect.arrayContaining([9, 10]) },
    });
    expect(job.metadata!.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DataMoverRestore', name: 'back', uid: 'uid-back', controller: true }),
    ]);
  });

  it("carries the operator's child labels, the command label kwok simulates by, and the owner's name", () => {
    expect(job.spec!.template.metadata!.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'datamover-operator',
      'datamover.io/restore': 'back',
      'datamover.io/command': 'restore',
    });
    expect(job.spec!.template.metadata!.annotations).toEqual({ 'datamover.io/restore-name': 'back' });
    expect(job.metadata!.name).toBe('back-restore');
  });
});

describe('the restore Job with restoreOwners', () => {
  const pod = buildRestoreJob(restore({ restoreOwners: true }), source, 'db-restored', config).spec!.template
    .spec!;
  const container = pod.containers[0]!;

  it('runs as root with only CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_OVERRIDE, restricted otherwise', () => {
    expect(pod.securityContext).toEqual({
      runAsNonRoot: false,
      runAsUser: 0,
      runAsGroup: 0,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: false,
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'FOWNER', 'FSETID', 'DAC_OVERRIDE'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('tells the mover to apply and verify owners', () => {
    expect(container.env).toContainEqual({ name: 'DATAMOVER_RESTORE_OWNERS', value: 'true' });
  });

  it('is not asked for by default: the Job stays non-root and the mover is not told to', () => {
    const plain = buildRestoreJob(restore(), source, 'db-restored', config).spec!.template.spec!
      .containers[0]!;
    expect(plain.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
    expect(plain.env?.map((e) => e.name)).not.toContain('DATAMOVER_RESTORE_OWNERS');
  });
});
