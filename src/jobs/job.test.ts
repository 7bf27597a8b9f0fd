import { describe, expect, it } from 'vitest';
import { config, dm, T0 } from '../controller/datamover/fixtures.test-helpers.js';
import { buildMoverJob, moverImage } from './job.js';
import { backupRoot, describeDestination, rootAllowed } from './destination.js';

describe('the mover Job', () => {
  const job = buildMoverJob(
    dm({ backoffLimit: 4, podLabels: { team: 'a' }, securityContext: { runAsUser: 1000, fsGroup: 2000 } }),
    config,
    T0,
  );
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;

  it('passes Pod Security restricted: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 2000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("takes only the Secret's documented keys, each by name, and no Service links", () => {
    // The whole Secret (envFrom) would let a key named NODE_OPTIONS or LD_PRELOAD into the mover.
    expect(container.envFrom).toBeUndefined();
    expect(pod.enableServiceLinks).toBe(false);
    const fromSecret = (container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef);
    expect(fromSecret.map((e) => [e.name, e.valueFrom?.secretKeyRef?.optional ?? false])).toEqual([
      ['AWS_ACCESS_KEY_ID', false],
      ['AWS_SECRET_ACCESS_KEY', false],
      ['AWS_REGION', true],
      ['BUCKET_HOST', false],
      ['BUCKET_NAME', false],
      ['BUCKET_PORT', true],
      ['TLS_HOST', true],
      ['RCLONE_CRYPT_PASSWORD', true],
      ['RCLONE_CRYPT_PASSWORD2', true],
    ]);
    for (const e of fromSecret) {
      expect(e.valueFrom?.secretKeyRef).toMatchObject({ name: 'bucket', key: e.name });
    }
  });

  it("lists the tenant's additionalEnv for the mover to check again, with literal values only", () => {
    const withEnv = buildMoverJob(
      dm({ additionalEnv: [{ name: 'ENVIRONMENT', value: 'production' }] }),
      config,
      T0,
    ).spec!.template.spec!.containers[0]!;
    expect(withEnv.env).toEqual(
      expect.arrayContaining([
        { name: 'DATAMOVER_TENANT_ENV', value: 'ENVIRONMENT' },
        { name: 'ENVIRONMENT', value: 'production' },
      ]),
    );
  });

  it('mounts the clone read-only at /data and reads the Secret into the environment', () => {
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data', readOnly: true });
    expect(pod.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'backup-clone', readOnly: true },
    });
    expect(container.env).toContainEqual({
      name: 'BUCKET_NAME',
      valueFrom: { secretKeyRef: { name: 'bucket', key: 'BUCKET_NAME' } },
    });
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'DATAMOVER_BACKUP_ROOT', value: 'ns/data' },
        { name: 'DATAMOVER_RUN_FOLDER', value: 'mirror' },
        { name: 'DATAMOVER_START_TIME', value: T0.toISOString() },
        { name: 'DATAMOVER_NAMESPACE', value: 'ns' },
        { name: 'DATAMOVER_NAME', value: 'backup' },
        { name: 'DATAMOVER_UID', value: 'uid-backup' },
        { name: 'DATAMOVER_SOURCE_PVC', value: 'data' },
      ]),
    );
    expect(container.env!.map((e) => e.name)).not.toContain('DATAMOVER_ADOPT_DESTINATION');
  });

  it('retries per backoffLimit and fails at once on the configuration-error exit code', () => {
    expect(job.spec!.backoffLimit).toBe(4);
    expect(job.spec!.podFailurePolicy!.rules[0]).toMatchObject({
      action: 'FailJob',
      onExitCodes: { values: [3, 4, 5, 7, 8, 9, 10] },
    });
    expect(pod.restartPolicy).toBe('Never');
  });

  it('labels its pods for the operator and keeps user labels', () => {
    expect(job.spec!.template.metadata!.labels).toMatchObject({
      team: 'a',
      'app.kubernetes.io/managed-by': 'datamover-operator',
      'datamover.io/datamover': 'backup',
    });
    expect(job.spec!.template.metadata!.annotations).toMatchObject({
      'datamover.io/datamover-name': 'backup',
    });
  });

  it('defaults the mover image and honours a tag or digest', () => {
    expect(moverImage(dm(), config)).toBe('ghcr.io/datamover-operator/mover:0.1.0');
    expect(moverImage(dm({ image: { tag: '0.2.0' } }), config)).toBe(
      'ghcr.io/datamover-operator/mover:0.2.0',
    );
    expect(moverImage(dm({ image: { repository: 'r/m', tag: 'sha256:ab' } }), config)).toBe('r/m@sha256:ab');
  });
});

