import { describe, expect, it } from 'vitest';
import type { DataMover } from '../api/v1alpha1/schema.js';
import { at, dm } from './fixtures.test-helpers.js';
import { destinationBusyWith } from './destination-lock.js';

function peer(name: string, createdAt: number, status: DataMover['status'], spec = {}): DataMover {
  const d = dm(spec, status, name);
  d.metadata.creationTimestamp = at(createdAt);
  return d;
}
const waiting = { phase: 'CreatingPod' as const, startTime: at(0).toISOString() };

describe('destinationBusyWith', () => {
  it('lets the earliest created go first and holds the later', () => {
    const a = peer('a', 0, waiting);
    const b = peer('b', 1, waiting);
    expect(destinationBusyWith(a, [a, b])).toBeUndefined();
    expect(destinationBusyWith(b, [a, b])).toBe('a');
  });

  it('breaks a creation-time tie by name', () => {
    const a = peer('a', 0, waiting);
    const b = peer('b', 0, waiting);
    expect(destinationBusyWith(a, [a, b])).toBeUndefined();
    expect(destinationBusyWith(b, [a, b])).toBe('a');
  });

  it('gives way to a DataMover whose mover already runs, even a later one', () => {
    const early = peer('early', 0, waiting);
    const running = peer('running', 5, { ...waiting, jobName: 'running-mover' });
    expect(destinationBusyWith(early, [early, running])).toBe('running');
    expect(destinationBusyWith(running, [early, running])).toBeUndefined();
  });

  it('ignores finished DataMovers, other destinations and other namespaces', () => {
    const me = peer('me', 5, waiting);
    const done = peer('done', 0, { phase: 'Completed', startTime: at(0).toISOString() });
    const elsewhere = peer('elsewhere', 0, waiting, { destinationPath: 'other/place' });
    const otherNs = peer('other', 0, waiting);
    otherNs.metadata.namespace = 'other';
    expect(destinationBusyWith(me, [me, done, elsewhere, otherNs])).toBeUndefined();
  });

  it('treats timestamped destinations started at different seconds as different', () => {
    const a = peer(
      'a',
      0,
      { phase: 'CreatingPod', startTime: at(0).toISOString() },
      { addTimestampPrefix: true },
    );
    const b = peer(
      'b',
      1,
      { phase: 'CreatingPod', startTime: at(1).toISOString() },
      { addTimestampPrefix: true },
    );
    expect(destinationBusyWith(b, [a, b])).toBeUndefined();
  });
});
