// Children are adopted by UID only: an object holding a child's name that an earlier DataMover of
// the same name left is deleted (that very object) and waited for; any other fails the run.
import { describe, expect, it } from 'vitest';
import { ownership } from '../../kube/names.js';
import { at, config, dm, source } from './fixtures.test-helpers.js';
import { actionRefused, decide, type NotOurChild, type Observed } from './machine.js';
import { metricMoves } from './transitions.js';

const observed = (extra: Partial<Observed> = {}): Observed => ({ now: at(1), pods: [], ...extra });
const condition = (s: { conditions?: Array<{ type: string; reason: string }> }, type: string) =>
  s.conditions?.find((c) => c.type === type);

const ref = (name: string, uid: string) => ({
  apiVersion: 'datamover.io/v1alpha1',
  kind: 'DataMover',
  name,
  uid,
  controller: true,
});
const LABELS = { 'app.kubernetes.io/managed-by': 'datamover-operator' };

describe('ownership of an object holding a child name', () => {
  const me = dm();
  it('is ours only with our UID as controller', () => {
    expect(ownership({ metadata: { ownerReferences: [ref('backup', 'uid-backup')] } }, me)).toBe('ours');
  });
  it('is an orphan when an earlier DataMover of our name controls it and it carries our labels', () => {
    expect(ownership({ metadata: { labels: LABELS, ownerReferences: [ref('backup', 'old')] } }, me)).toBe(
      'orphan',
    );
  });
  it('is foreign otherwise: no owner, another owner, or an old owner without our labels', () => {
    expect(ownership({ metadata: {} }, me)).toBe('foreign');
    expect(ownership({ metadata: { labels: LABELS, ownerReferences: [ref('other', 'x')] } }, me)).toBe(
      'foreign',
    );
    expect(ownership({ metadata: { ownerReferences: [ref('backup', 'old')] } }, me)).toBe('foreign');
    const notController = { ...ref('backup', 'uid-backup'), controller: false };
    expect(ownership({ metadata: { labels: LABELS, ownerReferences: [notController] } }, me)).toBe('foreign');
  });
});

const leftover = (kind: NotOurChild['kind'], extra: Partial<NotOurChild> = {}): NotOurChild => ({
  kind,
  name: kind === 'Job' ? 'backup-mover' : 'backup-clone',
  uid: 'old-uid',
  ownership: 'orphan',
  deleting: false,
  ...extra,
});

describe('a DataMover whose child name is taken', () => {
  const cloning = dm({}, { phase: 'CreatingClonedPVC', phaseStartTime: at(0).toISOString() });

  it("deletes an earlier DataMover's leftovers, that very object only, and waits", () => {
    const d = decide(
      cloning,
      observed({ source: source(), notOurs: [leftover('PersistentVolumeClaim'), leftover('Job')] }),
      config,
    );
    expect(d.actions).toEqual([
      { type: 'deleteLeftover', kind: 'PersistentVolumeClaim', name: 'backup-clone', uid: 'old-uid' },
      { type: 'deleteLeftover', kind: 'Job', name: 'backup-mover', uid: 'old-uid' },
    ]);
    expect(d.status.phase).toBe('CreatingClonedPVC');
    expect(condition(d.status, 'Reconciling')?.reason).toBe('WaitingForOldChild');
    expect(d.status.message).toMatch(/PersistentVolumeClaim ns\/backup-clone and Job ns\/backup-mover/);
  });

  it('creates nothing while a leftover is being deleted, and goes on once it is gone', () => {
    const waiting = decide(
      cloning,
      observed({ source: source(), notOurs: [leftover('PersistentVolumeClaim', { deleting: true })] }),
      config,
    );
    expect(waiting.actions).toEqual([]);
    const gone = decide(cloning, observed({ source: source() }), config);
    expect(gone.actions.map((a) => a.type)).toEqual(['createClone']);
  });

  it('never adopts the Complete Job of an earlier DataMover: the run waits instead of completing', () => {
    const running = dm({}, { phase: 'CreatingPod', phaseStartTime: at(0).toISOString() });
    const d = decide(running, observed({ notOurs: [leftover('Job')] }), config);
    expect(d.status.phase).toBe('CreatingPod');
    expect(d.actions).toEqual([
      { type: 'deleteLeftover', kind: 'Job', name: 'backup-mover', uid: 'old-uid' },
    ]);
  });

  it('fails at once with NameConflict, naming the object, when something else holds the name', () => {
    const d = decide(
      cloning,
      observed({ source: source(), notOurs: [leftover('PersistentVolumeClaim', { ownership: 'foreign' })] }),
      config,
    );
    expect(d.actions).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(condition(d.status, 'Failed')?.reason).toBe('NameConflict');
    expect(d.status.message).toMatch(
      /PersistentVolumeClaim ns\/backup-clone already exists and is not owned/,
    );
    // Counted as a failure of the phase it happened in.
    expect(metricMoves(cloning.status!, d.status)).toContainEqual({
      metric: 'operations',
      phase: 'CreatingClonedPVC',
      status: 'failure',
    });
  });

  it('fails with NameConflict when a create finds a foreign object the caches cannot see', () => {
    const creating = dm(
      {},
      { phase: 'CreatingPod', phaseStartTime: at(0).toISOString(), jobName: 'backup-mover' },
    );
    const r = actionRefused(
      creating,
      creating.status!,
      'createJob',
      'Job ns/backup-mover exists',
      at(1),
      true,
    );
    expect(r.refused).toBe(true);
    expect(r.status.jobName).toBeUndefined();
    expect(condition(r.status, 'Failed')?.reason).toBe('NameConflict');
  });
});
