// copyMethod Snapshot: a VolumeSnapshot of the source, waited for with the clone's stall and timeout
// rules, the clone made from it, and the snapshot deleted once the run ends (machine.ts), what the
// passes read for it (lookups.ts), and when it holds a slot of the run cap (slots.ts).
import { describe, expect, it } from 'vitest';
import type { DataMoverStatus } from '../../api/v1alpha1/schema.js';
import type { VolumeSnapshot } from '../../kube/snapshots.js';
import { findCondition } from '../conditions.js';
import * as fx from './fixtures.test-helpers.js';
import { lookupsNeeded } from './lookups.js';
import { SNAPSHOT_RECHECK_MS, actionRefused, decide } from './machine.js';
import { underWay } from './slots.js';
import { metricMoves } from './transitions.js';

const spec = { copyMethod: 'Snapshot' as const, volumeSnapshotClassName: 'fast-snapshots' };
const snapshotting = (extra: DataMoverStatus = {}) => {
  const status = fx.inPhase('CreatingSnapshot', extra);
  delete status.restoredPvcName;
  return fx.dm(spec, status);
};
const named = { snapshotName: 'backup-snapshot' };

function snapshot(status: VolumeSnapshot['status'] = {}, deleting = false): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name: 'backup-snapshot',
      namespace: 'ns',
      creationTimestamp: fx.T0.toISOString(),
      ...(deleting ? { deletionTimestamp: fx.T0.toISOString() } : {}),
    },
    spec: { source: { persistentVolumeClaimName: 'data' } },
    status,
  };
}

const reason = (s: DataMoverStatus, type: string) => findCondition(s.conditions, type)?.reason;

