// The run cap as a restore sees it: which restores it counts as under way and which as waiting
// (slots.ts), what a restore without a slot shows (machine.ts), and one cap shared with the
// DataMovers (run-cap.ts).
import { describe, expect, it } from 'vitest';
import { createLogger } from 'winston';
import type { DataMoverRestore, DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import { findCondition } from '../conditions.js';
import { config, T0 } from '../datamover/fixtures.test-helpers.js';
import { QUEUED_RECHECK_MS, RunCap, type CapMember } from '../run-cap.js';
import type { Census } from '../run-slots.js';
import { StorageClasses } from '../storage-classes.js';
import { inPhase, observed, restore, restoreJob, target } from './fixtures.test-helpers.js';
import { decideRestore } from './machine.js';
import { restoreCensus, restoreKey } from './slots.js';

const named = (name: string, status?: DataMoverRestoreStatus): DataMoverRestore => restore({}, status, name);
const noJob = () => undefined;

describe('the restores the cap counts', () => {
  it('hold a slot from their Job to its end, and wait in Restoring before it', () => {
    const restores = [
      named('new'),
      named('target', inPhase('CreatingTargetPVC')),
      named('queued', inPhase('Restoring', { queuePosition: 1 })),
      named('entered', inPhase('Restoring')),
      named('running', inPhase('Restoring', { jobName: 'running-restore' })),
      named('done', inPhase('Completed')),
      named('done-job-going', inPhase('Completed')),
    ];
    const deleting = { ...restoreJob(), metadata: { ...restoreJob().metadata, deletionTimestamp: T0 } };
    const c = restoreCensus(restores, (r) => (r.metadata.name === 'done-job-going' ? deleting : undefined));
    expect([...c.holding].sort()).toEqual([
      'DataMoverRestore:ns/done-job-going',
      'DataMoverRestore:ns/running',
    ]);
    expect(c.waiting.map((w) => w.key)).toEqual([
      'DataMoverRestore:ns/queued',
      'DataMoverRestore:ns/entered',
    ]);
  });

  it('count the restore asking from its own copy, and only those of the pool asked about', () => {
    const stale = named('me', inPhase('CreatingTargetPVC'));
    const me = named('me', inPhase('Restoring'));
    const other = named('other', inPhase('Restoring', { jobName: 'x', targetStorageClass: 'fast' }));
    const c = restoreCensus([stale, other], noJob, me, (r) => r.status?.targetStorageClass !== 'fast');
    expect(c.holding.size).toBe(0);
    expect(c.waiting.map((w) => w.key)).toEqual(['DataMoverRestore:ns/me']);
  });
});

describe('a restore without a slot', () => {
  const ready = () => restore({}, inPhase('Restoring', { source: 'bucket:ns/data/' }));
  const waiting = { admitted: false as const, position: 2, waiting: 5 };
  const pool = { id: '', cap: 4 };

  it('records its target StorageClass when the target is ready, for the pool it counts in', () => {
    const creating = restore({}, inPhase('CreatingTargetPVC'));
    const d = decideRestore(creating, observed({ target: target() }), config);
    expect(d.status).toMatchObject({ phase: 'Restoring', targetStorageClass: 'fast' });
  });

  it('waits before its Job with reason Queued and its place, kept as the queue moves', () => {
    const d = decideRestore(ready(), observed({ slot: waiting, pool }), config);
    expect(d.actions).toEqual([]);
    expect(d.requeueAfterMs).toBe(QUEUED_RECHECK_MS);
    expect(d.status.queuePosition).toBe(2);
    expect(d.status.jobName).toBeUndefined();
    expect(findCondition(d.status.conditions, 'Reconciling')).toMatchObject({
      reason: 'Queued',
      message:
        'waiting for a slot: 2 of 5 waiting; at most 4 backups and restores run at once (--max-concurrent-runs)',
    });
    const later = { admitted: false as const, position: 1, waiting: 3 };
    const again = decideRestore(restore({}, d.status), observed({ slot: later, pool }), config);
    expect(again.status).toEqual(d.status);
  });

  it('creates its Job once it has one, and leaves its place', () => {
    const queued = decideRestore(ready(), observed({ slot: waiting, pool }), config).status;
    const slot = { admitted: true as const, fresh: true };
    const d = decideRestore(restore({}, queued), observed({ slot, pool }), config);
    expect(d.actions.map((a) => a.type)).toEqual(['createJob']);
    expect(d.status.queuePosition).toBeUndefined();
    expect(findCondition(d.status.conditions, 'Reconciling')?.reason).toBe('Restoring');
  });
});

describe('one cap for backups and restores', () => {
  /** A kind whose runs are given as a census: holding keys, waiting keys with their creation. */
  const member = (
    holding: string[],
    waiting: Array<[key: string, created: number]>,
    owns: (key: string) => boolean,
    woken: string[],
  ): CapMember<unknown> => ({
    census: (): Census => ({
      holding: new Set(holding),
      waiting: waiting.map(([key, created]) => ({ key, namespace: 'ns', created })),
    }),
    owns,
    wake: (keys) => woken.push(...keys),
  });
  const classes = new StorageClasses({ storageClass: () => Promise.resolve(undefined) });
  const log = createLogger({ silent: true });

  it("counts the other kind's runs against the cap, and wakes each kind's own runs", async () => {
    const cap = new RunCap(classes, 2, log);
    const backupsWoken: string[] = [];
    const restoresWoken: string[] = [];
    const backups = member(['ns/b1'], [['ns/b2', 1]], (k) => !k.includes(':'), backupsWoken);
    const me = named('r1', inPhase('Restoring'));
    const restores = member(
      ['DataMoverRestore:ns/r0'],
      [[restoreKey(me), 2]],
      (k) => k.startsWith('DataMoverRestore:'),
      restoresWoken,
    );
    cap.join(backups);
    cap.join(restores);
    // One backup and one restore hold the two slots: the restore asking waits, behind the backup.
    const asked = await cap.request(restores, me, restoreKey(me), undefined, T0);
    expect(asked).toEqual({ slot: { admitted: false, position: 2, waiting: 2 }, pool: { id: '', cap: 2 } });
    cap.wakeNext();
    expect([...backupsWoken, ...restoresWoken]).toEqual([]);

    // A cap of 3: the one free slot goes to the oldest waiting run, the backup, and wakes only it.
    const wider = new RunCap(classes, 3, log);
    wider.join(backups);
    wider.join(restores);
    expect(await wider.request(restores, me, restoreKey(me), undefined, T0)).toMatchObject({
      slot: { admitted: false, position: 2 },
    });
    wider.wakeNext();
    expect(backupsWoken).toEqual(['ns/b2']);
    expect(restoresWoken).toEqual([]);
  });

  it('does not wake the run whose pass just ended it or gave its slot back, which the caches may still show waiting', async () => {
    // The restore failed before its Job (a pod started mounting its target while it waited): its
    // pass wrote Failed, but the cache, which lags that write, still shows it waiting. Woken, its
    // pass (an ended run's: no request) would wake it again at once, and never let the watch in.
    const cap = new RunCap(classes, 1, log);
    const woken: string[] = [];
    const me = named('r1', inPhase('Restoring'));
    const restores = member([], [[restoreKey(me), 1]], () => true, woken);
    cap.join(restores);
    const asked = await cap.request(restores, me, restoreKey(me), undefined, T0);
    expect(asked?.slot).toEqual({ admitted: true, fresh: true });
    cap.release(restoreKey(me));
    cap.wakeNext(restoreKey(me));
    expect(woken).toEqual([]);
    // Any other pass wakes it, as the cache shows it: a waiting run is never left behind.
    cap.wakeNext();
    expect(woken).toEqual([restoreKey(me)]);
  });

  it('asks nothing when no cap applies', async () => {
    const cap = new RunCap(classes, 0, log);
    const me = named('r1', inPhase('Restoring'));
    expect(
      await cap.request(
        member([], [], () => true, []),
        me,
        restoreKey(me),
        'fast',
        T0,
      ),
    ).toBe(undefined);
  });
});
