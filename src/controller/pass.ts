// The reconcile pass every kind shares. A kind (RunKind) says how to observe its object, decide (a
// pure machine), perform one action, write its status and record a transition; the pass owns the
// order and the guarantees:
//   1. the current copy (our own newer write over a lagging cache), and the settling of a write whose
//      answer was lost (counted now, once);
//   2. observe, then decide;
//   3. the actions, each fenced (a process without the lease starts no step); a refused action in a
//      pass that also entered a phase writes only that phase, so the failure counts within it;
//   4. one status write guarded by resourceVersion (409: ConflictError, retried by the runtime);
//   5. metrics, log lines and events only after that write succeeded;
//   6. the write's own watch event wakes no pass when the pass created a child whose add event
//      wakes the key anyway.
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { EventRecord } from '../kube/events.js';
import { apiMessage, isConflict, isRetryable } from '../kube/client.js';
import {
  ConflictError,
  KindController,
  type KindOptions,
  type KindSpec,
  type ReconcileResult,
} from './runtime.js';
import { StatusWrites } from './status-writes.js';

const keyOf = (o: Reconciled<unknown>) => `${o.metadata.namespace}/${o.metadata.name}`;

/** An object holding a child's name is not the run's: the run fails with NameConflict. */
export class NameConflict extends Error {}

/** An object of a kind the pass reconciles. */
export interface Reconciled<S> {
  metadata: {
    namespace: string;
    name: string;
    resourceVersion?: string | undefined;
    deletionTimestamp?: unknown;
  };
  status?: S | undefined;
}

/** What a machine decides in one pass. */
export interface Decision<S, A> {
  status: S;
  actions: readonly A[];
  requeueAfterMs?: number | undefined;
  /** The status of a phase the pass entered before its actions (written alone if one is refused). */
  entered?: S | undefined;
  /** Events the machine tells once the pass's write has succeeded (beside those of its transition). */
  events?: readonly EventRecord[];
}

/** What performing an action gives back: the status to go on with, and whether it was refused. */
export interface Performed<S> {
  status: S;
  refused?: boolean;
  /**
   * The action created an owned object (a clone, a Job) whose watch event will wake this key: the
   * echo of the pass's own status write need not (runtime.ts skips it).
   */
  wakes?: boolean;
}

/** A status change the apiserver applied, with the events the pass gathered. */
export interface Transition<S> {
  before: S;
  status: S;
  now: Date;
  events: readonly EventRecord[];
}

export interface RunKind<T extends Reconciled<S>, S, O, A> {
  /** The kind's name, for messages. */
  readonly kind: string;
  /** The cached copy of an object. */
  cached(namespace: string, name: string): T | undefined;
  /** Called once per pass on a live object (per-namespace metrics). */
  seen(obj: T): void;
  observe(obj: T, now: Date): Promise<O>;
  decide(obj: T, observed: O, now: Date): Decision<S, A>;
  /** Performs one action; `events` gathers what the pass tells after its write. */
  perform(obj: T, action: A, status: S, now: Date, events: EventRecord[]): Promise<Performed<S>>;
  /**
   * The actions in stages run one after the other (default: one stage), each sent `concurrency` at a
   * time (default 1: one by one, the status threaded through).
   */
  stages?(actions: readonly A[]): readonly (readonly A[])[];
  readonly concurrency?: number;
  /** More actions after the decided ones, given the status they led to (a failed restore's cleanup). */
  followUp?(obj: T, status: S, observed: O, now: Date): Promise<Decision<S, A> | undefined>;
  replaceStatus(obj: T): Promise<T>;
  /** Metrics, log lines and events of an applied transition. */
  record(obj: T, transition: Transition<S>): void;
  /** Set by kindController: queues these keys first (a run a freed slot is handed on to). */
  wake?: (keys: readonly string[]) => void;
}

export interface PassHooks<A> {
  /** Called after each action, before the status write (a test-only fault point uses it). */
  afterAction?: (action: A) => void;
}

/** The fence the pass checks before each action and before the write (KubeApi.fence). */
export interface Fence {
  fence(): void;
}

export class Pass<T extends Reconciled<S>, S, O, A> {
  /** Our own status writes the cache has not caught up with, and writes whose answer was lost. */
  private readonly writes = new StatusWrites<S, T>();

  constructor(
    private readonly kind: RunKind<T, S, O, A>,
    private readonly api: Fence,
    private readonly conflicts: { inc(labels: { result: 'conflict' }): void },
    private readonly log: Logger,
    private readonly hooks: PassHooks<A> = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const obj = this.writes.current(key, this.kind.cached(namespace, name));
    const settled = this.writes.settle(key, obj);
    if (obj && settled) {
      this.log.info(`an earlier status write was applied after all; counting its transition`, {
        kind: this.kind.kind,
        namespace,
        name,
      });
      this.kind.record(obj, { ...settled, events: [] });
    }
    if (!obj || obj.metadata.deletionTimestamp) return {};
    this.kind.seen(obj);
    const now = this.clock();
    const observed = await this.kind.observe(obj, now);
    const decision = this.kind.decide(obj, observed, now);
    const events: EventRecord[] = [...(decision.events ?? [])];
    const done = await this.performAll(obj, decision, now, events);
    if (done.refusedIn) {
      // The pass also entered a phase: record only that, and fail from within the phase on the
      // next pass, so the failure is counted against the phase it happened in.
      await this.writeStatus(obj, done.refusedIn, now, events);
      return { requeueAfterMs: 0 };
    }
    let status = done.status;
    const more = await this.kind.followUp?.(obj, status, observed, now);
    if (more) status = (await this.performAll(obj, more, now, events)).status;
    const updated = await this.writeStatus(obj, status, now, events);
    const version = updated?.metadata.resourceVersion;
    if (version && done.wakes) this.echoes.set(keyOf(obj), version);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }

