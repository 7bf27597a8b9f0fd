// The plumbing every kind shares, as controller-runtime gives it: the kind's informer and those of
// the objects it owns, one work queue of `namespace/name` keys, workers that reconcile a key at a
// time, retries with backoff, metrics, and a stop that drains. A kind brings its sources and a
// reconcile function (a pure machine behind it); nothing here knows what a DataMover is.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { apiMessage, NotLeaderError } from '../kube/client.js';
import { WorkQueue } from '../kube/queue.js';
import type { Source } from '../kube/resources.js';
import type { RuntimeMetrics } from '../metrics/metrics.js';

export interface ReconcileResult {
  /** Reconcile the key again after this long, even if nothing it watches changes (deadlines). */
  requeueAfterMs?: number;
}

/** The object changed since it was read (409): the key is reconciled again, not an error. */
export class ConflictError extends Error {}

export type EventType = 'add' | 'update' | 'delete';

/** Objects the kind owns: a change to one reconciles its owner before new work. */
export interface Owned {
  source: Source<KubernetesObject>;
  /** The owner's `namespace/name` (or the keys it concerns), or undefined when the object is not the kind's. */
  owner(obj: KubernetesObject): string | readonly string[] | undefined;
  /**
   * What the kind reads of such an object (child-facts.ts): an update that leaves it unchanged wakes
   * no pass. Without it every update does.
   */
  facts?(obj: KubernetesObject): string;
}

export interface KindSpec<T extends KubernetesObject> {
  /** For logs: the kind's name. */
  kind: string;
  primary: Source<T>;
  owned: readonly Owned[];
  reconcile(key: string): Promise<ReconcileResult>;
  /** Whether an update of a primary object is the echo of the kind's own write that needs no pass. */
  echo?(obj: T, event: EventType): boolean;
  /** Other keys a change of a primary object concerns (peers waiting for what it held). */
  related?(obj: T, event: EventType): Iterable<string>;
  /** The order of urgent keys, lowest first (WorkQueue's `rank`); without it, first come first. */
  rank?(key: string): number;
}

/**
 * Workers that take only urgent keys (the next step of a run under way; a due fire time): a quarter,
 * at least one when there are two or more. 1000 new DataMovers then take at most the other workers,
 * and a run whose Job just finished is picked up as soon as it is queued.
 */
export const reservedWorkers = (workers: number): number =>
  workers >= 2 ? Math.max(1, Math.floor(workers / 4)) : 0;

/** A rank (KindSpec.rank) by the object's creation, oldest first; a key not in the cache goes last. */
export function byCreation(source: Pick<Source<KubernetesObject>, 'get'>): (key: string) => number {
  return (key) => {
    const [namespace, name] = key.split('/') as [string, string];
    const created = source.get(namespace, name)?.metadata?.creationTimestamp as unknown;
    const ms = created === undefined ? NaN : new Date(created as string).getTime();
    return Number.isNaN(ms) ? Infinity : ms;
  };
}

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
const SPIN_PASSES = 200;
const SPIN_WINDOW_MS = 60_000;

/**
 * Which keys a worker takes first. `owned` (DataMovers): a change of an owned object is the next step
 * of a run under way, before new work; a key woken by its own timer (a deadline) waits its turn.
 * `due` (schedules): a key woken by its own timer is due work (a fire time) and goes first; changes
 * of owned objects (its runs' progress) are bookkeeping that waits behind it. Otherwise, when 100
 * schedules fire together, the first ones' new runs keep them at the front and starve the rest.
 */
export type Priority = 'owned' | 'due';

export interface KindOptions {
  workers: number;
  metrics: RuntimeMetrics;
  log: Logger;
  queue?: WorkQueue;
  /** Default `owned`. */
  first?: Priority;
}

