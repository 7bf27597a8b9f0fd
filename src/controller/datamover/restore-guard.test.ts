import { describe, expect, it } from 'vitest';
import type { DataMoverRestore, DataMoverRestoreSpec } from '../../api/v1alpha1/restore.js';
import { PVC_ANNOTATION, SCHEDULE_ANNOTATION } from '../../kube/names.js';
import { T0, at, clone, config, dm, inPhase, observed, source } from './fixtures.test-helpers.js';
import { decide } from './machine.js';
import { heldBy, restoreReading, restoreWriting } from './restore-guard.js';

function restore(
  spec: Partial<DataMoverRestoreSpec> = {},
  phase?: 'Restoring' | 'Completed' | 'Failed',
  ns = 'ns',
) {
  const r: DataMoverRestore = {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverRestore',
    metadata: { name: 'back', namespace: ns, uid: 'uid-back', creationTimestamp: T0 as never },
    spec: {
      source: { backup: { secretName: 'bucket', sourcePvc: 'data' } },
      target: { newPvc: { name: 'data-restored' } },
      ...spec,
    },
  };
  if (phase) r.status = { phase };
  return r;
}

const reason = (conditions: Array<{ type: string; reason: string }> | undefined) =>
  conditions?.find((c) => c.type === 'Reconciling')?.reason;

describe('restores shut out backups', () => {
  it('holds a backup of the PVC a restore is writing, before it clones it, and names the restore', () => {
    const r = restore({ target: { existingPvc: 'data' } }, 'Restoring');
    const backup = dm({ sourcePvc: 'data' });
    expect(restoreWriting(backup, [r])).toEqual({ restore: 'ns/back', why: 'writes' });
    const d = decide(
      { ...backup, status: inPhase('CreatingClonedPVC') },
      observed(at(1), { source: source({ phase: 'Bound' }), restoreInTheWay: restoreWriting(backup, [r]) }),
      config,
    );
    expect(d.actions).toEqual([]);
    expect(reason(d.status.conditions)).toBe('WaitingForRestore');
    expect(d.status.message).toContain('DataMoverRestore ns/back');
    expect(d.status.phase).toBe('CreatingClonedPVC');
  });

  it('lets the backup go once the restore is finished, and ignores other PVCs and namespaces', () => {
    const backup = dm({ sourcePvc: 'data' });
    expect(
      restoreWriting(backup, [restore({ target: { existingPvc: 'data' } }, 'Completed')]),
    ).toBeUndefined();
    expect(restoreWriting(backup, [restore({ target: { existingPvc: 'data' } }, 'Failed')])).toBeUndefined();
    expect(
      restoreWriting(backup, [restore({ target: { existingPvc: 'other' } }, 'Restoring')]),
    ).toBeUndefined();
    expect(
      restoreWriting(backup, [restore({ target: { existingPvc: 'data' } }, 'Restoring', 'ns2')]),
    ).toBeUndefined();
    // A new PVC counts as soon as the restore exists: the backup of that name waits for it too.
    expect(restoreWriting(dm({ sourcePvc: 'data-restored' }), [restore()])).toEqual({
      restore: 'ns/back',
      why: 'writes',
    });
  });

  it('holds a run whose retention prunes the root a restore reads, before its mover starts', () => {
    const pruning = dm({ sourcePvc: 'data', addTimestampPrefix: true, retention: { keep: { last: 1 } } });
    const r = restore({}, 'Restoring');
    expect(restoreReading(pruning, [r])).toEqual({ restore: 'ns/back', why: 'reads' });
    // Without retention a run deletes nothing a restore could read.
    expect(restoreReading(dm({ sourcePvc: 'data' }), [r])).toBeUndefined();
    // Another root is not held.
    expect(restoreReading(dm({ sourcePvc: 'logs', retention: { keep: { last: 1 } } }), [r])).toBeUndefined();
    const d = decide(
      { ...pruning, status: inPhase('CreatingPod') },
      observed(at(2), { clone: clone('Bound'), restoreInTheWay: restoreReading(pruning, [r]) }),
      config,
    );
    expect(d.actions).toEqual([]);
    expect(reason(d.status.conditions)).toBe('WaitingForRestore');
    expect(d.status.message).toContain('reads backups in ns/data/');
  });

  it("knows a schedule source's root before the restore resolves it, by the run's schedule and PVC", () => {
    const run = dm({
      sourcePvc: 'data',
      retention: { keep: { last: 1 } },
      destinationPath: 'ns/nightly/data',
    });
    run.metadata.annotations = { [SCHEDULE_ANNOTATION]: 'nightly', [PVC_ANNOTATION]: 'data' };
    const r = restore({ source: { schedule: { name: 'nightly', pvc: 'data' } } }, 'Restoring');
    expect(restoreReading(run, [r])).toEqual({ restore: 'ns/back', why: 'reads' });
    r.status = { phase: 'Restoring', source: 'bucket:ns/nightly/data/' };
    expect(restoreReading(run, [r])).toEqual({ restore: 'ns/back', why: 'reads' });
    r.status = { phase: 'Restoring', source: 'bucket:ns/other/' };
    expect(restoreReading(run, [r])).toBeUndefined();
  });

  it('wakes the DataMovers a restore holds when it changes', () => {
    const r = restore({ target: { existingPvc: 'data' } }, 'Completed');
    const waiting = dm({ sourcePvc: 'data' }, undefined, 'waiting');
    const running = dm({ sourcePvc: 'data' }, inPhase('CleaningUp'), 'late');
    const other = dm({ sourcePvc: 'logs' }, undefined, 'other');
    expect(heldBy(r, [waiting, running, other]).map((d) => d.metadata.name)).toEqual(['waiting']);
  });
});
