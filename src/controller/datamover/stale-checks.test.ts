// Checks hold until the Job runs (issue 32): the namespace's privileged-movers opt-in, checked before
// the clone, is read again by a privileged run's pass that may create its Job, however long the run
// waited in CreatingPod since (for its destination, or a restore reading its root). A run whose
// namespace no longer allows it fails with PrivilegedMoverNotAllowed and creates no Job. Ordinary
// runs read nothing more (the requests per DataMover of BENCHMARKS.md do not change).
import { describe, expect, it } from 'vitest';
import type { DataMoverSpec, DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { findCondition } from '../conditions.js';
import { at, clone, config, dm, inPhase, job, observed } from './fixtures.test-helpers.js';
import { lookupsNeeded } from './lookups.js';
import { decide } from './machine.js';

const reason = (s: DataMoverStatus, type: string) => findCondition(s.conditions, type)?.reason;
const privileged: Partial<DataMoverSpec> = { privilegedReader: true };
/** A run whose clone is made and ready, waiting in CreatingPod before its Job. */
const waitingToStart = (spec: Partial<DataMoverSpec> = privileged) => dm(spec, inPhase('CreatingPod'));

describe('a privileged run that waited before its mover', () => {
  it('fails, creating no Job, when the namespace no longer allows privileged movers', () => {
    const d = decide(
      waitingToStart(),
      observed(at(600), { clone: clone('Bound'), privilegedMoversAllowed: false }),
      config,
    );
    expect(d.actions).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(d.status.jobName).toBeUndefined();
    expect(reason(d.status, 'Failed')).toBe('PrivilegedMoverNotAllowed');
    expect(d.status.message).toBe(
      'privilegedReader is no longer allowed in namespace ns: its annotation datamover.io/privileged-movers=true was removed while the run waited to start its mover; no mover ran and nothing was written to the bucket; clone backup-clone, made before, stays until this DataMover is deleted',
    );
    // The clone is still there, and the CLONE column says so.
    expect(d.status.restoredPvcName).toBe('backup-clone');
  });

  it('fails as soon as a pass sees it, even while its destination is still busy', () => {
    const d = decide(
      waitingToStart(),
      observed(at(60), {
        clone: clone('Bound'),
        destinationBusyWith: 'ns/other',
        privilegedMoversAllowed: false,
      }),
      config,
    );
    expect(d.actions).toEqual([]);
    expect(reason(d.status, 'Failed')).toBe('PrivilegedMoverNotAllowed');
  });

  it('creates its Job when the namespace still allows it', () => {
    const d = decide(
      waitingToStart(),
      observed(at(600), { clone: clone('Bound'), privilegedMoversAllowed: true }),
      config,
    );
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
    expect(d.status.phase).toBe('CreatingPod');
  });

  it('is not failed once its Job was created (the cache has not shown the Job yet)', () => {
    const created = dm(privileged, inPhase('CreatingPod', { jobName: 'backup-mover' }));
    const d = decide(created, observed(at(5), { clone: clone('Bound') }), config);
    expect(d.status.phase).toBe('CreatingPod');
    expect(reason(d.status, 'Failed')).toBeUndefined();
  });

  it('an ordinary run is not concerned', () => {
    const d = decide(waitingToStart({}), observed(at(600), { clone: clone('Bound') }), config);
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
  });
});

describe('the namespace lookup', () => {
  const need = (spec: Partial<DataMoverSpec>, status: DataMoverStatus, cached = {}) =>
    lookupsNeeded(dm(spec, status), { pods: [], clone: clone('Bound'), ...cached }, at(5), config).namespace;

  it('is made by a privileged run on a pass that may create its Job', () => {
    expect(need(privileged, inPhase('CreatingPod'))).toBe(true);
    // And before the clone, as before.
    expect(need(privileged, inPhase('CreatingClonedPVC'))).toBe(true);
  });

  it('is not made once the Job is created, nor by an ordinary run', () => {
    expect(need(privileged, inPhase('CreatingPod', { jobName: 'backup-mover' }))).toBe(false);
    expect(need(privileged, inPhase('CreatingPod', { jobName: 'backup-mover' }), { job: job() })).toBe(false);
    expect(need({}, inPhase('CreatingPod'))).toBe(false);
    expect(need(privileged, inPhase('CleaningUp'))).toBe(false);
  });
});
