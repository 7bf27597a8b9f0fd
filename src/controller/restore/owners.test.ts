// Owners on restore, as the operator decides them: restoreOwners only where an administrator allows
// privileged movers (the same annotation and reason as a DataMover's privilegedReader), and a
// completed restore that could not apply every owner says so in status, a condition and a Warning
// event with the count and the first paths, never a silent Completed.
import { describe, expect, it } from 'vitest';
import type { DataMoverRestoreSpec } from '../../api/v1alpha1/restore.js';
import { config } from '../datamover/fixtures.test-helpers.js';
import * as fx from './fixtures.test-helpers.js';
import { decideRestore } from './machine.js';
import { restoreEvents } from './transitions.js';

const creating = (spec: Partial<DataMoverRestoreSpec>) => fx.restore(spec, fx.inPhase('CreatingTargetPVC'));

describe('restoreOwners', () => {
  it('is refused, before anything is created, unless the namespace opted in to privileged movers', () => {
    const refused = decideRestore(
      creating({ restoreOwners: true }),
      fx.observed({ target: null, sourcePvc: null, privilegedMoversAllowed: false }),
      config,
    );
    expect(refused.actions).toEqual([]);
    expect(refused.status.phase).toBe('Failed');
    expect(fx.failedReason(refused)).toBe('PrivilegedMoverNotAllowed');
    expect(refused.status.message).toContain('datamover.io/privileged-movers=true');
    expect(refused.status.message).toContain('restoreOwners is not allowed in namespace ns');

    const allowed = decideRestore(
      creating({ restoreOwners: true }),
      fx.observed({ target: fx.target(), privilegedMoversAllowed: true }),
      config,
    );
    expect(allowed.status.phase).toBe('Restoring');
  });

  it('runs the restore Job as root with only the capabilities that set owners', () => {
    const d = decideRestore(
      fx.restore({ restoreOwners: true }, fx.inPhase('Restoring', { source: 'bucket:ns/data/' })),
      // The pass that creates the Job reads the namespace's opt-in again.
      fx.observed({ privilegedMoversAllowed: true }),
      config,
    );
    const action = d.actions[0]!;
    expect(action.type).toBe('createJob');
    if (action.type !== 'createJob') return;
    const pod = action.job.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(pod.containers[0]!.env).toContainEqual({ name: 'DATAMOVER_RESTORE_OWNERS', value: 'true' });
  });
});

const NOT_APPLIED = Array.from({ length: 10 }, (_, i) => `f${i}: owner (65534:65534, not 999:999)`);

function completedWith(report: object, spec: Partial<DataMoverRestoreSpec> = {}) {
  const before = fx.restore(
    spec,
    fx.inPhase('Restoring', { source: 'bucket:ns/data/', jobName: 'back-restore' }),
  );
  const d = decideRestore(
    before,
    fx.observed({
      job: fx.restoreJob({ type: 'Complete' }),
      pods: [fx.endedPod(0, JSON.stringify({ ...fx.BINDING, ...report }))],
    }),
    config,
  );
  return { status: d.status, events: restoreEvents(before.status!, d.status) };
}

describe('a restore that could not apply every owner', () => {
  const report = {
    restore: {
      ...JSON.parse(fx.REPORT).restore,
      notApplied: { count: 208, named: NOT_APPLIED },
    },
  };

  it('completes with the count and the first paths in status and an OwnersRestored condition False', () => {
    const { status } = completedWith(report);
    expect(status.phase).toBe('Completed');
    expect(status.ownersNotApplied).toBe(208);
    expect(status.ownersNotAppliedFiles).toEqual(NOT_APPLIED);
    const owners = status.conditions?.find((c) => c.type === 'OwnersRestored');
    expect(owners).toMatchObject({ status: 'False', reason: 'OwnersNotApplied' });
    expect(owners!.message).toContain('could not apply the owner of 208 entries');
    expect(owners!.message).toContain('f0: owner (65534:65534, not 999:999)');
    expect(owners!.message).toContain('spec.restoreOwners: true');
    expect(status.message).toContain('could not apply the owner of 208 entries');
  });

  it('emits a Warning event with the count and the first paths beside the Completed event', () => {
    const { events } = completedWith(report);
    expect(events.map((e) => `${e.type}/${e.reason}`)).toEqual([
      'Normal/Completed',
      'Warning/OwnersNotApplied',
    ]);
    expect(events[1]!.message).toMatch(
      /could not apply the owner of 208 entries .*: f0: owner \(65534:65534, not 999:999\); f1/,
    );
    expect(events[1]!.message).toContain('; …');
  });

  it('says every owner is the backup’s when none was left, with no warning', () => {
    const { status, events } = completedWith(JSON.parse(fx.REPORT), { restoreOwners: true });
    expect(status.ownersNotApplied).toBe(0);
    expect(status.ownersNotAppliedFiles).toBeUndefined();
    expect(status.conditions?.find((c) => c.type === 'OwnersRestored')).toMatchObject({
      status: 'True',
      reason: 'OwnersApplied',
    });
    expect(events.filter((e) => e.type === 'Warning')).toEqual([]);
  });
});
