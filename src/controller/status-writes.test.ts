import { describe, expect, it } from 'vitest';
import { StatusWrites } from './status-writes.js';

interface Status {
  phase?: string;
}
interface Obj {
  metadata: { resourceVersion?: string };
  status?: Status;
}

const at = (rv: string, phase?: string): Obj => ({
  metadata: { resourceVersion: rv },
  ...(phase ? { status: { phase } } : {}),
});
const T = new Date('2026-01-01T00:00:00Z');
const make = () => new StatusWrites<Status, Obj>();

describe('StatusWrites: our own writes the cache has not delivered', () => {
  it('gives the cache copy when nothing was written', () => {
    const w = make();
    const cached = at('1');
    expect(w.current('k', cached)).toBe(cached);
    expect(w.current('k', undefined)).toBeUndefined();
  });

  it('gives our write while the cache still shows the version it replaced', () => {
    const w = make();
    const mine = at('2', 'CreatingPod');
    w.applied('k', at('1', 'CreatingClonedPVC'), mine);
    expect(w.current('k', at('1', 'CreatingClonedPVC'))).toBe(mine);
  });

  it('remembers every version written over while the cache lags several writes', () => {
    const w = make();
    w.applied('k', at('1'), at('2', 'a'));
    w.applied('k', at('2', 'a'), at('3', 'b'));
    const third = at('4', 'c');
    w.applied('k', at('3', 'b'), third);
    for (const stale of ['1', '2', '3']) expect(w.current('k', at(stale))).toBe(third);
  });

  it('forgets our write once the cache catches up, or someone else wrote after it', () => {
    const w = make();
    w.applied('k', at('1'), at('2', 'a'));
    const caught = at('2', 'a');
    expect(w.current('k', caught)).toBe(caught);
    expect(w.current('k', at('1'))).toEqual(at('1'));
    expect(w.size).toBe(0);
  });

  it('forgets our write when the object is gone', () => {
    const w = make();
    w.applied('k', at('1'), at('2'));
    expect(w.current('k', undefined)).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it('starts a new chain when a write is based on a version it did not write', () => {
    const w = make();
    w.applied('k', at('1'), at('2'));
    w.applied('k', at('5'), at('6', 'x'));
    // Version 1 belongs to the old chain: the cache showing it is not behind our latest write.
    expect(w.current('k', at('1'))).toEqual(at('1'));
  });

  it('keeps keys apart', () => {
    const w = make();
    const mine = at('2', 'a');
    w.applied('a', at('1'), mine);
    expect(w.current('b', at('1'))).toEqual(at('1'));
    expect(w.current('a', at('1'))).toBe(mine);
  });
});

describe('StatusWrites: writes whose answer was lost', () => {
  it('settles nothing while the object is still at the version the writes were made on', () => {
    const w = make();
    w.unknown('k', at('1'), {}, { phase: 'CreatingPod' }, T);
    expect(w.settle('k', at('1'))).toBeUndefined();
    expect(w.size).toBe(1);
  });

  it('returns the write the newer version shows, once', () => {
    const w = make();
    w.unknown('k', at('1'), {}, { phase: 'CreatingClonedPVC' }, T);
    w.unknown('k', at('1'), {}, { phase: 'CreatingPod' }, T);
    const applied = w.settle('k', at('2', 'CreatingPod'));
    expect(applied?.status).toEqual({ phase: 'CreatingPod' });
    expect(applied?.before).toEqual({});
    expect(w.settle('k', at('2', 'CreatingPod'))).toBeUndefined();
  });

  it('returns nothing when the newer version shows none of them (none was applied)', () => {
    const w = make();
    w.unknown('k', at('1'), {}, { phase: 'CreatingPod' }, T);
    expect(w.settle('k', at('2', 'Failed'))).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it('compares statuses as the apiserver stores them (undefined fields dropped)', () => {
    const w = make();
    w.unknown('k', at('1'), {}, { phase: 'CreatingPod', extra: undefined } as Status, T);
    expect(w.settle('k', at('2', 'CreatingPod'))?.status.phase).toBe('CreatingPod');
  });

  it('drops them when the object is gone, and when a later write is answered', () => {
    const w = make();
    w.unknown('k', at('1'), {}, { phase: 'x' }, T);
    expect(w.settle('k', undefined)).toBeUndefined();
    w.unknown('k', at('1'), {}, { phase: 'x' }, T);
    w.applied('k', at('1'), at('2', 'y'));
    expect(w.settle('k', at('3', 'x'))).toBeUndefined();
  });

  it('keeps only the writes against the latest version', () => {
    const w = make();
    w.unknown('k', at('1'), {}, { phase: 'old' }, T);
    w.unknown('k', at('2'), {}, { phase: 'new' }, T);
    expect(w.settle('k', at('3', 'old'))).toBeUndefined();
  });
});
