import { describe, expect, it } from 'vitest';
import { config, dm, T0 } from '../controller/fixtures.test-helpers.js';
import { buildMoverJob, moverImage } from './job.js';
import { destinationPath } from './destination.js';

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

  it('mounts the clone read-only at /data and reads the Secret into the environment', () => {
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data', readOnly: true });
    expect(pod.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'backup-clone', readOnly: true },
    });
    expect(container.envFrom).toEqual([{ secretRef: { name: 'bucket' } }]);
    expect(container.env).toContainEqual({ name: 'DATAMOVER_DESTINATION_PATH', value: 'ns/data' });
  });

  it('retries per backoffLimit and fails at once on the configuration-error exit code', () => {
    expect(job.spec!.backoffLimit).toBe(4);
    expect(job.spec!.podFailurePolicy!.rules[0]).toMatchObject({
      action: 'FailJob',
      onExitCodes: { values: [3, 4, 5, 7] },
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

describe('destinationPath', () => {
  it('defaults to <namespace>/<sourcePvc>, never the bucket root', () => {
    expect(destinationPath(dm(), T0)).toBe('ns/data');
  });
  it("uses the bucket root only for an explicit '/'", () => {
    expect(destinationPath(dm({ destinationPath: '/' }), T0)).toBe('/');
    expect(destinationPath(dm({ destinationPath: '/team/x/' }), T0)).toBe('team/x');
  });
  it('appends the timestamp folder computed from the start time in UTC', () => {
    expect(destinationPath(dm({ addTimestampPrefix: true }), T0)).toBe('ns/data/2026-01-02-030405');
    expect(destinationPath(dm({ destinationPath: '/', addTimestampPrefix: true }), T0)).toBe(
      '2026-01-02-030405',
    );
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
