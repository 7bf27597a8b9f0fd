import { describe, expect, it } from 'vitest';
import { fairOrder, RunPools, RunSlots, type Census, type Waiting } from './run-slots.js';

const run = (namespace: string, n: number, created: number): Waiting => ({
  key: `${namespace}/r${n}`,
  namespace,
  created,
});

describe('the fair order of waiting runs', () => {
  it('takes one run of each namespace in turn, the oldest first within each', () => {
    // Namespace a has five runs, older than b's two and c's one: a cannot take every slot.
    const waiting = [
      ...[1, 2, 3, 4, 5].map((n) => run('a', n, n)),
      run('b', 1, 10),
      run('b', 2, 11),
      run('c', 1, 20),
    ];
    expect(fairOrder(waiting.reverse()).map((w) => w.key)).toEqual([
      'a/r1',
      'b/r1',
      'c/r1',
      'a/r2',
      'b/r2',
      'a/r3',
      'a/r4',
      'a/r5',
    ]);
  });

  it('gives the namespace served longest ago its turn first', () => {
    const waiting = [run('a', 1, 1), run('a', 2, 2), run('b', 1, 3), run('c', 1, 4)];
    const served = (ns: string) => ({ a: 5, b: 0, c: 2 })[ns] ?? 0;
    expect(fairOrder(waiting, served).map((w) => w.key)).toEqual(['b/r1', 'c/r1', 'a/r1', 'a/r2']);
  });

  it('orders runs created in the same second by name', () => {
    expect(fairOrder([run('a', 2, 0), run('a', 1, 0)]).map((w) => w.key)).toEqual(['a/r1', 'a/r2']);
  });
});

describe('the slots', () => {
  const census = (holding: string[], waiting: Waiting[]): Census => ({ holding: new Set(holding), waiting });

  it('give a slot to the first waiting runs while fewer than the cap are under way', () => {
    const slots = new RunSlots(2);
    const waiting = [run('a', 1, 1), run('a', 2, 2), run('b', 1, 3)];
    expect(slots.request('b/r1', census(['x/y'], waiting), 0)).toEqual({
      admitted: false,
      position: 2,
      waiting: 3,
    });
    expect(slots.request('a/r1', census(['x/y'], waiting), 0)).toEqual({ admitted: true, fresh: true });
    // a/r1 holds a slot the caches do not show yet: the cap is reached for everyone else, and
    // namespace a, just served, goes after b.
    expect(slots.request('b/r1', census(['x/y'], waiting), 0)).toEqual({
      admitted: false,
      position: 1,
      waiting: 2,
    });
    expect(slots.request('a/r2', census(['x/y'], waiting), 0)).toEqual({
      admitted: false,
      position: 2,
      waiting: 2,
    });
    expect(slots.request('a/r1', census(['x/y'], waiting), 0)).toEqual({ admitted: true, fresh: false });
  });

  it('count a run under way once, whether the caches show it or it was just given a slot', () => {
    const slots = new RunSlots(2);
    expect(slots.request('a/r1', census([], [run('a', 1, 1)]), 0)).toMatchObject({ admitted: true });
    // The caches now show a/r1 under way: it is counted there, not twice.
    expect(slots.request('b/r1', census(['a/r1'], [run('b', 1, 2)]), 0)).toMatchObject({ admitted: true });
    const waiting = [run('b', 1, 2), run('c', 1, 3)];
    expect(slots.request('c/r1', census(['a/r1'], waiting), 0)).toMatchObject({ admitted: false });
  });

  it('hand a cap of one out in turns: a namespace with many old runs does not take every slot', () => {
    const slots = new RunSlots(1);
    let waiting = [...[1, 2, 3].map((n) => run('a', n, n)), run('b', 1, 10), run('b', 2, 11)];
    const order: string[] = [];
    while (waiting.length > 0) {
      const [next] = slots.next(census([], waiting), 0);
      expect(slots.request(next!, census([], waiting), 0)).toMatchObject({ admitted: true });
      order.push(next!);
      // It ran and ended: neither under way nor waiting any more.
      waiting = waiting.filter((w) => w.key !== next);
    }
    expect(order).toEqual(['a/r1', 'b/r1', 'a/r2', 'b/r2', 'a/r3']);
  });

  it('give back a slot a pass did not use, and name the runs the free slots go to', () => {
    const slots = new RunSlots(1);
    const waiting = [run('a', 1, 1), run('b', 1, 2), run('c', 1, 3)];
    expect(slots.request('a/r1', census([], waiting), 0)).toMatchObject({ admitted: true });
    expect(slots.next(census([], waiting), 0)).toEqual([]);
    slots.release('a/r1');
    expect(slots.next(census([], waiting), 0)).toEqual(['a/r1']);
    expect(new RunSlots(2).next(census([], waiting), 0)).toEqual(['a/r1', 'b/r1']);
  });

  it('forget a slot whose run ended, or whose pass was lost, so that it cannot leak', () => {
    const slots = new RunSlots(1);
    expect(slots.request('a/r1', census([], [run('a', 1, 1)]), 0)).toMatchObject({ admitted: true });
    // a/r1 failed: it is neither under way nor waiting any more.
    expect(slots.request('b/r1', census([], [run('b', 1, 2)]), 1)).toMatchObject({ admitted: true });
    // b/r1 never showed as under way: after a minute its slot is given again, to the namespace
    // served longest ago.
    const waiting = [run('b', 1, 2), run('c', 1, 3)];
    expect(slots.request('c/r1', census([], waiting), 30_000)).toMatchObject({ admitted: false });
    expect(slots.request('b/r1', census([], waiting), 61_000)).toMatchObject({
      admitted: false,
      position: 2,
    });
    expect(slots.request('c/r1', census([], waiting), 61_000)).toEqual({ admitted: true, fresh: true });
  });
});

describe('the pools', () => {
  const census = (holding: string[], waiting: Waiting[]): Census => ({ holding: new Set(holding), waiting });

  it("keep each pool's slots apart, follow a cap edited, and give back a slot whichever pool gave it", () => {
    const pools = new RunPools();
    const flag = { id: '', cap: 1 };
    const fast = { id: 'fast', cap: 1, storageClass: 'fast' };
    expect(pools.slots(flag).request('a/r1', census([], [run('a', 1, 1)]), 0)).toMatchObject({
      admitted: true,
    });
    // The flag's one slot is taken; the class's own is not. (a/r2 waits in the caches until its
    // clone shows.)
    expect(pools.slots(fast).request('a/r2', census([], [run('a', 2, 2)]), 0)).toMatchObject({
      admitted: true,
    });
    expect(pools.slots(fast).request('a/r3', census([], [run('a', 2, 2), run('a', 3, 3)]), 0)).toMatchObject({
      admitted: false,
    });
    expect(
      pools.slots({ ...fast, cap: 2 }).request('a/r3', census([], [run('a', 2, 2), run('a', 3, 3)]), 0),
    ).toMatchObject({
      admitted: true,
    });
    // A slot given back (its pass created nothing) is free again for the first in the queue.
    const flagQueue = census([], [run('a', 1, 1), run('b', 1, 4)]);
    expect(pools.slots(flag).next(flagQueue, 0)).toEqual([]);
    pools.release('a/r1');
    expect(pools.slots(flag).next(flagQueue, 0)).toEqual(['a/r1']);
    expect(pools.each().map(([id]) => id)).toEqual(['', 'fast']);
    expect(pools.gaveSlot('a/r3')).toBe('fast');
    expect(pools.gaveSlot('a/r1')).toBeUndefined();
  });
});
