import { describe, expect, it } from 'vitest';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import { at, dm } from './fixtures.test-helpers.js';
import { rootsMeet } from '../../jobs/destination.js';
import { destinationBusyWith, liveRunsOf, waitingFor } from './destination-lock.js';

function peer(name: string, createdAt: number, status: DataMover['status'], spec = {}, ns = 'ns'): DataMover {
  const d = dm(spec, status, name);
  d.metadata.creationTimestamp = at(createdAt);
  d.metadata.namespace = ns;
  return d;
}
const waiting = { phase: 'CreatingPod' as const, startTime: at(0).toISOString() };

describe('destinationBusyWith', () => {
  it('lets the earliest created go first and holds the later', () => {
    const a = peer('a', 0, waiting);
    const b = peer('b', 1, waiting);
    expect(destinationBusyWith(a, [a, b])).toBeUndefined();
    expect(destinationBusyWith(b, [a, b])).toBe('ns/a');
  });

  it('breaks a creation-time tie by namespace and name', () => {
    const a = peer('a', 0, waiting);
    const b = peer('b', 0, waiting);
    expect(destinationBusyWith(a, [a, b])).toBeUndefined();
    expect(destinationBusyWith(b, [a, b])).toBe('ns/a');
  });

  it('gives way to a DataMover whose mover already runs, even a later one', () => {
    const early = peer('early', 0, waiting);
    const running = peer('running', 5, { ...waiting, jobName: 'running-mover' });
    expect(destinationBusyWith(early, [early, running])).toBe('ns/running');
    expect(destinationBusyWith(running, [early, running])).toBeUndefined();
  });

  it('ignores finished DataMovers and roots that cannot meet', () => {
    const me = peer('me', 5, waiting);
    const done = peer('done', 0, { phase: 'Completed', startTime: at(0).toISOString() });
    const elsewhere = peer('elsewhere', 0, waiting, { destinationPath: 'ns/other' });
    const sibling = peer('sibling', 0, waiting, { destinationPath: 'ns/data-2' });
    expect(destinationBusyWith(me, [me, done, elsewhere, sibling])).toBeUndefined();
  });

  it('holds a timestamped run and a plain mirror of the same PVC apart: they share a root', () => {
    const stamped = peer('stamped', 0, waiting, { addTimestampPrefix: true });
    const plain = peer('plain', 1, waiting);
    expect(destinationBusyWith(plain, [stamped, plain])).toBe('ns/stamped');
  });

  it('holds a root that lies inside or above another, whatever the Secret and namespace', () => {
    const inner = peer('inner', 0, waiting, { destinationPath: 'team-a/db', secretName: 'one' });
    const outer = peer('outer', 1, waiting, { destinationPath: '/team-a/', secretName: 'two' }, 'other');
    expect(destinationBusyWith(outer, [inner, outer])).toBe('ns/inner');
    const deeper = peer('deeper', 2, waiting, { destinationPath: 'team-a/db/x' }, 'third');
    expect(destinationBusyWith(deeper, [inner, deeper])).toBe('ns/inner');
    const neighbour = peer('neighbour', 2, waiting, { destinationPath: 'team-a/dbx' });
    expect(destinationBusyWith(neighbour, [inner, neighbour])).toBeUndefined();
  });

  it('wakes the DataMovers waiting for a root when its holder finishes', () => {
    const holder = peer('holder', 0, { phase: 'Completed' }, { destinationPath: 'team-a' });
    const waiter = peer('waiter', 1, waiting, { destinationPath: 'team-a/db' }, 'other');
    const running = peer('running', 1, { ...waiting, jobName: 'x' }, { destinationPath: 'team-a/x' });
    const unrelated = peer('unrelated', 1, waiting, { destinationPath: 'team-b' });
    expect(waitingFor(holder, [holder, waiter, running, unrelated]).map((d) => d.metadata.name)).toEqual([
      'waiter',
    ]);
  });

  it('says two roots meet when they are equal or nested, segment by segment', () => {
    expect(rootsMeet('a/b', 'a/b')).toBe(true);
    expect(rootsMeet('a', 'a/b')).toBe(true);
    expect(rootsMeet('a/b/c', 'a/b')).toBe(true);
    expect(rootsMeet('a/b', 'a/bc')).toBe(false);
  });
});

describe('liveRunsOf', () => {
  it('lists the UIDs of the DataMovers that exist and back up to the same root, finished ones and its own included', () => {
    const me = peer('me', 5, waiting);
    const done = peer('done', 0, { phase: 'Completed', startTime: at(0).toISOString() });
    const failed = peer('failed', 0, { phase: 'Failed', startTime: at(0).toISOString() });
    const otherNs = peer('same-root', 0, waiting, { destinationPath: 'ns/data' }, 'team-b');
    const deleting = peer('deleting', 0, waiting);
    deleting.metadata.deletionTimestamp = at(6);
    const elsewhere = peer('elsewhere', 0, waiting, { destinationPath: 'ns/other' });
    const around = peer('around', 0, waiting, { destinationPath: 'ns' });
    expect(liveRunsOf(me, [me, done, failed, otherNs, deleting, elsewhere, around])).toEqual(
      ['uid-done', 'uid-failed', 'uid-me', 'uid-same-root'].sort(),
    );
    expect(liveRunsOf(me, [])).toEqual(['uid-me']);
  });
});
