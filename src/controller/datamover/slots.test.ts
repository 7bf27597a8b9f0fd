// The run cap as a DataMover sees it: which runs the cap counts as under way and which as waiting
// (slots.ts), and what a run without a slot shows (machine.ts, transitions.ts).
import { describe, expect, it } from 'vitest';
import type { DataMover, DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { findCondition } from '../conditions.js';
import * as fx from './fixtures.test-helpers.js';
import { decide } from './machine.js';
import { QUEUED_RECHECK_MS } from '../run-cap.js';
import { cachedChildren, census, classOf, underWay } from './slots.js';
import { metricMoves } from './transitions.js';

const named = (name: string, status?: DataMoverStatus, namespace = 'ns'): DataMover => {
  const d = fx.dm({}, status, name);
  return { ...d, metadata: { ...d.metadata, namespace } };
};
const noClone = () => ({});
/** CreatingClonedPVC before any clone was made. */
const beforeClone = (extra: DataMoverStatus = {}): DataMoverStatus => {
  const status = fx.inPhase('CreatingClonedPVC', extra);
  delete status.restoredPvcName;
  return status;
};
const capped = { ...fx.config, maxConcurrentRuns: 3 };

describe('the runs the cap counts', () => {
  it('are under way from the clone to the end of cleanup, and wait when new or queued', () => {
    const runs = [
      named('new'),
      named('queued', beforeClone({ queuePosition: 2 })),
      named('clone-not-in-status', beforeClone()),
      named('cloning', fx.inPhase('CreatingClonedPVC')),
      named('moving', fx.inPhase('CreatingPod')),
      named('cleaning', fx.inPhase('CleaningUp')),
      named('done', fx.inPhase('Completed')),
      named('failed', fx.inPhase('Failed')),
    ];
    const gone = { metadata: { deletionTimestamp: fx.T0 } };
    const c = census(runs, (d) => {
      if (d.metadata.name === 'clone-not-in-status') return { clone: {} };
      // An ended run whose clone is still being deleted; one whose clone is kept holds nothing.
      if (d.metadata.name === 'done') return { clone: gone };
      if (d.metadata.name === 'failed') return { clone: {} };
      return {};
    });
    // A clone in the cache counts even before the status names it (a write not seen yet).
    expect([...c.holding].sort()).toEqual([
      'ns/cleaning',
      'ns/clone-not-in-status',
      'ns/cloning',
      'ns/done',
      'ns/moving',
    ]);
    expect(c.waiting.map((w) => w.key)).toEqual(['ns/new', 'ns/queued']);
  });

  it("hold a run's slot after its clean-up until the clone is gone from the cache, even before it shows deleting", () => {
    // The run's end (status no longer naming the clone) can arrive before the PVC watch shows the
    // clone being deleted; a slot given then let a fourth run hold a clone under a cap of 3 (CI).
    const cleaned = fx.inPhase('Completed');
    delete cleaned.restoredPvcName;
    const ended = named('ended', cleaned);
    expect([...census([ended], () => ({ clone: {} })).holding]).toEqual(['ns/ended']);
    expect([...census([ended], noClone).holding]).toEqual([]);
  });

  it('count the run that asks as waiting, from its own copy, whatever held it back before', () => {
    const cached = named('me', beforeClone());
    const own = named('me', fx.inPhase('CreatingClonedPVC'));
    expect(census([cached], noClone, cached).waiting.map((w) => w.key)).toEqual(['ns/me']);
    // Its newest status (the clone made) is read over the cache's older one.
    expect([...census([cached], noClone, own).holding]).toEqual(['ns/me']);
  });
});

describe('the pool a run counts in', () => {
  it('is read from its clone, else the class it was queued for, else the class its spec asks for', () => {
    const withClone = named('a', fx.inPhase('CreatingPod'));
    const clone = { spec: { storageClassName: 'fast' } };
    expect(classOf(withClone, () => ({ clone }))).toBe('fast');
    expect(classOf(named('b', beforeClone({ queuePosition: 1, queueStorageClass: 'slow' })), noClone)).toBe(
      'slow',
    );
    const asked = fx.dm({ storageClassName: 'asked' }, beforeClone());
    expect(classOf(asked, noClone)).toBe('asked');
    expect(classOf(named('c'), noClone)).toBeUndefined();
  });

  it('holds a census to the runs of one pool, the run that asks always among them', () => {
    const runs = [
      named('fast-moving', fx.inPhase('CreatingPod')),
      named('slow-moving', fx.inPhase('CreatingPod')),
      named('fast-queued', beforeClone({ queuePosition: 1 })),
    ];
    const fast = (d: DataMover) => d.metadata.name.startsWith('fast');
    const me = named('me', beforeClone());
    const c = census(runs, noClone, me, fast);
    expect([...c.holding]).toEqual(['ns/fast-moving']);
    expect(c.waiting.map((w) => w.key)).toEqual(['ns/me', 'ns/fast-queued']);
  });
});

describe('a DataMover without a slot', () => {
  const creating = fx.dm({}, beforeClone());
  const waiting = { admitted: false as const, position: 4, waiting: 9 };
  const flag = { id: '', cap: 3 };

  it('waits before creating anything, with reason Queued and its place in status', () => {
    const d = decide(
      creating,
      fx.observed(fx.at(1), { source: fx.source(), slot: waiting, pool: flag }),
      capped,
    );
    expect(d.actions).toEqual([]);
    expect(d.status.queuePosition).toBe(4);
    expect(findCondition(d.status.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'Queued',
      message:
        'waiting for a slot: 4 of 9 waiting; at most 3 backups and restores run at once (--max-concurrent-runs)',
    });
    expect(d.status.restoredPvcName).toBeUndefined();
  });

  it("names its StorageClass's own cap when it waits under it, and records the class", () => {
    const pool = { id: 'fast', cap: 2, storageClass: 'fast' };
    const observed = fx.observed(fx.at(1), {
      source: fx.source(),
      slot: waiting,
      pool,
      storageClass: 'fast',
    });
    const d = decide(creating, observed, capped);
    expect(d.status.queueStorageClass).toBe('fast');
    expect(findCondition(d.status.conditions, 'Reconciling')?.message).toBe(
      'waiting for a slot: 4 of 9 waiting; at most 2 backups and restores of StorageClass fast run at once (its annotation datamover.io/max-concurrent-runs)',
    );
    const slot = { admitted: true as const, fresh: true };
    const next = decide(
      fx.dm({}, d.status),
      fx.observed(fx.at(2), { source: fx.source(), slot, pool }),
      capped,
    );
    expect(next.status.queueStorageClass).toBeUndefined();
  });

  it('keeps the place it was queued with while it waits: the queue moving costs no status write', () => {
    const first = decide(
      creating,
      fx.observed(fx.at(1), { source: fx.source(), slot: waiting, pool: flag }),
      capped,
    );
    const queued = fx.dm({}, first.status);
    const later = { admitted: false as const, position: 2, waiting: 5 };
    const again = decide(
      queued,
      fx.observed(fx.at(60), { source: fx.source(), slot: later, pool: flag }),
      capped,
    );
    expect(again.status).toEqual(first.status);
    expect(again.actions).toEqual([]);
    expect(again.requeueAfterMs).toBe(QUEUED_RECHECK_MS);
  });

  it('also waits so as a new DataMover, in the pass that starts it', () => {
    const d = decide(
      fx.dm(),
      fx.observed(fx.at(1), { source: fx.source(), slot: waiting, pool: flag }),
      capped,
    );
    expect(d.status.phase).toBe('CreatingClonedPVC');
    expect(d.status.queuePosition).toBe(4);
    expect(d.actions).toEqual([]);
  });

  it('creates its clone once it has one, and leaves its place', () => {
    const queued = fx.dm({}, beforeClone({ queuePosition: 1 }));
    const slot = { admitted: true as const, fresh: true };
    const d = decide(queued, fx.observed(fx.at(30), { source: fx.source(), slot }), capped);
    expect(d.actions.map((a) => a.type)).toEqual(['createClone']);
    expect(d.status.queuePosition).toBeUndefined();
    // The wait is counted from the start of its phase, once, with the write that leaves the queue.
    expect(metricMoves(queued.status!, d.status, fx.at(30))).toContainEqual({
      metric: 'queueWait',
      seconds: 30,
    });
    expect(metricMoves(d.status, d.status, fx.at(31)).filter((m) => m.metric === 'queueWait')).toEqual([]);
  });

  it('gives up its place when something else holds it back (its source went)', () => {
    const queued = fx.dm({}, beforeClone({ queuePosition: 1 }));
    const d = decide(queued, fx.observed(fx.at(1), { source: null, slot: waiting, pool: flag }), capped);
    expect(d.status.queuePosition).toBeUndefined();
    expect(findCondition(d.status.conditions, 'Reconciling')?.reason).not.toBe('Queued');
  });
});

describe("a run's children from the caches", () => {
  it('are not a PVC that only holds the clone name: it holds no slot, and gives no class', () => {
    const failed = fx.dm({}, fx.inPhase('Failed'));
    const terminating = (uid: string | undefined) => ({
      metadata: {
        name: 'data-clone',
        namespace: 'ns',
        deletionTimestamp: fx.T0,
        ...(uid
          ? {
              ownerReferences: [
                {
                  apiVersion: 'datamover.io/v1alpha1',
                  kind: 'DataMover',
                  name: failed.metadata.name,
                  uid,
                  controller: true,
                },
              ],
            }
          : {}),
      },
      spec: { storageClassName: 'theirs' },
    });
    const foreign = cachedChildren(
      () => terminating(undefined),
      () => undefined,
    );
    expect(underWay(failed, foreign)).toBe(false);
    expect(classOf(failed, foreign)).toBeUndefined();
    // Its own clone, still being deleted, holds the slot until it is gone.
    const own = cachedChildren(
      () => terminating(failed.metadata.uid),
      () => undefined,
    );
    expect(underWay(failed, own)).toBe(true);
    expect(classOf(failed, own)).toBe('theirs');
  });
});
