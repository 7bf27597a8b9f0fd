// Informers that keep running: client-node's ListWatch (over watch.ts's watch) relists by itself on
// 410 Gone but stops on any other error, so each informer is restarted here with capped exponential
// backoff. One informer per watched namespace (or one cluster-wide) is presented as a single cache.
import type { KubeConfig, KubernetesObject, Informer, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { makeInformer } from './watch.js';

type ListFn<T extends KubernetesObject> = (
  namespace: string | undefined,
) => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;

export interface InformerSpec<T extends KubernetesObject> {
  resource: string;
  /** API path of the collection for a namespace, or cluster-wide when namespace is undefined. */
  path(namespace: string | undefined): string;
  list: ListFn<T>;
  labelSelector?: string;
  /** Drops, in place, what the operator never reads of a cached object, to keep the cache small. */
  slim?: (obj: T) => void;
  /** A secondary index: the values an object is found under by `indexed()` (its controller's UID, say). */
  index?: (obj: T) => readonly string[];
}

export type Handler<T> = (obj: T, kind: 'add' | 'update' | 'delete') => void;

/** What the informer is made of, injected so restarts and their backoff are unit-tested without a server. */
export interface InformerDeps<T extends KubernetesObject> {
  makeInformer(
    path: string,
    list: () => Promise<{ items: T[] }>,
    labelSelector: string | undefined,
  ): Informer<T> & ObjectCache<T>;
  /** Runs `fn` after `ms` (a restart's backoff); must not keep the process alive. */
  after(ms: number, fn: () => void): void;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Why a watch stopped, in words that say what to do when it cannot fix itself. */
function restartMessage(err: unknown, resource: string): string {
  const code = (err as { code?: number })?.code;
  if (code === 404) return 'resource not served (is its CRD installed?); retrying';
  if (code === 401)
    return "the API server refused the operator's credentials (401): check --kubeconfig or the ServiceAccount token; retrying";
  if (code === 403)
    return `not allowed to list and watch ${resource} (403): bind the operator's ServiceAccount to the ClusterRole in config/rbac (or the chart's); retrying`;
  return 'watch stopped; restarting';
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informers: Array<Informer<T> & ObjectCache<T>> = [];
  private readonly synced: boolean[] = [];
  /** index value -> `namespace/name` keys, and each key's values, kept from the informer's events. */
  private readonly byIndex = new Map<string, Set<string>>();
  private readonly indexOf = new Map<string, readonly string[]>();
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly spec: InformerSpec<T>,
    private readonly namespaces: readonly string[],
    private readonly log: Logger,
    private readonly onRestart: (resource: string) => void = () => {},
    private readonly deps: InformerDeps<T> = {
      makeInformer: (path, list, labelSelector) => makeInformer<T>(kc, path, list as never, labelSelector),
      after: (ms, fn) => void setTimeout(fn, ms).unref(),
    },
  ) {}

  get resource(): string {
    return this.spec.resource;
  }

  get hasSynced(): boolean {
    return this.synced.length > 0 && this.synced.every(Boolean);
  }

  async start(handler: Handler<T>): Promise<void> {
    const scopes = this.namespaces.length > 0 ? [...this.namespaces] : [undefined];
    await Promise.all(scopes.map((ns, i) => this.startOne(ns, i, handler)));
  }

  private async startOne(namespace: string | undefined, index: number, handler: Handler<T>): Promise<void> {
    const informer = this.deps.makeInformer(
      this.spec.path(namespace),
      () => this.spec.list(namespace),
      this.spec.labelSelector,
    );
    this.informers[index] = informer;
    this.synced[index] = false;
    // managedFields are often the largest part of an object and nothing here reads them; the cache
    // keeps the very objects handed to these callbacks, so dropping them here shrinks the cache.
    const slim = (o: T) => {
      if (o.metadata) delete o.metadata.managedFields;
      this.spec.slim?.(o);
      return o;
    };
    informer.on('add', (o) => handler(this.reindex(slim(o)), 'add'));
    informer.on('update', (o) => handler(this.reindex(slim(o)), 'update'));
    informer.on('delete', (o) => handler(this.unindex(o), 'delete'));
    let failures = 0;
    let errored = false;
    const run = async () => {
      errored = false;
      await informer.start();
      if (!errored) {
        this.synced[index] = true;
        failures = 0;
      }
    };
    informer.on('error', (err: unknown) => {
      errored = true;
      this.synced[index] = false;
      if (this.stopped) return;
      const delay = Math.min(BACKOFF_BASE_MS * 2 ** failures, BACKOFF_MAX_MS);
      failures += 1;
      this.onRestart(this.spec.resource);
      this.log.warn(restartMessage(err, this.spec.resource), {
        resource: this.spec.resource,
        scope: namespace ?? '*',
        delayMs: delay,
        error: String((err as Error)?.message ?? err).split('\n')[0],
      });
      this.deps.after(delay, () => {
        if (!this.stopped) void run();
      });
    });
    await run();
  }

  private reindex(o: T): T {
    if (!this.spec.index) return o;
    this.unindex(o);
    const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
    const values = this.spec.index(o);
    this.indexOf.set(key, values);
    for (const v of values) {
      const keys = this.byIndex.get(v) ?? new Set<string>();
      keys.add(key);
      this.byIndex.set(v, keys);
    }
    return o;
  }

  private unindex(o: T): T {
    if (!this.spec.index) return o;
    const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
    for (const v of this.indexOf.get(key) ?? []) {
      const keys = this.byIndex.get(v);
      keys?.delete(key);
      if (keys?.size === 0) this.byIndex.delete(v);
    }
    this.indexOf.delete(key);
    return o;
  }

  /**
   * The cached objects found under an index value, without scanning the cache: a pass that reads
   * its Job's pods costs the same with 10 pods in the namespace or 10,000.
   */
  indexed(value: string): T[] {
    const out: T[] = [];
    for (const key of this.byIndex.get(value) ?? []) {
      const [namespace, name] = key.split('/') as [string, string];
      const obj = this.get(namespace, name);
      if (obj) out.push(obj);
    }
    return out;
  }

  get(namespace: string, name: string): T | undefined {
    for (const informer of this.informers) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }

  list(namespace?: string): T[] {
    return this.informers.flatMap((i) => [...i.list(namespace)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
