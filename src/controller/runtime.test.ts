// The shared plumbing runs a kind it knows nothing about: a test kind ("Widget") with in-memory
// sources gets its keys reconciled on its own changes and those of the objects it owns, requeued,
// retried after errors, woken for related keys, and drained on stop.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import type { Handler } from '../kube/informer.js';
import type { Source } from '../kube/resources.js';
import { ConflictError, KindController, type KindSpec, byCreation, type Priority } from './runtime.js';
import type { RuntimeMetrics } from '../metrics/metrics.js';

class MemorySource<T extends KubernetesObject> implements Source<T> {
  private readonly objects = new Map<string, T>();
  private handler: Handler<T> | undefined;
  hasSynced = false;
  stopped = false;

  async start(handler: Handler<T>): Promise<void> {
    this.handler = handler;
    for (const o of this.objects.values()) handler(o, 'add');
    this.hasSynced = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  get(namespace: string, name: string): T | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }
  list(namespace?: string): T[] {
    return [...this.objects.values()].filter((o) => !namespace || o.metadata?.namespace === namespace);
  }
  put(o: T): void {
    const key = `${o.metadata!.namespace}/${o.metadata!.name}`;
    const event = this.objects.has(key) ? 'update' : 'add';
    this.objects.set(key, o);
    this.handler?.(o, event);
  }
}

const object = (name: string, extra: Record<string, unknown> = {}): KubernetesObject => ({
  metadata: { namespace: 'ns', name, ...extra },
});

