import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type {
  DataMoverRestore,
  DataMoverRestoreSpec,
  DataMoverRestoreStatus,
} from '../../api/v1alpha1/restore.js';
import { at, config, source } from '../datamover/fixtures.test-helpers.js';
import * as fx from './fixtures.test-helpers.js';
import { decideRestore, type RestoreObserved } from './machine.js';
import { afterFailure, type FailedTarget } from './target.js';

describe('a failed restore and the new PVC it created', () => {
  const failedFrom = (phase: DataMoverRestoreStatus['phase'], spec: Partial<DataMoverRestoreSpec> = {}) => {
    const r = fx.restore(spec, fx.inPhase(phase));
    const status: DataMoverRestoreStatus = {
      ...fx.inPhase('Failed'),
      message: 'it failed',
      conditions: [
        {
          type: 'Failed',
          status: 'True',
          reason: 'MoverJobFailed',
          message: 'it failed',
          lastTransitionTime: 't',
        },
        {
          type: 'Complete',
          status: 'False',
          reason: 'MoverJobFailed',
          message: 'it failed',
          lastTransitionTime: 't',
        },
      ],
    };
    return { r, status };
  };
  const facts = (f: Partial<FailedTarget> = {}): FailedTarget => ({ target: fx.target(), users: [], ...f });

  it('deletes it and its Job, with UID preconditions, and says so in the message and the Failed condition', () => {
    const { r, status } = failedFrom('Restoring');
    const d = afterFailure(r, status, facts({ job: fx.restoreJob({ type: 'Failed' }) }));
    expect(d.actions).toEqual([
      { type: 'deleteJob', name: 'back-restore', uid: 'job-uid' },
      { type: 'deleteTargetPvc', name: 'data-restored', uid: 'pvc-uid' },
    ]);
    const note = 'deleted PVC data-restored, which it had created, so that a new restore can create it again';
    expect(d.status.message).toBe(`it failed; ${note}`);
    expect(d.status.conditions?.find((c) => c.type === 'Failed')?.message).toBe(`it failed; ${note}`);
  });

  it('calls it empty when the restore failed before its Job', () => {
    const { r, status } = failedFrom('CreatingTargetPVC');
    const d = afterFailure(r, status, facts());
    expect(d.actions).toEqual([{ type: 'deleteTargetPvc', name: 'data-restored', uid: 'pvc-uid' }]);
    expect(d.status.message).toContain('deleted the empty PVC data-restored it had created');
  });

  it('keeps it while a running pod mounts it, naming the pod', () => {
    const { r, status } = failedFrom('Restoring');
    const d = afterFailure(r, status, facts({ users: ['app-0'] }));
    expect(d.actions).toEqual([]);
    expect(d.status.message).toContain(
      'kept PVC data-restored, which it created, because running pod(s) app-0 mount it',
    );
  });

  it.each<[string, Partial<DataMoverRestoreSpec>, Partial<FailedTarget>]>([
    ['a PVC no restore made', {}, { target: fx.target({ ours: false }) }],
    ["another restore's PVC", {}, { target: fx.target({ by: 'earlier' }) }],
    ['a PVC being deleted', {}, { target: fx.target({ deleting: true }) }],
    ['no PVC', {}, { target: null }],
    ['an existing PVC', { target: { existingPvc: 'data-restored' } }, {}],
  ])('never deletes %s', (_what, spec, f) => {
    const { r, status } = failedFrom('Restoring', spec);
    expect(afterFailure(r, status, facts(f))).toEqual({ status, actions: [] });
  });

  it('does nothing for a restore that did not fail in this pass, and a Completed one deletes only its Job', () => {
    const { r, status } = failedFrom('Restoring');
    expect(afterFailure(r, { ...status, phase: 'Restoring' }, facts()).actions).toEqual([]);
    const already = fx.restore({}, fx.inPhase('Failed'));
    expect(afterFailure(already, status, facts()).actions).toEqual([]);
    const done = decideRestore(
      fx.restore({}, fx.inPhase('Restoring', { jobName: 'back-restore', source: 'bucket:ns/data/' })),
      fx.observed({ job: fx.restoreJob({ type: 'Complete' }), pods: [fx.endedPod(0, fx.REPORT)] }),
      config,
    );
    expect(done.status.phase).toBe('Completed');
    expect(done.actions).toEqual([{ type: 'deleteJob', name: 'back-restore' }]);
  });
});