export class KindController<T extends KubernetesObject> {
  readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];
  private running = false;
  private readonly dueFirst: boolean;

  constructor(
    private readonly spec: KindSpec<T>,
    private readonly options: KindOptions,
  ) {
    this.dueFirst = options.first === 'due';
    this.queue =
      options.queue ??
      new WorkQueue({
        onDepthChange: (d) => options.metrics.queueDepth.set(d),
        onWait: (ms, urgent) =>
          options.metrics.queueWait.observe(
            { kind: spec.kind, priority: urgent ? 'urgent' : 'normal' },
            ms / 1000,
          ),
        ...(spec.rank ? { rank: (key: string) => spec.rank!(key) } : {}),
      });
  }

  get hasSynced(): boolean {
    return [this.spec.primary, ...this.spec.owned.map((o) => o.source)].every((s) => s.hasSynced);
  }

  /** Passes per key in the current window, and why each key was last enqueued. */
  private passes = new Map<string, number>();
  private windowStart = Date.now();
  private readonly lastCause = new Map<string, string>();

  /**
   * A key reconciled more than SPIN_PASSES times in SPIN_WINDOW_MS is logged once per window, with
   * what last enqueued it: a pass that finds nothing to do should not come back at once.
   */
  private watchForSpin(key: string, result: ReconcileResult): void {
    const now = Date.now();
    if (now - this.windowStart > SPIN_WINDOW_MS) {
      this.passes = new Map();
      this.windowStart = now;
    }
    const n = (this.passes.get(key) ?? 0) + 1;
    this.passes.set(key, n);
    if (n === SPIN_PASSES) {
      this.options.log.warn('one object reconciled in a tight loop', {
        kind: this.spec.kind,
        key,
        passes: n,
        windowMs: now - this.windowStart,
        lastEnqueuedBy: this.lastCause.get(key),
        requeueAfterMs: result.requeueAfterMs,
      });
    }
  }

  /** `urgent`: the next step of work under way (an owned object changed), before new work. */
  private enqueue(key: string | undefined, urgent = false, cause = 'event'): void {
    if (!key || !this.running) return;
    this.lastCause.set(key, cause);
    this.options.metrics.queueAdds.inc();
    this.queue.add(key, urgent);
  }

  /** The facts last seen of each owned object, by source and UID (dropped when it is deleted). */
  private readonly facts = new Map<Owned, Map<string, string>>();

  /** Whether an owned object's event may change a decision: always for an add or a delete. */
  private changed(o: Owned, obj: KubernetesObject, event: EventType): boolean {
    let seen = this.facts.get(o);
    if (!seen) this.facts.set(o, (seen = new Map()));
    const uid = obj.metadata?.uid ?? keyOf(obj);
    if (event === 'delete') {
      seen.delete(uid);
      return true;
    }
    const facts = o.facts!(obj);
    const same = seen.get(uid) === facts;
    seen.set(uid, facts);
    if (same && event === 'update') this.options.metrics.updatesSkipped.inc();
    return !(same && event === 'update');
  }

  /** Starts the informers; the caches fill whether or not this replica leads. */
  async startInformers(): Promise<void> {
    await Promise.all([
      this.spec.primary.start((obj, event) => {
        if (this.spec.echo?.(obj, event)) this.options.metrics.echoesSkipped.inc();
        else this.enqueue(keyOf(obj), false, `${this.spec.kind} ${event}`);
        for (const key of this.spec.related?.(obj, event) ?? [])
          this.enqueue(key, false, `related to ${keyOf(obj)} (${event})`);
      }),
      ...this.spec.owned.map((o) =>
        o.source.start((obj, event) => {
          const owners = o.owner(obj);
          const keys = typeof owners === 'string' ? [owners] : (owners ?? []);
          // Another kind's child (the Job and pod caches are shared): no facts kept, no pass.
          if (keys.length === 0 || (o.facts && !this.changed(o, obj, event))) return;
          const cause = `${(obj as { kind?: string }).kind ?? 'owned'} ${keyOf(obj)} ${event}`;
          for (const key of keys) this.enqueue(key, !this.dueFirst, cause);
        }),
      ),
    ]);
  }

  startWorkers(): void {
    this.running = true;
    for (const obj of this.spec.primary.list()) this.enqueue(keyOf(obj));
    const reserved = reservedWorkers(this.options.workers);
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work(i < reserved));
    this.options.log.info('controller started', {
      kind: this.spec.kind,
      workers: this.options.workers,
      reservedForWorkUnderWay: reserved,
    });
  }

  /** `urgentOnly`: a worker kept for urgent keys, so a backlog of new work never holds them up. */
  private async work(urgentOnly: boolean): Promise<void> {
    const { metrics, log } = this.options;
    for (;;) {
      const key = await this.queue.get(urgentOnly);
      if (key === undefined) return;
      const end = metrics.reconcileDuration.startTimer();
      try {
        const result = await this.spec.reconcile(key);
        this.watchForSpin(key, result);
        this.queue.forget(key);
        metrics.reconcileTotal.inc({ result: 'success' });
        // Requeued at once: the next step follows without waiting behind new work.
        if (result.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs, result.requeueAfterMs === 0 || this.dueFirst);
        }
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        metrics.queueRetries.inc();
        if (!(err instanceof ConflictError)) metrics.reconcileTotal.inc({ result: 'error' });
        const [namespace, name] = key.split('/');
        const level =
          err instanceof ConflictError ? 'debug' : err instanceof NotLeaderError ? 'warn' : 'error';
        log.log(level, 'reconcile failed; retrying', {
          kind: this.spec.kind,
          namespace,
          name,
          retryInMs: delay,
          error: apiMessage(err),
        });
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  /** Stops taking work and waits up to `timeoutMs` for in-flight reconciles to finish. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.running = false;
    this.queue.shutdown();
    const drained = Promise.all(this.workers).then(() => true);
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
    const finished = await Promise.race([drained, timeout]);
    await Promise.all([this.spec.primary, ...this.spec.owned.map((o) => o.source)].map((s) => s.stop()));
    return finished;
  }
}
