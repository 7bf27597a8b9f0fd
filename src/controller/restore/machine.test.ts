import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { DataMoverRestoreSpec, DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import { at, config, moverStatus, source } from '../datamover/fixtures.test-helpers.js';
import {
  endedPod,
  failedReason,
  inPhase,
  observed,
  REPORT,
  restore,
  restoreJob,
  stalledReason,
  target,
} from './fixtures.test-helpers.js';
import { decideRestore, type RestoreObserved } from './machine.js';

describe('a new restore', () => {
  it('starts creating its target and says where it reads from', () => {
    const d = decideRestore(restore(), observed(), config);
    expect(d.status).toMatchObject({
      phase: 'CreatingTargetPVC',
      targetPvc: 'data-restored',
      source: 'bucket:ns/data/',
    });
    expect(d.requeueAfterMs).toBe(0);
  });
});

describe('creating the target PVC', () => {
  const creating = (spec: Partial<DataMoverRestoreSpec> = {}) => restore(spec, inPhase('CreatingTargetPVC'));

  it('creates a new PVC sized, classed and accessed like the PVC the backup came from, with no owner', () => {
    const d = decideRestore(
      creating(),
      observed({ target: null, sourcePvc: source({ capacity: '5Gi' }) }),
      config,
    );
    expect(d.actions).toHaveLength(1);
    const pvc = (d.actions[0] as { pvc: V1PersistentVolumeClaim }).pvc;
    expect(pvc.spec).toMatchObject({
      storageClassName: 'fast',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '5Gi' } },
    });
    expect(pvc.metadata?.ownerReferences).toBeUndefined();
    expect(pvc.metadata?.labels).toEqual({ 'datamover.io/restored-by': 'back' });
    expect(d.requeueAfterMs).toBe(2_000);
  });

  it('uses the size and class asked for, with no source PVC needed', () => {
    const d = decideRestore(
      creating({ target: { newPvc: { name: 'data-restored', size: '3Gi', storageClassName: 'slow' } } }),
      observed({ target: null, sourcePvc: null }),
      config,
    );
    expect((d.actions[0] as { pvc: V1PersistentVolumeClaim }).pvc.spec).toMatchObject({
      storageClassName: 'slow',
      resources: { requests: { storage: '3Gi' } },
    });
  });

  it.each<[string, Partial<DataMoverRestoreSpec>, Partial<RestoreObserved>, string]>([
    ['no size and no source PVC to size it like', {}, { target: null, sourcePvc: null }, 'TargetSizeUnknown'],
    ['a new PVC whose name another PVC holds', {}, { target: target({ ours: false }) }, 'TargetPVCExists'],
    ['a target being deleted', {}, { target: target({ deleting: true }) }, 'TargetPVCTerminating'],
    ['a target that lost its volume', {}, { target: target({ phase: 'Lost' }) }, 'TargetPVCNotBound'],
    [
      'an existing PVC a running pod mounts',
      { target: { existingPvc: 'data-restored' } },
      { target: target({ ours: false }), targetUsers: ['app-0'] },
      'TargetPVCInUse',
    ],
    [
      'an image outside the allowlist',
      { image: { repository: 'evil.example/miner' } },
      { target: null },
      'ImageNotAllowed',
    ],
    [
      "a backup root outside the namespace's prefix",
      { source: { backup: { secretName: 'b', sourcePvc: 'data', backupRoot: 'other/db' } } },
      { target: null },
      'DestinationNotAllowed',
    ],
    [
      'a schedule that backs up another PVC',
      { source: { schedule: { name: 'nightly', pvc: 'web' } } },
      { schedule: { spec: { sourcePvc: 'db', template: {} } } as DataMoverSchedule },
      'ScheduleHasNoSuchPVC',
    ],
  ])('fails at once on %s', (_what, spec, o, reason) => {
    const d = decideRestore(creating(spec), observed(o), config);
    expect(d.status.phase).toBe('Failed');
    expect(failedReason(d)).toBe(reason);
    expect(d.actions).toEqual([]);
  });

  it('names the pods that mount an existing target', () => {
    const d = decideRestore(
      creating({ target: { existingPvc: 'data-restored' } }),
      observed({ target: target({ ours: false }), targetUsers: ['app-0', 'app-1'] }),
      config,
    );
    expect(d.status.message).toContain('running pod(s) app-0, app-1');
  });

  it.each<[string, Partial<DataMoverRestoreSpec>, Partial<RestoreObserved>, string]>([
    [
      'a schedule not there yet',
      { source: { schedule: { name: 'nightly', pvc: 'db' } } },
      { schedule: null },
      'ScheduleNotFound',
    ],
    [
      'an existing PVC not there yet',
      { target: { existingPvc: 'data-restored' } },
      { target: null },
      'TargetPVCNotFound',
    ],
  ])('waits Stalled for %s, then fails after the grace period', (_what, spec, o, reason) => {
    const waiting = decideRestore(creating(spec), observed(o), config);
    expect(stalledReason(waiting)).toBe(reason);
    expect(waiting.requeueAfterMs).toBe(2_000);
    const late = decideRestore(creating(spec), observed({ ...o, now: at(60) }), config);
    expect(failedReason(late)).toBe(reason);
  });

  it("reads a schedule's Secret and its root for the PVC (a selector gives each PVC its own)", () => {
    const schedule = {
      metadata: { name: 'nightly', namespace: 'ns' },
      spec: {
        selector: { matchLabels: { b: 'y' } },
        template: { secretName: 's3', destinationPath: 'ns/nightly' },
      },
    } as unknown as DataMoverSchedule;
    const d = decideRestore(
      creating({ source: { schedule: { name: 'nightly', pvc: 'web' } } }),
      observed({ schedule, target: target() }),
      config,
    );
    expect(d.status.source).toBe('s3:ns/nightly/web/');
  });

  it('moves on to the restore once the PVC is Bound, or at once for a WaitForFirstConsumer class', () => {
    expect(decideRestore(creating(), observed({ target: target() }), config).status.phase).toBe('Restoring');
    const wffc = observed({
      target: target({ phase: 'Pending' }),
      targetBindingMode: 'WaitForFirstConsumer',
    });
    expect(decideRestore(creating(), wffc, config).status.phase).toBe('Restoring');
  });

  it('waits for a pending PVC, Stalled after a while and Failed past the provisioning timeout', () => {
    const pending = observed({ target: target({ phase: 'Pending' }), targetBindingMode: 'Immediate' });
    const soon = decideRestore(creating(), pending, config);
    expect(soon.status.phase).toBe('CreatingTargetPVC');
    expect(stalledReason(soon)).toBeUndefined();
    expect(stalledReason(decideRestore(creating(), { ...pending, now: at(61) }, config))).toBe(
      'TargetPVCNotBound',
    );
    expect(failedReason(decideRestore(creating(), { ...pending, now: at(601) }, config))).toBe(
      'TargetPVCNotBound',
    );
  });
});