function metrics() {
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const m: RuntimeMetrics = {
    queueDepth: { set: () => {} },
    queueAdds: { inc: () => bump('adds') },
    updatesSkipped: { inc: () => bump('skipped') },
    echoesSkipped: { inc: () => bump('echoes') },
    queueRetries: { inc: () => bump('retries') },
    reconcileTotal: { inc: ({ result }) => bump(result) },
    reconcileDuration: { startTimer: () => () => {} },
    queueWait: { observe: ({ priority }) => bump(`waited-${priority}`) },
  };
  return { m, counts };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function widgets(
  reconcile: KindSpec<KubernetesObject>['reconcile'],
  related?: KindSpec<KubernetesObject>['related'],
  options: { workers?: number; first?: Priority; facts?: (o: KubernetesObject) => string } = {},
) {
  const primary = new MemorySource<KubernetesObject>();
  const parts = new MemorySource<KubernetesObject>();
  const { m, counts } = metrics();
  const controller = new KindController<KubernetesObject>(
    {
      kind: 'Widget',
      primary,
      owned: [
        {
          source: parts,
          owner: (o) => `ns/${(o.metadata?.labels ?? {}).widget}`,
          ...(options.facts ? { facts: options.facts } : {}),
        },
      ],
      reconcile,
      ...(related ? { related } : {}),
    },
    {
      workers: options.workers ?? 2,
      metrics: m,
      log: createLogger('error'),
      ...(options.first ? { first: options.first } : {}),
    },
  );
  return { primary, parts, controller, counts };
}

describe('the shared controller plumbing, running a test kind', () => {
  it("reconciles a kind's objects, and an owner when an object it owns changes", async () => {
    const seen: string[] = [];
    const w = widgets(async (key) => {
      seen.push(key);
      return {};
    });
    w.primary.put(object('a'));
    await w.controller.startInformers();
    expect(w.controller.hasSynced).toBe(true);
    w.controller.startWorkers();
    await until(() => seen.includes('ns/a'), 'a reconciled');
    w.parts.put(object('a-part', { labels: { widget: 'b' } }));
    await until(() => seen.includes('ns/b'), 'the owner of a part reconciled');
    await w.controller.stop(1_000);
  });

  it("wakes no pass for an owned object's update that changes none of its facts", async () => {
    const seen: string[] = [];
    const w = widgets(
      async (key) => {
        seen.push(key);
        return {};
      },
      undefined,
      { facts: (o) => String((o as { status?: { phase?: string } }).status?.phase) },
    );
    await w.controller.startInformers();
    w.controller.startWorkers();
    const part = (phase: string, node: string) => ({
      ...object('p', { labels: { widget: 'w' }, uid: 'u1' }),
      spec: { node },
      status: { phase },
    });
    w.parts.put(part('Pending', ''));
    await until(() => seen.length === 1, 'the add reconciled');
    w.parts.put(part('Pending', 'node-1'));
    await until(() => w.counts.skipped === 1, 'the scheduling update skipped');
    w.parts.put(part('Running', 'node-1'));
    await until(() => seen.length === 2, 'the phase change reconciled');
    expect(w.counts.skipped).toBe(1);
    expect(seen).toEqual(['ns/w', 'ns/w']);
    await w.controller.stop(1_000);
  });

  it('reconciles a key again when asked to, and after an error, counting a conflict as no error', async () => {
    let calls = 0;
    const w = widgets(async () => {
      calls++;
      if (calls === 1) return { requeueAfterMs: 0 };
      if (calls === 2) throw new Error('boom');
      if (calls === 3) throw new ConflictError('changed');
      return {};
    });
    w.primary.put(object('a'));
    await w.controller.startInformers();
    w.controller.startWorkers();
    await until(() => calls === 4, 'four passes');
    expect(w.counts).toMatchObject({ success: 2, error: 1, retries: 2 });
    expect(w.counts.conflict).toBeUndefined();
    await w.controller.stop(1_000);
  });

  it('wakes the related keys a change names', async () => {
    const seen = new Set<string>();
    const w = widgets(
      async (key) => {
        seen.add(key);
        return {};
      },
      (obj) => (obj.metadata?.name === 'done' ? ['ns/waiting'] : []),
    );
    await w.controller.startInformers();
    w.controller.startWorkers();
    w.primary.put(object('done'));
    await until(() => seen.has('ns/waiting'), 'the related key reconciled');
    await w.controller.stop(1_000);
  });

  it('drains the reconcile in flight on stop and stops its sources', async () => {
    let release: () => void = () => {};
    let finished = false;
    const w = widgets(async () => {
      await new Promise<void>((r) => (release = r));
      finished = true;
      return {};
    });
    w.primary.put(object('slow'));
    await w.controller.startInformers();
    w.controller.startWorkers();
    await until(() => w.controller.queue.depth === 0, 'the pass started');
    const stopping = w.controller.stop(5_000);
    release();
    expect(await stopping).toBe(true);
    expect(finished).toBe(true);
    expect(w.primary.stopped && w.parts.stopped).toBe(true);
  });

  // One worker, held by a pass of "block": meanwhile a part of "a" changes (owned) and the timer "b"
  // asked for runs out. Which of the two the worker takes next is the kind's priority.
  async function orderAfterBlock(first: Priority): Promise<string[]> {
    let release: () => void = () => {};
    const order: string[] = [];
    let bPasses = 0;
    const w = widgets(
      async (key) => {
        order.push(key);
        if (key === 'ns/block') await new Promise<void>((r) => (release = r));
        if (key === 'ns/b' && ++bPasses === 1) return { requeueAfterMs: 30 };
        return {};
      },
      undefined,
      { workers: 1, first },
    );
    await w.controller.startInformers();
    w.controller.startWorkers();
    w.primary.put(object('b'));
    await until(() => order.includes('ns/b'), 'b reconciled');
    w.primary.put(object('block'));
    await until(() => order.includes('ns/block'), 'the blocking pass started');
    w.parts.put(object('a-part', { labels: { widget: 'a' } }));
    await until(() => w.controller.queue.depth === 2, "a queued and b's timer run out");
    release();
    await until(() => order.length === 4, 'a and b reconciled');
    await w.controller.stop(1_000);
    return order.slice(2);
  }

  it("hands out an owned object's change first by default, and a key's own timer first for 'due'", async () => {
    expect(await orderAfterBlock('owned')).toEqual(['ns/a', 'ns/b']);
    expect(await orderAfterBlock('due')).toEqual(['ns/b', 'ns/a']);
  });

  it('keeps a worker for runs under way while new work holds the others', async () => {
    let release: () => void = () => {};
    const seen: string[] = [];
    const w = widgets(async (key) => {
      seen.push(key);
      if (key === 'ns/new-1') await new Promise<void>((r) => (release = r));
      return {};
    });
    w.primary.put(object('new-1'));
    w.primary.put(object('new-2'));
    await w.controller.startInformers();
    w.controller.startWorkers();
    await until(() => seen.includes('ns/new-1'), 'the first new key started');
    // Two workers, one kept: new-2 waits for new-1's worker; a part's change does not.
    w.parts.put(object('a-part', { labels: { widget: 'running' } }));
    await until(() => seen.includes('ns/running'), 'the run under way reconciled');
    expect(seen).not.toContain('ns/new-2');
    release();
    await until(() => seen.includes('ns/new-2'), 'new-2 reconciled after new-1');
    await w.controller.stop(1_000);
  });

  it("ranks keys by their object's creation, oldest first, and a key not in the cache last", () => {
    const source = new MemorySource<KubernetesObject>();
    source.put(object('old', { creationTimestamp: '2026-12-01T10:00:00Z' }));
    source.put(object('new', { creationTimestamp: new Date('2026-12-01T10:00:05Z') }));
    const rank = byCreation(source);
    expect(rank('ns/old')).toBeLessThan(rank('ns/new'));
    expect(rank('ns/gone')).toBe(Infinity);
  });
});
