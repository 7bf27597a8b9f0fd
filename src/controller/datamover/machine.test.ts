import { describe, expect, it } from 'vitest';
import type { DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { findCondition } from '../conditions.js';
import {
  at,
  clone,
  config,
  dm,
  job,
  pendingPod,
  source,
  T0,
  terminatedPod,
  inPhase,
  observed,
} from './fixtures.test-helpers.js';
import { decide } from './machine.js';

const reason = (s: DataMoverStatus, type: string) => findCondition(s.conditions, type)?.reason;

describe('a new DataMover', () => {
  it('starts in CreatingClonedPVC with its start time and destination fixed, naming no clone yet', () => {
    const d = decide(dm({ addTimestampPrefix: true }), observed(T0), config);
    expect(d.actions).toEqual([]);
    expect(d.status).toMatchObject({
      phase: 'CreatingClonedPVC',
      startTime: T0.toISOString(),
      phaseStartTime: T0.toISOString(),
      // The start second and the UID's 8 hex digits (uid-backup is no UUID: hashed).
      destination: 'bucket:ns/data/2026-01-02-030405-2e123ab7/',
      observedGeneration: 1,
    });
    expect(d.status.restoredPvcName).toBeUndefined();
    expect(findCondition(d.status.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      observedGeneration: 1,
    });
  });
});

describe('CreatingClonedPVC', () => {
  const creating = dm({}, inPhase('CreatingClonedPVC'));

  it('creates a clone sized to the larger of request and capacity, with the source as dataSource', () => {
    const d = decide(
      creating,
      observed(at(1), { source: source({ request: '1Gi', capacity: '1100Mi' }) }),
      config,
    );
    expect(d.actions).toHaveLength(1);
    const action = d.actions[0]!;
    expect(action.type).toBe('createClone');
    if (action.type !== 'createClone') return;
    expect(action.clone.spec).toMatchObject({
      dataSource: { kind: 'PersistentVolumeClaim', name: 'data' },
      resources: { requests: { storage: '1100Mi' } },
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      storageClassName: 'fast',
    });
    expect(action.clone.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'DataMover',
      name: 'backup',
      controller: true,
    });
  });

  it('uses the storage class of the spec over the source', () => {
    const d = decide(
      dm({ storageClassName: 'other' }, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      config,
    );
    const action = d.actions[0];
    expect(action?.type === 'createClone' && action.clone.spec?.storageClassName).toBe('other');
  });

  it.each([
    ['missing', null, 'SourcePVCNotFound'],
    ['unbound', source({ phase: 'Pending' }), 'SourcePVCNotBound'],
  ])('is Stalled while the source is %s within the grace period, then Failed', (_what, src, why) => {
    const stalled = decide(creating, observed(at(10), { source: src }), config);
    expect(stalled.status.phase).toBe('CreatingClonedPVC');
    expect(reason(stalled.status, 'Stalled')).toBe(why);
    expect(findCondition(stalled.status.conditions, 'Stalled')?.status).toBe('True');
    // No polling: the source's watch wakes the run when it appears or binds; a timer only at the deadline.
    expect(stalled.requeueAfterMs).toBe(50_000);
    const failed = decide(creating, observed(at(60), { source: src }), config);
    expect(failed.status.phase).toBe('Failed');
    expect(reason(failed.status, 'Failed')).toBe(why);
    expect(failed.status.completionTime).toBe(at(60).toISOString());
  });

  it.each([
    ['Block', source({ mode: 'Block' }), 'SourcePVCBlockMode'],
    ['terminating', source({ deleting: true }), 'SourcePVCTerminating'],
  ])('fails at once for a %s source', (_what, src, why) => {
    const d = decide(creating, observed(at(1), { source: src }), config);
    expect(d.status.phase).toBe('Failed');
    expect(reason(d.status, 'Failed')).toBe(why);
  });

  it('moves to CreatingPod when the clone is Bound, or at once for WaitForFirstConsumer', () => {
    expect(decide(creating, observed(at(2), { clone: clone('Bound') }), config).status.phase).toBe(
      'CreatingPod',
    );
    const wffc = decide(
      creating,
      observed(at(2), { clone: clone('Pending'), cloneBindingMode: 'WaitForFirstConsumer' }),
      config,
    );
    expect(wffc.status).toMatchObject({ phase: 'CreatingPod', phaseStartTime: at(2).toISOString() });
  });

  it("reports a pending clone as Stalled with the provisioner's warning, then fails at the timeout", () => {
    const waiting = decide(creating, observed(at(30), { clone: clone('Pending') }), config);
    expect(reason(waiting.status, 'Reconciling')).toBe('CreatingClone');
    expect(waiting.requeueAfterMs).toBe(30_000);
    const stalled = decide(
      creating,
      observed(at(61), { clone: clone('Pending'), cloneWarning: 'ProvisioningFailed: full' }),
      config,
    );
    expect(reason(stalled.status, 'Stalled')).toBe('CloneNotProvisioned');
    expect(findCondition(stalled.status.conditions, 'Stalled')?.message).toContain(
      'ProvisioningFailed: full',
    );
    // The provisioner's warning reaches no watch and may come later: the stall is looked at again.
    expect(stalled.requeueAfterMs).toBe(15_250);
    const failed = decide(creating, observed(at(600), { clone: clone('Pending') }), config);
    expect(reason(failed.status, 'Failed')).toBe('CloneProvisioningTimeout');
  });

  it('refuses an image outside the allowlist and a serviceAccountName before creating anything', () => {
    const image = decide(
      dm({ image: { repository: 'docker.io/evil' } }, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      config,
    );
    expect(reason(image.status, 'Failed')).toBe('ImageNotAllowed');
    expect(image.actions).toEqual([]);
    const tagOnly = decide(
      dm({ image: { tag: '0.2.0' } }, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      config,
    );
    expect(tagOnly.actions[0]?.type).toBe('createClone');
    const sa = decide(
      dm({ serviceAccountName: 'admin' }, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      config,
    );
    expect(reason(sa.status, 'Failed')).toBe('ServiceAccountNotAllowed');
    const allowed = decide(
      dm({ serviceAccountName: 'admin' }, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      {
        ...config,
        allowMoverServiceAccount: true,
      },
    );
    expect(allowed.actions[0]?.type).toBe('createClone');
  });
});

describe('CreatingPod', () => {
  const podPhase = dm({}, inPhase('CreatingPod'));
  const withJob = dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' }));

  it('creates the mover Job and records its name', () => {
    const d = decide(podPhase, observed(at(1)), config);
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
    expect(d.status.jobName).toBe('backup-mover');
  });

  it('waits without creating a Job while another DataMover syncs to the same destination', () => {
    const d = decide(podPhase, observed(at(1), { destinationBusyWith: 'earlier' }), config);
    expect(d.actions).toEqual([]);
    expect(reason(d.status, 'Reconciling')).toBe('WaitingForDestination');
    expect(findCondition(d.status.conditions, 'Reconciling')?.message).toContain('earlier');
  });

  it('recreates a Job it created but cannot see yet (AlreadyExists is tolerated)', () => {
    const d = decide(withJob, observed(at(1)), config);
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
  });

  it('completes, or enters CleaningUp with deletePvcAfterBackup, when the Job succeeds', () => {
    const done = decide(
      withJob,
      observed(at(5), { job: job({ type: 'Complete' }, { succeeded: 1 }) }),
      config,
    );
    expect(done.status).toMatchObject({
      phase: 'Completed',
      completionTime: at(5).toISOString(),
      attempts: 1,
    });
    expect(findCondition(done.status.conditions, 'Complete')?.status).toBe('True');
    expect(findCondition(done.status.conditions, 'Ready')?.status).toBe('True');
    const cleanup = decide(
      dm({ deletePvcAfterBackup: true }, withJob.status),
      observed(at(5), { job: job({ type: 'Complete' }) }),
      config,
    );
    expect(cleanup.status.phase).toBe('CleaningUp');
    // Its deletes come in a pass of their own, at once, not when the watch reports this write.
    expect(cleanup.actions).toEqual([]);
    expect(cleanup.requeueAfterMs).toBe(0);
  });

  it('fails with the Job reason and the mover termination message when the Job fails', () => {
    const d = decide(
      withJob,
      observed(at(9), {
        job: job(
          {
            type: 'Failed',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
          { failed: 3 },
        ),
        pods: [terminatedPod(1, 'AccessDenied')],
      }),
      config,
    );
    expect(d.status.phase).toBe('Failed');
    expect(d.status.attempts).toBe(3);
    expect(reason(d.status, 'Failed')).toBe('MoverJobFailed');
    expect(d.status.message).toContain('BackoffLimitExceeded');
    expect(d.status.message).toContain('AccessDenied');
  });

  it('tells a configuration error apart from a failed transfer', () => {
    const d = decide(
      withJob,
      observed(at(9), { job: job({ type: 'Failed', reason: 'PodFailurePolicy' }), pods: [terminatedPod(3)] }),
      config,
    );
    expect(reason(d.status, 'Failed')).toBe('MoverConfigError');
  });

  it.each([
    ['unschedulable', pendingPod({ unschedulable: '0/1 nodes are available' }), 'Unschedulable'],
    ['image pull failure', pendingPod({ waiting: 'ImagePullBackOff' }), 'ImagePullBackOff'],
    ['missing Secret', pendingPod({ waiting: 'CreateContainerConfigError' }), 'CreateContainerConfigError'],
  ])(
    'is Stalled at once for an %s pod and Failed when it has not started by the timeout',
    (_what, pod, text) => {
      const stalled = decide(
        withJob,
        observed(at(10), { job: job(undefined, { active: 1 }), pods: [pod] }),
        config,
      );
      expect(reason(stalled.status, 'Stalled')).toBe('MoverPodNotStarting');
      expect(findCondition(stalled.status.conditions, 'Stalled')?.message).toContain(text);
      expect(stalled.requeueAfterMs).toBe(300_000);
      const still = decide(
        dm({}, stalled.status),
        observed(at(200), { job: job(undefined, { active: 1 }), pods: [pod] }),
        config,
      );
      expect(findCondition(still.status.conditions, 'Stalled')?.lastTransitionTime).toBe(
        at(10).toISOString(),
      );
      expect(still.requeueAfterMs).toBe(110_000);
      const failed = decide(
        dm({}, stalled.status),
        observed(at(310), { job: job(undefined, { active: 1 }), pods: [pod] }),
        config,
      );
      expect(reason(failed.status, 'Failed')).toBe('MoverPodStartTimeout');
      expect(failed.actions).toEqual([{ type: 'deleteJob', name: 'backup-mover' }]);
    },
  );

  it('never counts attempts down while the Job controller catches up with its pods', () => {
    const started = dm({}, inPhase('CreatingPod', { jobName: 'backup-mover', attempts: 1 }));
    // Before the Job controller counts the pod it created, and while it finalizes a finished pod,
    // the Job shows no active, succeeded or failed pod: the DataMover still had one attempt.
    const counting = decide(started, observed(at(2), { job: job(undefined, {}) }), config);
    expect(counting.status.attempts).toBe(1);
    const finalizing = job(undefined, {});
    finalizing.status!.uncountedTerminatedPods = { failed: ['uid-1'] };
    const retried = dm({}, inPhase('CreatingPod', { jobName: 'backup-mover', attempts: 1 }));
    expect(decide(retried, observed(at(2), { job: finalizing }), config).status.attempts).toBe(1);
    const second = job(undefined, { failed: 1, active: 1 });
    expect(decide(retried, observed(at(3), { job: second }), config).status.attempts).toBe(2);
  });

  it('is running, not stalled, while the pod runs', () => {
    const d = decide(withJob, observed(at(3), { job: job(undefined, { active: 1 }) }), config);
    expect(reason(d.status, 'Reconciling')).toBe('MoverRunning');
    expect(findCondition(d.status.conditions, 'Stalled')?.status).toBe('False');
  });
});

describe('CleaningUp', () => {
  it('deletes the finished Job and the clone and completes', () => {
    const d = decide(
      dm({ deletePvcAfterBackup: true }, inPhase('CleaningUp', { jobName: 'backup-mover' })),
      observed(at(7), { clone: clone('Bound'), job: job({ type: 'Complete' }) }),
      config,
    );
    expect(d.actions).toEqual([
      { type: 'deleteJob', name: 'backup-mover' },
      { type: 'deleteClone', name: 'backup-clone' },
    ]);
    expect(d.status.phase).toBe('Completed');
    expect(findCondition(d.status.conditions, 'CleanedUp')?.status).toBe('True');
  });
});

describe('a finished DataMover', () => {
  it('is left alone without a TTL, and deleted when its TTL has passed', () => {
    const done = inPhase('Completed', { completionTime: at(10).toISOString() });
    const kept = { clone: clone('Bound') };
    expect(decide(dm({}, done), observed(at(1000), kept), config)).toEqual({ status: done, actions: [] });
    const ttl = dm({ ttlSecondsAfterFinished: 60 }, done);
    expect(decide(ttl, observed(at(30), kept), config).requeueAfterMs).toBe(40_000);
    expect(decide(ttl, observed(at(70), kept), config).actions).toEqual([{ type: 'deleteDataMover' }]);
  });
});

describe('idempotence', () => {
  it('decides the same status when nothing changed, so no write is made', () => {
    const first = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(3), { job: job(undefined, { active: 1 }) }),
      config,
    );
    const second = decide(
      dm({}, first.status),
      observed(at(4), { job: job(undefined, { active: 1 }) }),
      config,
    );
    expect(second.status).toEqual(first.status);
  });
});

describe('one write per pass', () => {
  it('starts a new DataMover and creates its clone in the same pass', () => {
    const d = decide(dm(), observed(T0, { source: source() }), config);
    expect(d.status.phase).toBe('CreatingClonedPVC');
    expect(d.actions.map((a) => a.type)).toEqual(['createClone']);
  });

  it('enters CreatingPod and creates the Job in the same pass when the clone binds', () => {
    const d = decide(
      dm({}, inPhase('CreatingClonedPVC')),
      observed(at(2), { clone: clone('Bound') }),
      config,
    );
    expect(d.status).toMatchObject({
      phase: 'CreatingPod',
      jobName: 'backup-mover',
      attempts: 1,
      phaseStartTime: at(2).toISOString(),
    });
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
  });

  it('enters CreatingPod without a Job while the destination is busy', () => {
    const d = decide(
      dm({}, inPhase('CreatingClonedPVC')),
      observed(at(2), { clone: clone('Bound'), destinationBusyWith: 'other' }),
      config,
    );
    expect(d.status.phase).toBe('CreatingPod');
    expect(d.actions).toEqual([]);
  });

  it('never takes two transitions in one pass, and never fails a run before it has entered a phase', () => {
    const image = decide(
      dm({ image: { repository: 'docker.io/evil' } }),
      observed(T0, { source: source() }),
      config,
    );
    expect(image.status.phase).toBe('CreatingClonedPVC');
    expect(image.actions).toEqual([]);
  });
});

describe('mover exit codes', () => {
  it.each([
    [1, 'MoverJobFailed'],
    [3, 'MoverConfigError'],
    [4, 'BucketCredentialsRejected'],
    [5, 'BucketNotFound'],
    [6, 'BucketEndpointUnreachable'],
    [7, 'UnreadableFiles'],
  ])('exit %i fails the DataMover with %s', (code, why) => {
    const d = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(5), {
        job: job({ type: 'Failed', reason: 'PodFailurePolicy' }),
        pods: [terminatedPod(code, `{"error":"reason ${code}"}`)],
      }),
      config,
    );
    expect(reason(d.status, 'Failed')).toBe(why);
    expect(d.status.message).toContain(`reason ${code}`);
  });
});

describe('the privileged reader', () => {
  it('is refused unless the namespace opted in', () => {
    const spec = { privilegedReader: true };
    const refused = decide(
      dm(spec, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source(), privilegedMoversAllowed: false }),
      config,
    );
    expect(reason(refused.status, 'Failed')).toBe('PrivilegedMoverNotAllowed');
    expect(refused.status.message).toContain('datamover.io/privileged-movers=true');
    const allowed = decide(
      dm(spec, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source(), privilegedMoversAllowed: true }),
      config,
    );
    expect(allowed.actions[0]?.type).toBe('createClone');
  });
});

describe('a Job that makes no pod', () => {
  const created = (seconds: number) => ({
    ...job(undefined),
    metadata: { name: 'backup-mover', namespace: 'ns', creationTimestamp: at(seconds) },
  });
  it('is re-checked, then Stalled with the Job warning, then Failed at the pod start timeout', () => {
    const withJob = dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' }));
    const young = decide(withJob, observed(at(4), { job: created(0) }), config);
    expect(young.requeueAfterMs).toBe(6_000);
    const stuck = decide(
      withJob,
      observed(at(12), {
        job: created(0),
        jobWarning: 'FailedCreate: violates PodSecurity "restricted:latest"',
      }),
      config,
    );
    expect(reason(stuck.status, 'Stalled')).toBe('MoverPodNotStarting');
    expect(stuck.status.message).toContain('violates PodSecurity');
    const failed = decide(dm({}, stuck.status), observed(at(400), { job: created(0) }), config);
    expect(reason(failed.status, 'Failed')).toBe('MoverPodStartTimeout');
  });
});