describe('restoring', () => {
  const running = (spec: Partial<DataMoverRestoreSpec> = {}, extra: DataMoverRestoreStatus = {}) =>
    restore(spec, inPhase('Restoring', { source: 'bucket:ns/data/', ...extra }));

  it('creates the restore Job', () => {
    const d = decideRestore(running(), observed(), config);
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
    expect(d.status.jobName).toBe('back-restore');
  });

  it('completes with what the mover reported and deletes the finished Job', () => {
    const d = decideRestore(
      running({}, { jobName: 'back-restore' }),
      observed({ job: restoreJob({ type: 'Complete' }), pods: [endedPod(0, REPORT)] }),
      config,
    );
    expect(d.status).toMatchObject({
      phase: 'Completed',
      run: '2026-01-02-030405',
      bytesRestored: 100,
      filesRestored: 2,
      filesVerified: 3,
      mismatches: 0,
    });
    expect(d.status.message).toBe(
      'restored bucket:ns/data/2026-01-02-030405/ into PVC data-restored, 3 entries verified',
    );
    expect(d.actions).toEqual([{ type: 'deleteJob', name: 'back-restore' }]);
  });

  it.each([
    [9, 'RestoreVerificationFailed'],
    [10, 'BackupNotFound'],
    [4, 'BucketCredentialsRejected'],
    [3, 'MoverConfigError'],
    [1, 'MoverJobFailed'],
  ])('fails on exit code %i with reason %s', (code, reason) => {
    const d = decideRestore(
      running({}, { jobName: 'back-restore' }),
      observed({
        job: restoreJob({ type: 'Failed', reason: 'PodFailurePolicy' }),
        pods: [endedPod(code, '{}')],
      }),
      config,
    );
    expect(failedReason(d)).toBe(reason);
  });

  it('names the first files that differ when verification fails', () => {
    const report = JSON.stringify({
      error: 'differs',
      restore: {
        run: 'mirror',
        bytes: 1,
        files: 1,
        verified: 3,
        mismatches: 2,
        mismatched: ['a (content)', 'b (missing)'],
      },
    });
    const d = decideRestore(
      running({}, { jobName: 'back-restore' }),
      observed({
        job: restoreJob({ type: 'Failed', reason: 'PodFailurePolicy' }),
        pods: [endedPod(9, report)],
      }),
      config,
    );
    expect(d.status).toMatchObject({ mismatches: 2, mismatchedFiles: ['a (content)', 'b (missing)'] });
    expect(d.status.message).toContain('first mismatches: a (content), b (missing)');
  });

  it('fails with NameConflict when a Job not its own holds the name', () => {
    expect(failedReason(decideRestore(running(), observed({ jobNotOurs: true }), config))).toBe(
      'NameConflict',
    );
  });

  it('stalls on a pod that cannot start, then fails past --pod-start-timeout and deletes the Job', () => {
    const pending: V1Pod = {
      metadata: { name: 'p' },
      status: {
        phase: 'Pending',
        containerStatuses: [moverStatus({ waiting: { reason: 'ImagePullBackOff' } })],
      },
    };
    const o = observed({ job: restoreJob(), pods: [pending] });
    const stalled = decideRestore(running({}, { jobName: 'back-restore' }), o, config);
    expect(stalledReason(stalled)).toBe('MoverPodNotStarting');
    const later = decideRestore({ ...running(), status: stalled.status }, { ...o, now: at(301) }, config);
    expect(failedReason(later)).toBe('MoverPodStartTimeout');
    expect(later.actions).toEqual([{ type: 'deleteJob', name: 'back-restore' }]);
  });
});

