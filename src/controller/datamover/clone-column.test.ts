// `kubectl get dm` shows the CLONE column from status.restoredPvcName: it names a clone only while
// one exists. A run that never made one (refused, or its source missing) shows none; a run whose
// clone the operator deleted (deletePvcAfterBackup), or whose clone is gone since, shows none.
import { describe, expect, it } from 'vitest';
import type { DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { at, clone, config, dm, inPhase, job, observed, source } from './fixtures.test-helpers.js';
import { actionRefused, decide } from './machine.js';

const named = (s: DataMoverStatus) => s.restoredPvcName;

describe('the CLONE column (status.restoredPvcName)', () => {
  it('names no clone for a run refused or failed before it made one', () => {
    const refused = decide(
      dm({ image: { repository: 'evil.example/mover' } }, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      config,
    );
    expect(refused.status.phase).toBe('Failed');
    expect(named(refused.status)).toBeUndefined();
    const missing = decide(dm({}, inPhase('CreatingClonedPVC')), observed(at(120), { source: null }), config);
    expect(missing.status.phase).toBe('Failed');
    expect(named(missing.status)).toBeUndefined();
  });

  it('names the clone from its creation on, and not when the apiserver refused to create it', () => {
    const creating = decide(
      dm({}, inPhase('CreatingClonedPVC')),
      observed(at(1), { source: source() }),
      config,
    );
    expect(creating.actions.map((a) => a.type)).toEqual(['createClone']);
    expect(named(creating.status)).toBe('backup-clone');
    const refused = actionRefused(dm({}, creating.status), creating.status, 'createClone', 'quota', at(1));
    expect(named(refused.status)).toBeUndefined();
    // A clone found in the cache (a run started by an older operator) is named too.
    const bound = decide(
      dm({}, inPhase('CreatingClonedPVC')),
      observed(at(2), { clone: clone('Bound') }),
      config,
    );
    expect(named(bound.status)).toBe('backup-clone');
  });

  it('keeps naming a clone that is kept, and stops when the operator deletes it', () => {
    const running = inPhase('CreatingPod', { jobName: 'backup-mover', restoredPvcName: 'backup-clone' });
    const kept = decide(
      dm({}, running),
      observed(at(5), { clone: clone('Bound'), job: job({ type: 'Complete' }) }),
      config,
    );
    expect(kept.status.phase).toBe('Completed');
    expect(named(kept.status)).toBe('backup-clone');

    const cleaning = inPhase('CleaningUp', { jobName: 'backup-mover', restoredPvcName: 'backup-clone' });
    const deleted = decide(
      dm({ deletePvcAfterBackup: true }, cleaning),
      observed(at(7), { clone: clone('Bound'), job: job({ type: 'Complete' }) }),
      config,
    );
    expect(deleted.actions.map((a) => a.type)).toContain('deleteClone');
    expect(named(deleted.status)).toBeUndefined();
    // A deletion the apiserver refused leaves the clone, and the column names it again.
    const notDeleted = actionRefused(
      dm({ deletePvcAfterBackup: true }, cleaning),
      deleted.status,
      'deleteClone',
      'forbidden',
      at(7),
    );
    expect(named(notDeleted.status)).toBe('backup-clone');
  });

  it('stops naming the clone of a finished run once the clone is gone', () => {
    const done = inPhase('Completed', {
      completionTime: at(10).toISOString(),
      restoredPvcName: 'backup-clone',
    });
    expect(named(decide(dm({}, done), observed(at(20), { clone: clone('Bound') }), config).status)).toBe(
      'backup-clone',
    );
    const gone = decide(dm({}, done), observed(at(20)), config);
    expect(named(gone.status)).toBeUndefined();
    expect(gone.status.phase).toBe('Completed');
    const deleting = {
      ...clone('Bound'),
      metadata: { ...clone('Bound').metadata, deletionTimestamp: at(15) },
    };
    expect(named(decide(dm({}, done), observed(at(20), { clone: deleting }), config).status)).toBeUndefined();
  });
});
