import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, WorkQueue, type Timers } from './queue.js';

class FakeTimers implements Timers {
  now = 0;
  private pending: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 0;
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.pending.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }
  random() {
    return 0.5;
  }
  advance(ms: number) {
    this.now += ms;
    const due = this.pending.filter((p) => p.at <= this.now);
    this.pending = this.pending.filter((p) => p.at > this.now);
    for (const p of due) p.fn();
  }
}

const make = () => {
  const timers = new FakeTimers();
  return {
    timers,
    queue: new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 }, timers, () => timers.now),
  };
};

describe('WorkQueue', () => {
  it('holds a key once however often it is added', async () => {
    const { queue } = make();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  it('never hands out a key that is being processed; a key added meanwhile runs again after done', async () => {
    const { queue } = make();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    expect(queue.depth).toBe(0);
    queue.done(key!);
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = make();
    const waiting = queue.get();
    queue.add('x');
    expect(await waiting).toBe('x');
  });

  it('backs off exponentially per key up to the cap, and forgets on success', () => {
    const { queue } = make();
    expect([1, 2, 3, 4, 5].map(() => queue.addRateLimited('k'))).toEqual([100, 200, 400, 800, 1000]);
    queue.forget('k');
    expect(queue.backoffFor('k')).toBe(100);
  });

  it('applies jitter around the delay', () => {
    const timers = new FakeTimers();
    timers.random = () => 1;
    const queue = new WorkQueue(
      { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 },
      timers,
      () => timers.now,
    );
    expect(queue.backoffFor('k')).toBe(120);
  });

  it('adds a delayed key when its time comes, keeping the earliest of several delays', () => {
    const { queue, timers } = make();
    queue.addAfter('k', 500);
    queue.addAfter('k', 200);
    queue.addAfter('k', 900);
    timers.advance(199);
    expect(queue.depth).toBe(0);
    timers.advance(1);
    expect(queue.depth).toBe(1);
    timers.advance(1000);
    expect(queue.depth).toBe(1);
  });

  it('releases waiting workers on shutdown and accepts nothing after', async () => {
    const { queue } = make();
    const waiting = queue.get();
    queue.shutdown();
    expect(await waiting).toBeUndefined();
    queue.add('late');
    expect(queue.depth).toBe(0);
  });

  it('hands out urgent keys (runs under way) before keys queued earlier (new runs)', async () => {
    const { queue } = make();
    for (const k of ['new-1', 'new-2', 'new-3']) queue.add(k);
    queue.add('running', true);
    queue.add('new-2', true); // a queued key whose child changed moves ahead, once
    expect(queue.depth).toBe(4);
    const order = [];
    for (let i = 0; i < 4; i++) order.push(await queue.get());
    expect(order).toEqual(['running', 'new-2', 'new-1', 'new-3']);
  });

  it('gives a worker kept for runs under way no new work, and the next urgent key at once', async () => {
    const { queue } = make();
    queue.add('new-1');
    let reserved: string | undefined;
    void queue.get(true).then((k) => (reserved = k));
    await Promise.resolve();
    expect(reserved).toBeUndefined(); // new work waits for a general worker
    queue.add('running', true);
    await Promise.resolve();
    expect(reserved).toBe('running');
    expect(await queue.get()).toBe('new-1');
  });

  it('hands an urgent key to an idle kept worker before a general one, which stays free for new work', async () => {
    const { queue } = make();
    const got: string[] = [];
    void queue.get().then((k) => got.push(`general:${k}`));
    void queue.get(true).then((k) => got.push(`kept:${k}`));
    queue.add('running', true);
    queue.add('new');
    await Promise.resolve();
    expect(got).toEqual(['kept:running', 'general:new']);
  });

  it('hands a queued key promoted to urgent to an idle reserved worker', async () => {
    const { queue } = make();
    queue.add('a');
    queue.add('b');
    let reserved: string | undefined;
    void queue.get(true).then((k) => (reserved = k));
    queue.add('b', true);
    await Promise.resolve();
    expect(reserved).toBe('b');
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe('a');
  });

  it('gives a new key to a general worker even when a reserved one waited first', async () => {
    const { queue } = make();
    const got: string[] = [];
    void queue.get(true).then((k) => got.push(`reserved:${k}`));
    void queue.get().then((k) => got.push(`general:${k}`));
    queue.add('new');
    await Promise.resolve();
    expect(got).toEqual(['general:new']);
    queue.shutdown();
    await Promise.resolve();
    expect(got).toEqual(['general:new', 'reserved:undefined']);
  });

  it('orders urgent keys by rank, oldest run first, first come first among equals', async () => {
    const timers = new FakeTimers();
    const created: Record<string, number> = { old: 1, older: 0, new1: 5, new2: 5 };
    const queue = new WorkQueue({ rank: (k) => created[k]! }, timers, () => timers.now);
    queue.add('new1', true);
    queue.add('new2', true);
    queue.add('old', true);
    queue.add('brand-new'); // new work after every urgent key
    queue.add('older'); // promoted below: ranked then
    queue.add('older', true);
    const order = [];
    for (let i = 0; i < 5; i++) order.push(await queue.get());
    expect(order).toEqual(['older', 'old', 'new1', 'new2', 'brand-new']);
  });

  it('tells how long each key waited for a worker, and whether it was urgent', async () => {
    const timers = new FakeTimers();
    const waits: Array<[number, boolean]> = [];
    const queue = new WorkQueue(
      { onWait: (ms, urgent) => waits.push([ms, urgent]) },
      timers,
      () => timers.now,
    );
    queue.add('new');
    timers.advance(40);
    queue.add('running', true);
    timers.advance(10);
    await queue.get();
    await queue.get();
    const idle = queue.get(true);
    queue.add('next-step', true); // an idle worker takes it at once
    await idle;
    expect(waits).toEqual([
      [10, true],
      [50, false],
      [0, true],
    ]);
  });

  it('holds new work while another queue has urgent work, and releases it when that is done', async () => {
    const schedules = make().queue;
    const { queue } = make();
    queue.holdNewWorkWhile(() => schedules.urgentPending, 30_000);
    schedules.whenUrgentDone(() => queue.release());
    schedules.add('fire', true);
    queue.add('new-run');
    const got: string[] = [];
    void queue.get().then((k) => got.push(k!));
    await Promise.resolve();
    expect(got).toEqual([]); // a fire time is queued: no run starts
    queue.add('running', true); // a run under way still takes its next step
    await Promise.resolve();
    expect(got).toEqual(['running']);
    void queue.get().then((k) => got.push(k!));
    const fire = await schedules.get();
    expect(schedules.urgentPending).toBe(true); // being reconciled
    await Promise.resolve();
    expect(got).toEqual(['running']);
    schedules.done(fire!);
    await Promise.resolve();
    expect(got).toEqual(['running', 'new-run']);
  });

  it('holds new work at most the limit at a stretch, then lets it go and holds again next time', async () => {
    const timers = new FakeTimers();
    const queue = new WorkQueue({}, timers, () => timers.now);
    let busy = true;
    queue.holdNewWorkWhile(() => busy, 30_000);
    queue.add('new-1');
    const got: string[] = [];
    void queue.get().then((k) => got.push(k!));
    await Promise.resolve();
    expect(got).toEqual([]);
    timers.advance(30_000); // a loop of urgent work elsewhere: new work goes out anyway
    await Promise.resolve();
    expect(got).toEqual(['new-1']);
    busy = false;
    queue.release(); // the hold lifted
    busy = true; // and a new one starts: held again, from now
    queue.add('new-2');
    void queue.get().then((k) => got.push(k!));
    await Promise.resolve();
    expect(got).toEqual(['new-1']);
    busy = false;
    queue.release();
    await Promise.resolve();
    expect(got).toEqual(['new-1', 'new-2']);
  });

  it('keeps the urgency of an add made while the key is processed', async () => {
    const { queue } = make();
    queue.add('a');
    const key = await queue.get();
    queue.add('a', true);
    queue.add('b');
    queue.done(key!);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  it('retries a failed key, after its backoff, ahead of new keys', async () => {
    const { queue, timers } = make();
    queue.add('failed');
    const key = await queue.get();
    queue.done(key!);
    queue.addRateLimited('failed');
    queue.add('new');
    timers.advance(1000);
    expect(await queue.get()).toBe('failed');
  });
});

describe('WorkQueue delays longer than a timer can hold', () => {
  it('never asks for a timer Node would fire after 1 ms (a month-long ttlSecondsAfterFinished)', async () => {
    const delays: number[] = [];
    const timers: Timers = {
      setTimeout: (_fn, ms) => {
        delays.push(ms);
        return delays.length;
      },
      clearTimeout: () => {},
      random: () => 0.5,
    };
    const queue = new WorkQueue({}, timers, () => 0);
    queue.addAfter('ns/ttl', 30 * 24 * 3600 * 1000);
    expect(delays).toEqual([MAX_TIMER_MS]);
    expect(queue.depth).toBe(0);
  });
});