describe("another namespace's backups", () => {
  const fromTeamA = (extra: Record<string, unknown> = {}) =>
    restore(
      {
        source: { backup: { secretName: 'bucket', sourcePvc: 'db', sourceNamespace: 'team-a', ...extra } },
        target: { newPvc: { name: 'data-restored', size: '2Gi' } },
      },
      inPhase('CreatingTargetPVC'),
    );

  it('are read from <sourceNamespace>/<sourcePvc> when an administrator allows that prefix', () => {
    const d = decideRestore(
      fromTeamA(),
      observed({ target: null, allowedDestinationPrefixes: ['team-a'] }),
      config,
    );
    expect(d.status.phase).toBe('CreatingTargetPVC');
    expect(d.status.source).toBe('bucket:team-a/db/');
    expect(d.actions.map((a) => a.type)).toEqual(['createTargetPvc']);
  });

  it('are refused without the prefix, naming whose backups they are', () => {
    const d = decideRestore(fromTeamA(), observed({ target: null }), config);
    expect(failedReason(d)).toBe('DestinationNotAllowed');
    expect(d.status.message).toContain('backup root team-a/db (the backups of namespace team-a)');
    const mine = fromTeamA({ backupRoot: 'ns/copies/db' });
    expect(decideRestore(mine, observed({ target: null }), config).status.phase).toBe('CreatingTargetPVC');
  });

  it("need a size: the other namespace's PVC is not looked at", () => {
    const r = fromTeamA();
    r.spec.target = { newPvc: { name: 'data-restored' } };
    const d = decideRestore(
      r,
      observed({ target: null, allowedDestinationPrefixes: ['team-a'], sourcePvc: source() }),
      config,
    );
    expect(failedReason(d)).toBe('TargetSizeUnknown');
    expect(d.status.message).toContain('PVC db of namespace team-a');
  });

  it("tell the mover to check the root's marker against the other namespace", () => {
    const r = restore(
      { source: { backup: { secretName: 'bucket', sourcePvc: 'db', sourceNamespace: 'team-a' } } },
      inPhase('Restoring', { source: 'bucket:team-a/db/' }),
    );
    const job = (decideRestore(r, observed(), config).actions[0] as { job: V1Job }).job;
    expect(job.spec!.template.spec!.containers[0]!.env).toEqual(
      expect.arrayContaining([
        { name: 'DATAMOVER_NAMESPACE', value: 'team-a' },
        { name: 'DATAMOVER_SOURCE_PVC', value: 'db' },
        { name: 'DATAMOVER_BACKUP_ROOT', value: 'team-a/db' },
      ]),
    );
  });
});

describe('a finished restore', () => {
  it('does nothing more', () => {
    const done = restore({}, inPhase('Completed'));
    expect(decideRestore(done, observed(), config)).toEqual({ status: done.status, actions: [] });
  });
});

describe('a restore Job that succeeded without a report proving its restore', () => {
  it('fails NoMoverReport, and a report of another restore fails too', () => {
    const before = restore({}, inPhase('Restoring', { source: 'bucket:ns/data/', jobName: 'back-restore' }));
    for (const message of ['', JSON.stringify({ ...JSON.parse(REPORT), uid: 'uid-other' })]) {
      const d = decideRestore(
        before,
        observed({ job: restoreJob({ type: 'Complete' }), pods: [endedPod(0, message)] }),
        config,
      );
      expect(d.status.phase).toBe('Failed');
      expect(failedReason(d)).toBe('NoMoverReport');
      expect(d.status.filesRestored).toBeUndefined();
    }
  });
});
