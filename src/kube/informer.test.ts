import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { Writable } from 'node:stream';
import { ResilientInformer, type InformerDeps } from './informer.js';

type Callback = (arg: unknown) => void;

/** A ListWatch stand-in: start() lists (or fails, calling the error callbacks, as client-node does). */
class FakeInformer {
  readonly callbacks = new Map<string, Callback[]>();
  readonly objects = new Map<string, KubernetesObject>();
  starts = 0;
  failures: unknown[] = [];

  on(event: string, cb: Callback): void {
    this.callbacks.set(event, [...(this.callbacks.get(event) ?? []), cb]);
  }
  off(): void {}
  emit(event: string, arg: unknown): void {
    for (const cb of this.callbacks.get(event) ?? []) cb(arg);
  }
  async start(): Promise<void> {
    this.starts += 1;
    const failure = this.failures.shift();
    if (failure !== undefined) this.emit('error', failure);
    await Promise.resolve();
  }
  async stop(): Promise<void> {}
  get(name: string): KubernetesObject | undefined {
    return this.objects.get(name);
  }
  list(): KubernetesObject[] {
    return [...this.objects.values()];
  }
  /** The watch saw an object added. */
  add(obj: KubernetesObject): void {
    this.objects.set(obj.metadata!.name!, obj);
    this.emit('add', obj);
  }
}

/** The log's JSON lines, parsed. */
class Lines extends Writable {
  readonly lines: Array<{ message: string; delayMs?: number }> = [];
  override _write(chunk: Buffer, _encoding: string, next: () => void): void {
    this.lines.push(JSON.parse(chunk.toString()) as { message: string });
    next();
  }
}

function setup(index?: (o: KubernetesObject) => readonly string[]) {
  const fake = new FakeInformer();
  const timers: Array<{ ms: number; fn: () => void }> = [];
  const restarts: string[] = [];
  const lines = new Lines();
  const deps: InformerDeps<KubernetesObject> = {
    makeInformer: () => fake as never,
    after: (ms, fn) => void timers.push({ ms, fn }),
  };
  const informer = new ResilientInformer<KubernetesObject>(
    {} as never,
    {
      resource: 'jobs',
      path: () => '/apis/batch/v1/jobs',
      list: async () => ({ items: [] }),
      ...(index ? { index } : {}),
    },
    [],
    winston.createLogger({
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: lines })],
    }),
    (r) => restarts.push(r),
    deps,
  );
  /** Runs the restart that is due, as its timer would. */
  const fireNext = async () => {
    const timer = timers.shift();
    if (!timer) throw new Error('no restart is scheduled');
    timer.fn();
    await new Promise((r) => setImmediate(r));
    return timer.ms;
  };
  return { fake, timers, restarts, lines, informer, fireNext };
}

describe('ResilientInformer', () => {
  it('restarts a stopped watch with doubling backoff, capped at 30 s', async () => {
    const { fake, informer, fireNext, restarts } = setup();
    fake.failures = Array.from({ length: 9 }, () => new Error('connection reset'));
    await informer.start(() => {});
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) delays.push(await fireNext());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(restarts).toHaveLength(9);
    expect(fake.starts).toBe(10);
  });

  it('is synced only once a list succeeds, and a later failure starts the backoff from the beginning', async () => {
    const { fake, informer, fireNext, timers } = setup();
    fake.failures = [new Error('a'), new Error('b')];
    await informer.start(() => {});
    expect(informer.hasSynced).toBe(false);
    await fireNext();
    expect(informer.hasSynced).toBe(false);
    await fireNext();
    expect(informer.hasSynced).toBe(true);
    fake.emit('error', new Error('watch cut'));
    expect(informer.hasSynced).toBe(false);
    expect(timers.map((t) => t.ms)).toEqual([500]);
  });

  it('says the CRD may be missing when the resource is not served', async () => {
    const { fake, informer, lines } = setup();
    fake.failures = [Object.assign(new Error('404 page not found'), { code: 404 })];
    await informer.start(() => {});
    expect(lines.lines.map((l) => l.message)).toContain(
      'resource not served (is its CRD installed?); retrying',
    );
  });

  it('schedules no restart once stopped', async () => {
    const { fake, informer, timers } = setup();
    await informer.start(() => {});
    await informer.stop();
    fake.emit('error', new Error('closed'));
    expect(timers).toHaveLength(0);
  });

  it('hands out and caches objects without their managedFields', async () => {
    const { fake, informer } = setup();
    const seen: KubernetesObject[] = [];
    await informer.start((o) => seen.push(o));
    fake.add({ metadata: { name: 'a', namespace: 'ns', managedFields: [{ manager: 'kubectl' }] } });
    expect(seen[0]?.metadata?.managedFields).toBeUndefined();
    expect(informer.get('ns', 'a')?.metadata?.managedFields).toBeUndefined();
  });

  it('finds objects by an index kept from the watch events, without scanning the cache', async () => {
    const { fake, informer } = setup((o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid));
    await informer.start(() => {});
    const pod = (name: string, owner: string) => ({
      metadata: {
        name,
        namespace: 'ns',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Job', name: 'j', uid: owner }],
      },
    });
    fake.add(pod('a', 'job-1'));
    fake.add(pod('b', 'job-1'));
    fake.add(pod('c', 'job-2'));
    expect(informer.indexed('job-1').map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    const moved = pod('b', 'job-2');
    fake.objects.set('b', moved);
    fake.emit('update', moved);
    expect(informer.indexed('job-1').map((o) => o.metadata?.name)).toEqual(['a']);
    expect(informer.indexed('job-2').map((o) => o.metadata?.name)).toEqual(['c', 'b']);
    fake.objects.delete('c');
    fake.emit('delete', pod('c', 'job-2'));
    expect(informer.indexed('job-2').map((o) => o.metadata?.name)).toEqual(['b']);
    expect(informer.indexed('nobody')).toEqual([]);
  });
});