describe('the destination', () => {
  it('defaults the backup root to <namespace>/<sourcePvc>, never the bucket root', () => {
    expect(backupRoot(dm())).toBe('ns/data');
    expect(backupRoot(dm({ destinationPath: '/team/x/' }))).toBe('team/x');
  });
  it('puts a plain run in <root>/mirror/ and a timestamped one in <root>/<UTC start>-<UID>/: they never nest', () => {
    const timestamped = dm({ addTimestampPrefix: true });
    timestamped.metadata.uid = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    expect(describeDestination(dm(), T0)).toBe('bucket:ns/data/mirror/');
    expect(describeDestination(timestamped, T0)).toBe('bucket:ns/data/2026-01-02-030405-0a1b2c3d/');
    // Another DataMover started in the same second writes another folder.
    const other = {
      ...timestamped,
      metadata: { ...timestamped.metadata, uid: 'ffffffff-0000-4000-8000-000000000000' },
    };
    expect(describeDestination(other, T0)).toBe('bucket:ns/data/2026-01-02-030405-ffffffff/');
  });
  it('tells the mover to adopt a folder holding foreign objects only when asked', () => {
    const env = buildMoverJob(dm({ adoptExistingDestination: true }), config, T0).spec!.template.spec!
      .containers[0]!.env!;
    expect(env).toContainEqual({ name: 'DATAMOVER_ADOPT_DESTINATION', value: 'true' });
  });
  it('keeps a namespace below its own prefix unless an administrator lists more', () => {
    expect(rootAllowed('ns/data', 'ns', [])).toBe(true);
    expect(rootAllowed('ns', 'ns', [])).toBe(true);
    expect(rootAllowed('nsx/data', 'ns', [])).toBe(false);
    expect(rootAllowed('other/db', 'ns', [])).toBe(false);
    expect(rootAllowed('shared/db', 'ns', ['shared/'])).toBe(true);
    expect(rootAllowed('sharedx/db', 'ns', ['shared'])).toBe(false);
    expect(rootAllowed('anything', 'ns', ['*'])).toBe(true);
  });
});

describe('transfer options', () => {
  it('reach the mover as environment variables', () => {
    const env = buildMoverJob(
      dm({ bandwidthLimit: '10M', include: ['*.db'], exclude: ['tmp/**'], checksum: true }),
      config,
      T0,
    ).spec!.template.spec!.containers[0]!.env!;
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'DATAMOVER_BANDWIDTH_LIMIT', value: '10M' },
        { name: 'DATAMOVER_INCLUDE', value: '["*.db"]' },
        { name: 'DATAMOVER_EXCLUDE', value: '["tmp/**"]' },
        { name: 'DATAMOVER_CHECKSUM', value: 'true' },
      ]),
    );
  });
});

describe('the live runs', () => {
  const envOf = (liveRuns?: string[]) =>
    buildMoverJob(dm({ addTimestampPrefix: true }), config, T0, liveRuns).spec!.template.spec!.containers[0]!
      .env!;

  it('tell the mover the DataMovers of the root that still exist, its own always among them', () => {
    expect(envOf(['uid-b', 'uid-a'])).toContainEqual({
      name: 'DATAMOVER_LIVE_RUNS',
      value: 'uid-a,uid-b,uid-backup',
    });
    expect(envOf([])).toContainEqual({ name: 'DATAMOVER_LIVE_RUNS', value: 'uid-backup' });
  });

  it('are not passed when unknown: the mover then deletes no abandoned run', () => {
    expect(envOf().map((e) => e.name)).not.toContain('DATAMOVER_LIVE_RUNS');
  });
});

describe('the privileged reader Job', () => {
  it('runs as root with only CAP_DAC_READ_SEARCH and the clone read-only', () => {
    const pod = buildMoverJob(dm({ privilegedReader: true }), config, T0).spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(pod.containers[0]!.securityContext).toMatchObject({
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/data',
      readOnly: true,
    });
  });
});
