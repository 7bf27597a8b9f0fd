// Checks hold until the Job runs (issue 32): what CreatingTargetPVC checked (no running pod mounts
// the target; the namespace allows restoreOwners) is checked again by the pass that may create the
// restore Job, however long the restore waited for its slot since. A restore that no longer
// qualifies fails with the reason it would have failed with before, says that it changed while it
// waited and that nothing was written, and creates no Job.
import { describe, expect, it } from 'vitest';
import type { DataMoverRestoreSpec, DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import { config } from '../datamover/fixtures.test-helpers.js';
import { failedReason, inPhase, observed, restore, target } from './fixtures.test-helpers.js';
import { decideRestore } from './machine.js';
import { afterFailure } from './target.js';

const intoExisting: Partial<DataMoverRestoreSpec> = {
  target: { existingPvc: 'data-restored' },
  overwrite: true,
};
const restoring = (spec: Partial<DataMoverRestoreSpec> = intoExisting, extra: DataMoverRestoreStatus = {}) =>
  restore(spec, inPhase('Restoring', { source: 'bucket:ns/data/', ...extra }));
const waiting = { admitted: false as const, position: 1, waiting: 1 };
const admitted = { admitted: true as const, fresh: true };
const pool = { id: '', cap: 1 };

describe('a restore into an existing PVC that waited for its slot', () => {
  it('fails, creating no Job, when a pod started mounting the PVC meanwhile', () => {
    const d = decideRestore(restoring(), observed({ slot: admitted, pool, targetUsers: ['app-0'] }), config);
    expect(d.actions).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(d.status.jobName).toBeUndefined();
    expect(failedReason(d)).toBe('TargetPVCInUse');
    expect(d.status.message).toBe(
      'PVC data-restored is now mounted by running pod(s) app-0, started while the restore waited to start its Job; no restore Job ran, so nothing was written to PVC data-restored: stop them (scale the workload to 0) and create the DataMoverRestore again',
    );
  });

  it('fails as soon as a pass sees it, still queued', () => {
    const d = decideRestore(restoring(), observed({ slot: waiting, pool, targetUsers: ['app-0'] }), config);
    expect(d.actions).toEqual([]);
    expect(failedReason(d)).toBe('TargetPVCInUse');
    expect(d.status.queuePosition).toBeUndefined();
  });

  it('creates its Job when nothing mounts the PVC', () => {
    const d = decideRestore(restoring(), observed({ slot: admitted, pool, targetUsers: [] }), config);
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
  });

  it('is not failed by pods once its Job was created (the cache has not shown the Job yet)', () => {
    const d = decideRestore(
      restoring(intoExisting, { jobName: 'back-restore' }),
      observed({ targetUsers: ['back-restore-x'] }),
      config,
    );
    expect(d.status.phase).toBe('Restoring');
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
  });
});

describe('a new PVC the restore created, mounted while it waited', () => {
  it('fails the restore and is kept, since a pod uses it', () => {
    const r = restoring({});
    const d = decideRestore(r, observed({ targetUsers: ['app-0'] }), config);
    expect(failedReason(d)).toBe('TargetPVCInUse');
    const after = afterFailure(r, d.status, { target: target(), users: ['app-0'] });
    expect(after.actions).toEqual([]);
    expect(after.status.message).toContain(
      'kept PVC data-restored, which it created, because running pod(s) app-0 mount it',
    );
  });
});

describe('restoreOwners, when the namespace took its opt-in back while the restore waited', () => {
  it('fails with PrivilegedMoverNotAllowed, creating no Job', () => {
    const d = decideRestore(
      restoring({ ...intoExisting, restoreOwners: true }),
      observed({ slot: admitted, pool, targetUsers: [], privilegedMoversAllowed: false }),
      config,
    );
    expect(d.actions).toEqual([]);
    expect(failedReason(d)).toBe('PrivilegedMoverNotAllowed');
    expect(d.status.message).toBe(
      'restoreOwners is no longer allowed in namespace ns: its annotation datamover.io/privileged-movers=true was removed while the restore waited to start its Job; no restore Job ran, so nothing was written to PVC data-restored',
    );
  });

  it('creates its Job when the namespace still allows it', () => {
    const d = decideRestore(
      restoring({ ...intoExisting, restoreOwners: true }),
      observed({ slot: admitted, pool, targetUsers: [], privilegedMoversAllowed: true }),
      config,
    );
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
  });

  it('deletes the empty new PVC it created, so a new restore can create it again', () => {
    const r = restoring({ restoreOwners: true });
    const d = decideRestore(r, observed({ targetUsers: [], privilegedMoversAllowed: false }), config);
    expect(failedReason(d)).toBe('PrivilegedMoverNotAllowed');
    const after = afterFailure(r, d.status, { target: target(), users: [] });
    expect(after.actions).toEqual([{ type: 'deleteTargetPvc', name: 'data-restored', uid: 'pvc-uid' }]);
  });
});