  /**
   * Written versions whose watch event needs no pass: the pass that wrote one created a child whose
   * own add event wakes the key. (Not "a pass that would decide nothing more": what a pass observes
   * depends on the phase it finds, so deciding again on the written phase with the old observation
   * is unsound; a finished run's snapshot is only read once it is finished.)
   */
  private readonly echoes = new Map<string, string>();

  /**
   * Whether a watch event is the echo of our own write that needs no pass. The version remembered is
   * forgotten at the first event of its object, whatever it is (a deletion, someone else's write).
   */
  isEcho(obj: Reconciled<S>, event: 'add' | 'update' | 'delete'): boolean {
    const key = keyOf(obj);
    const mine = this.echoes.get(key);
    if (mine === undefined) return false;
    this.echoes.delete(key);
    if (event !== 'update' || obj.metadata.resourceVersion !== mine) return false;
    this.writes.caughtUp(key, mine);
    return true;
  }

  private async performAll(
    obj: T,
    decision: Decision<S, A>,
    now: Date,
    events: EventRecord[],
  ): Promise<{ status: S; refusedIn?: S; wakes?: boolean }> {
    let status = decision.status;
    let wakes = false;
    const stages = this.kind.stages?.(decision.actions) ?? [decision.actions];
    const size = Math.max(1, this.kind.concurrency ?? 1);
    for (const stage of stages) {
      for (let i = 0; i < stage.length; i += size) {
        // Stop before an action, not only at its write: a process without the lease starts no step.
        this.api.fence();
        const base = status;
        const outcomes = await Promise.all(
          stage.slice(i, i + size).map(async (action) => {
            const outcome = await this.kind.perform(obj, action, base, now, events);
            this.hooks.afterAction?.(action);
            return outcome;
          }),
        );
        for (const outcome of outcomes) {
          if (outcome.refused && decision.entered) return { status, refusedIn: decision.entered };
          status = outcome.status;
          wakes ||= outcome.wakes === true;
        }
      }
    }
    return { status, wakes };
  }

  /** The object as written, or undefined when there was nothing to write. */
  private async writeStatus(
    obj: T,
    status: S,
    now: Date,
    events: readonly EventRecord[],
  ): Promise<T | undefined> {
    const before = obj.status ?? ({} as S);
    if (isDeepStrictEqual(before, status)) {
      // Nothing to write; what the actions told (a name taken) is still told.
      if (events.length > 0) this.kind.record(obj, { before, status, now, events });
      return undefined;
    }
    this.api.fence();
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    let updated: T;
    try {
      updated = await this.kind.replaceStatus({ ...obj, status });
      this.writes.applied(key, obj, updated);
    } catch (err) {
      if (isConflict(err) || isRetryable(err)) this.writes.unknown(key, obj, before, status, now);
      if (isConflict(err)) {
        this.conflicts.inc({ result: 'conflict' });
        throw new ConflictError(`${this.kind.kind} ${key} changed; retrying`, { cause: err });
      }
      throw new Error(`status write failed: ${apiMessage(err)}`, { cause: err });
    }
    this.kind.record(obj, { before, status, now, events });
    return updated;
  }

  /** Keys with a write or an echo remembered (for tests and leak checks). */
  get remembered(): number {
    return new Set([...this.writes.keys(), ...this.echoes.keys()]).size;
  }
}

/**
 * A kind on the shared plumbing: a KindController whose keys this kind's pass reconciles. What a
 * kind registers, besides its pass: its watches (`spec`) and its queue's options.
 */
export function kindController<T extends Reconciled<S> & KubernetesObject, S, O, A>(
  kind: RunKind<T, S, O, A>,
  spec: Omit<KindSpec<T>, 'kind' | 'reconcile'>,
  options: KindOptions & { api: Fence; hooks?: PassHooks<A> },
): KindController<T> {
  const { api, hooks, ...rest } = options;
  const pass = new Pass(kind, api, rest.metrics.reconcileTotal, rest.log, hooks);
  const controller = new KindController<T>(
    {
      ...spec,
      kind: kind.kind,
      reconcile: (key) => pass.reconcile(key),
      echo: (obj, event) => pass.isEcho(obj, event),
    },
    rest,
  );
  // A slot freed is handed on first, before new work: the run it goes to is about to start.
  if ('wake' in kind) {
    kind.wake = (keys) => {
      for (const key of keys) controller.queue.add(key, true);
    };
  }
  return controller;
}