describe('a DataMover with copyMethod Snapshot', () => {
  it('starts by snapshotting its source, in the class it names, in the pass that starts it', () => {
    const d = decide(fx.dm(spec), fx.observed(fx.at(0), { source: fx.source(), snapshot: null }), fx.config);
    expect(d.status).toMatchObject({ phase: 'CreatingSnapshot', snapshotName: 'backup-snapshot' });
    expect(d.actions).toEqual([
      {
        type: 'createSnapshot',
        snapshot: expect.objectContaining({
          metadata: expect.objectContaining({ name: 'backup-snapshot', namespace: 'ns' }),
          spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'fast-snapshots' },
        }),
      },
    ]);
    expect(d.requeueAfterMs).toBe(SNAPSHOT_RECHECK_MS);
  });

  it('waits for its source as a clone does, and for a slot under the run cap', () => {
    const noSource = decide(
      snapshotting(),
      fx.observed(fx.at(1), { source: null, snapshot: null }),
      fx.config,
    );
    expect(noSource.actions).toEqual([]);
    expect(reason(noSource.status, 'Stalled')).toBe('SourcePVCNotFound');
    const waiting = { admitted: false as const, position: 2, waiting: 3 };
    const queued = decide(
      snapshotting(),
      fx.observed(fx.at(1), { source: fx.source(), snapshot: null, slot: waiting, pool: { id: '', cap: 1 } }),
      fx.config,
    );
    expect(queued.actions).toEqual([]);
    expect(queued.status.queuePosition).toBe(2);
    expect(queued.status.snapshotName).toBeUndefined();
  });

  it('makes its clone from the snapshot once it is ready to use, in the same pass', () => {
    const d = decide(
      snapshotting(named),
      fx.observed(fx.at(3), { source: fx.source(), snapshot: snapshot({ readyToUse: true }) }),
      fx.config,
    );
    expect(d.entered?.phase).toBe('CreatingClonedPVC');
    expect(d.actions).toHaveLength(1);
    const create = d.actions[0]!;
    expect(create.type).toBe('createClone');
    if (create.type === 'createClone')
      expect(create.clone.spec?.dataSource).toEqual({
        apiGroup: 'snapshot.storage.k8s.io',
        kind: 'VolumeSnapshot',
        name: 'backup-snapshot',
      });
  });

  it('is Stalled with the driver error after the stall time, then Failed at the timeout', () => {
    const error = { readyToUse: false, error: { message: 'no space for snapshots' } };
    const early = decide(
      snapshotting(named),
      fx.observed(fx.at(5), { snapshot: snapshot(error) }),
      fx.config,
    );
    expect(early.status.phase).toBe('CreatingSnapshot');
    expect(findCondition(early.status.conditions, 'Stalled')?.status).not.toBe('True');
    expect(early.requeueAfterMs).toBe(SNAPSHOT_RECHECK_MS);
    const stalled = decide(
      snapshotting(named),
      fx.observed(fx.at(61), { snapshot: snapshot(error) }),
      fx.config,
    );
    expect(findCondition(stalled.status.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'SnapshotNotReady',
      message: 'snapshot backup-snapshot is not ready yet: no space for snapshots',
    });
    // It backs off while it stalls: read again after a quarter of the time waited, at most 30 s.
    expect(stalled.requeueAfterMs).toBe(15_250);
    const at = (s: number) =>
      decide(snapshotting(named), fx.observed(fx.at(s), { snapshot: snapshot(error) }), fx.config);
    expect(at(300).requeueAfterMs).toBe(30_000);
    expect(at(590).requeueAfterMs).toBe(10_000);
    const failed = at(601);
    expect(failed.status.phase).toBe('Failed');
    expect(findCondition(failed.status.conditions, 'Failed')).toMatchObject({
      reason: 'SnapshotTimeout',
      message: 'snapshot backup-snapshot was not ready within 600s: no space for snapshots',
    });
  });

  it('fails with a clear reason when the snapshot cannot be created', () => {
    const refused = actionRefused(
      snapshotting(),
      { phase: 'CreatingSnapshot', ...named },
      'createSnapshot',
      'no API',
      fx.at(1),
    );
    expect(refused.refused).toBe(true);
    expect(refused.status.phase).toBe('Failed');
    expect(refused.status.snapshotName).toBeUndefined();
    expect(reason(refused.status, 'Failed')).toBe('SnapshotCreationFailed');
  });

  it('deletes the snapshot with the clone, and after any end, and names it until it is gone', () => {
    const cleaning = fx.dm({ ...spec, deletePvcAfterBackup: true }, fx.inPhase('CleaningUp', named));
    const cleanup = decide(
      cleaning,
      fx.observed(fx.at(9), { clone: fx.clone('Bound'), snapshot: snapshot({ readyToUse: true }) }),
      fx.config,
    );
    expect(cleanup.actions.map((a) => a.type)).toEqual(['deleteClone', 'deleteSnapshot']);

    const failed = fx.dm(spec, { ...fx.inPhase('Failed', named), completionTime: fx.at(5).toISOString() });
    const again = decide(
      failed,
      fx.observed(fx.at(10), { snapshot: snapshot({ readyToUse: false }) }),
      fx.config,
    );
    expect(again.actions).toEqual([{ type: 'deleteSnapshot', name: 'backup-snapshot' }]);
    expect(again.requeueAfterMs).toBe(SNAPSHOT_RECHECK_MS);
    const going = decide(failed, fx.observed(fx.at(11), { snapshot: snapshot({}, true) }), fx.config);
    expect(going.actions).toEqual([]);
    expect(going.status.snapshotName).toBe('backup-snapshot');
    const gone = decide(failed, fx.observed(fx.at(12), { snapshot: null }), fx.config);
    expect(gone.status.snapshotName).toBeUndefined();
  });

  it('reads the snapshot only while it is made and once the run has ended, until it is gone', () => {
    const need = (status: DataMoverStatus) =>
      lookupsNeeded(fx.dm(spec, status), { pods: [] }, fx.at(1), fx.config).snapshot;
    expect(need(fx.inPhase('CreatingSnapshot'))).toBe(true);
    expect(need(fx.inPhase('CreatingPod', named))).toBe(false);
    expect(need(fx.inPhase('Completed', named))).toBe(true);
    expect(need(fx.inPhase('Completed'))).toBe(false);
  });

  it('holds a slot of the run cap from the snapshot on, not while it waits for one', () => {
    const noChildren = () => ({});
    expect(underWay(snapshotting(), noChildren)).toBe(false);
    expect(underWay(snapshotting(named), noChildren)).toBe(true);
    // Its wait for the slot ends with the snapshot's creation.
    const queued = { ...snapshotting().status!, queuePosition: 1 };
    const started = { ...snapshotting().status!, ...named };
    expect(metricMoves(queued, started, fx.at(7))).toContainEqual({ metric: 'queueWait', seconds: 7 });
  });
});
