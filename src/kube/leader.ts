// Lease-based leader election with client-go's rules and timings: the holder renews its Lease every
// retry period; another candidate takes over only when it has seen the same record unchanged for a
// whole lease duration (measured on its own clock, so clock skew between nodes does not matter);
// every write is guarded by resourceVersion; a leader that cannot renew within the renew deadline
// stops leading; a stopping leader releases the Lease so the next one starts at once.
import { V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { isConflict, isNotFound } from './client.js';
import { Rest, groupPath, resourcePath } from './rest.js';

/** The Lease endpoints the elector uses (a unit test stands them in). */
interface LeaseApi {
  readNamespacedLease(p: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(p: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(p: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

function leaseApi(rest: Rest): LeaseApi {
  const at = (namespace: string, name?: string) =>
    resourcePath(groupPath('coordination.k8s.io', 'v1'), 'leases', namespace, name);
  return {
    readNamespacedLease: ({ name, namespace }) => rest.get(at(namespace, name)),
    createNamespacedLease: ({ namespace, body }) => rest.create(at(namespace), body),
    replaceNamespacedLease: ({ name, namespace, body }) => rest.replace(at(namespace, name), body),
  };
}

export interface LeaderTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const CLIENT_GO_TIMINGS: LeaderTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface LeaseRecord {
  holder: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  transitions: number;
}

export type LeaseAction = 'create' | 'renew' | 'takeover' | 'wait';

/**
 * What a candidate does with the Lease it read. `observedSince` is when this candidate first saw the
 * current record (holder and renew time) unchanged, on its own clock.
 */
export function nextLeaseAction(
  record: LeaseRecord | undefined,
  me: string,
  now: number,
  observedSince: number,
): LeaseAction {
  if (!record) return 'create';
  if (record.holder === me) return 'renew';
  if (!record.holder) return 'takeover';
  return now - observedSince >= record.leaseDurationSeconds * 1000 ? 'takeover' : 'wait';
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  const iso = (t: unknown) => (t ? new Date(t as string).toISOString() : undefined);
  return {
    holder: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 15,
    acquireTime: iso(spec.acquireTime),
    renewTime: iso(spec.renewTime),
    transitions: spec.leaseTransitions ?? 0,
  };
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly api: LeaseApi;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { key: string; since: number } | undefined;
  private lastRenew = 0;
  private lease: V1Lease | undefined;
  /** The renewal under way, which stop() waits for: releasing alongside it would meet a 409. */
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly timings: LeaderTimings,
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.api = leaseApi(new Rest(kc));
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Whether this process may write now: it leads and renewed the Lease within the renew deadline.
   * A process paused past that (a starved node, SIGSTOP) writes nothing when it resumes, even
   * before its elector notices that another replica took over.
   */
  holdsLease(): boolean {
    return this.leading && this.now() - this.lastRenew < this.timings.renewDeadlineMs;
  }

  start(): void {
    this.ticking = this.tick();
  }

  private schedule(): void {
    if (!this.stopped) {
      this.timer = setTimeout(() => {
        this.ticking = this.tick();
      }, this.timings.retryPeriodMs);
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.tryAcquireOrRenew();
    } catch (err) {
      this.log.warn('leader election: lease update failed', {
        lease: this.name,
        error: String((err as Error).message ?? err),
      });
    }
    if (this.leading && this.now() - this.lastRenew > this.timings.renewDeadlineMs) {
      this.log.error('leader election: could not renew the lease within the renew deadline; stopping', {
        lease: this.name,
      });
      this.leading = false;
      this.callbacks.onStoppedLeading();
      return;
    }
    this.schedule();
  }

  private spec(acquire: boolean, transitions: number) {
    const now = new V1MicroTime(this.now());
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.timings.leaseDurationMs / 1000),
      renewTime: now,
      leaseTransitions: transitions,
      ...(acquire ? { acquireTime: now } : { acquireTime: this.lease?.spec?.acquireTime }),
    };
  }

  private async tryAcquireOrRenew(): Promise<void> {
    let current: V1Lease | undefined;
    try {
      current = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const record = current ? toRecord(current) : undefined;
    const key = record ? `${record.holder}/${record.renewTime}` : '';
    if (!this.observed || this.observed.key !== key) this.observed = { key, since: this.now() };
    const action = nextLeaseAction(record, this.identity, this.now(), this.observed.since);
    if (action === 'wait') {
      if (this.leading) {
        this.leading = false;
        this.callbacks.onStoppedLeading();
      }
      return;
    }
    this.lease = current;
    const body: V1Lease = {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(current ? { resourceVersion: current.metadata?.resourceVersion } : {}),
      },
      spec: this.spec(
        action !== 'renew',
        action === 'takeover' ? (record?.transitions ?? 0) + 1 : (record?.transitions ?? 0),
      ),
    };
    // The renewal counts from when it was sent, not when its answer came: a process paused with the
    // answer in flight must not believe, on resuming, that it renewed a moment ago.
    const sentAt = this.now();
    try {
      this.lease =
        action === 'create'
          ? await this.api.createNamespacedLease({ namespace: this.namespace, body })
          : await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body });
    } catch (err) {
      if (isConflict(err)) return; // another candidate wrote first; read again next period
      throw err;
    }
    this.lastRenew = sentAt;
    if (!this.leading) {
      this.leading = true;
      this.log.info('leader election: became leader', { lease: this.name, identity: this.identity, action });
      this.callbacks.onStartedLeading();
    }
  }

  /** Stops electing; a leader gives the Lease up so the next candidate need not wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A renewal in flight changes the Lease's resourceVersion: wait for it, within the renew deadline.
    let bounded: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ticking,
      new Promise<void>((resolve) => (bounded = setTimeout(resolve, this.timings.renewDeadlineMs))),
    ]);
    clearTimeout(bounded);
    if (!this.leading || !this.lease) return;
    this.leading = false;
    try {
      await this.release(this.lease);
    } catch (err) {
      let failure: unknown = err;
      // Changed since it was last read (a renewal answer lost, say): release the Lease if it is
      // still this process's.
      if (isConflict(err)) {
        try {
          const current = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
          if (current.spec?.holderIdentity === this.identity) return await this.release(current);
        } catch (again) {
          failure = again;
        }
      }
      this.log.warn('leader election: could not release the lease', {
        error: String((failure as Error).message ?? failure),
      });
    }
  }

  private async release(lease: V1Lease): Promise<void> {
    const body: V1Lease = {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        resourceVersion: lease.metadata?.resourceVersion,
      },
      spec: {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: new V1MicroTime(this.now()),
      },
    };
    await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body });
    this.log.info('leader election: released the lease', { lease: this.name });
  }
}