describe("a new PVC's name held by a PVC another restore created", () => {
  const creating = (spec: Partial<DataMoverRestoreSpec> = {}) =>
    fx.restore(spec, fx.inPhase('CreatingTargetPVC'), 'again');
  const earlier = (phase?: DataMoverRestoreStatus['phase']) =>
    fx.restore({}, phase ? fx.inPhase(phase) : undefined, 'back');
  const left = (o: Partial<RestoreObserved> = {}) =>
    fx.observed({ target: fx.target({ by: 'back' }), targetUsers: [], otherRestores: [], ...o });

  it.each<[string, DataMoverRestore | null]>([
    ['is gone', null],
    ['Failed', earlier('Failed')],
  ])('is restored into as it is when that restore %s', (_what, creator) => {
    const d = decideRestore(creating(), left({ creator }), config);
    expect(d.status.phase).toBe('Restoring');
    expect(d.actions).toEqual([]);
    expect(d.status.message).toBe(
      `PVC data-restored, which DataMoverRestore back created and left (${creator ? 'it failed' : 'it is gone'}), is ready; starting the restore`,
    );
  });

  it("waits for a left PVC to bind for the restore's own provisioning time, however old the PVC", () => {
    const pending = left({
      creator: null,
      target: { ...fx.target({ by: 'back', createdAt: at(-3600) }), status: { phase: 'Pending' } },
      targetBindingMode: 'Immediate',
    });
    const d = decideRestore(creating(), pending, config);
    expect(d.status.phase).toBe('CreatingTargetPVC');
    expect(d.status.message).toContain(
      'which DataMoverRestore back created and left (it is gone), is not bound yet',
    );
  });

  it.each<[string, Partial<RestoreObserved>, Partial<DataMoverRestoreSpec>, string, string]>([
    [
      'that restore is still at it',
      { creator: earlier('Restoring') },
      {},
      'TargetPVCExists',
      'back created it and is restoring into it',
    ],
    [
      'that restore completed into it',
      { creator: earlier('Completed') },
      {},
      'TargetPVCExists',
      'back created it and restored into it',
    ],
    [
      'another restore restores into it',
      { creator: null, otherRestores: [fx.restore({}, fx.inPhase('Restoring'), 'third')] },
      {},
      'TargetPVCExists',
      'DataMoverRestore third is restoring into it',
    ],
    [
      'another restore completed into it',
      { creator: null, otherRestores: [fx.restore({}, fx.inPhase('Completed'), 'third')] },
      {},
      'TargetPVCExists',
      'DataMoverRestore third restored into it',
    ],
    [
      'the restore would overwrite it',
      { creator: null },
      { overwrite: true },
      'TargetPVCExists',
      'a PVC it did not create is never overwritten',
    ],
    [
      'a running pod mounts it',
      { creator: null, targetUsers: ['app-0'] },
      {},
      'TargetPVCInUse',
      'running pod(s) app-0',
    ],
  ])('fails when %s, and touches nothing', (_what, o, spec, reason, message) => {
    const d = decideRestore(creating(spec), left(o), config);
    expect(fx.failedReason(d)).toBe(reason);
    expect(d.status.message).toContain(message);
    expect(d.actions).toEqual([]);
  });

  it('goes first over a restore of the same PVC that started later, and waits its turn after one that started earlier', () => {
    const later = {
      ...fx.restore({}, fx.inPhase('CreatingTargetPVC'), 'zlater'),
      metadata: { ...fx.restore().metadata, name: 'zlater', uid: 'uid-z', creationTimestamp: at(5) },
    };
    expect(
      decideRestore(creating(), left({ creator: null, otherRestores: [later] }), config).status.phase,
    ).toBe('Restoring');
    const sooner = { ...later, metadata: { ...later.metadata, name: 'sooner', creationTimestamp: at(-5) } };
    expect(
      fx.failedReason(decideRestore(creating(), left({ creator: null, otherRestores: [sooner] }), config)),
    ).toBe('TargetPVCExists');
  });

  it('waits while a left PVC is deleted (a failed restore deleting its own), then creates it again', () => {
    const deleting = left({ creator: earlier('Failed'), target: fx.target({ by: 'back', deleting: true }) });
    const waiting = decideRestore(creating(), deleting, config);
    expect(fx.stalledReason(waiting)).toBe('TargetPVCTerminating');
    expect(waiting.actions).toEqual([]);
    expect(waiting.requeueAfterMs).toBe(2_000);
    expect(fx.failedReason(decideRestore(creating(), { ...deleting, now: at(60) }, config))).toBe(
      'TargetPVCTerminating',
    );
    const gone = decideRestore(creating(), fx.observed({ target: null, sourcePvc: source() }), config);
    const pvc = (gone.actions[0] as { pvc: V1PersistentVolumeClaim }).pvc;
    expect(pvc.metadata?.annotations).toEqual({
      'datamover.io/restored-by-name': 'again',
      'datamover.io/restored-by-uid': 'uid-again',
    });
  });

  it("fails TargetPVCExists, untouched, for a PVC no restore made or with a restore's label but not its name and UID", () => {
    const labelOnly = fx.target({ ours: false });
    labelOnly.metadata!.labels = { 'datamover.io/restored-by': 'back' };
    for (const pvc of [fx.target({ ours: false }), labelOnly]) {
      const d = decideRestore(creating(), fx.observed({ target: pvc, creator: null }), config);
      expect(fx.failedReason(d)).toBe('TargetPVCExists');
      expect(d.actions).toEqual([]);
    }
  });
});
