// A work queue of keys, as client-go's: a key is queued at most once, processed by one worker at a
// time (a key added while it is processed runs again after), and retried with jittered exponential
// backoff. Keys added as urgent (the next step of a run already under way) are handed out before
// the others (new runs), so a backlog of new DataMovers does not delay the runs in flight. Time and
// randomness are injected so the logic is tested without sleeping.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: Math.random,
};

export interface QueueOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Fraction of jitter added or removed from each backoff delay. */
  jitter: number;
  onDepthChange?: (depth: number) => void;
  /** How long a key waited from being queued to being handed to a worker, and whether it was urgent. */
  onWait?: (ms: number, urgent: boolean) => void;
  /**
   * The order of urgent keys, lowest first; equal ranks keep the order they came in. DataMovers rank
   * by creation, so the next steps of runs that started earlier go before those of a thousand runs
   * a schedule has just created.
   */
  rank?: (key: string) => number;
}

const DEFAULTS: QueueOptions = { baseDelayMs: 200, maxDelayMs: 5 * 60_000, jitter: 0.2 };

/** The longest delay a Node timer keeps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class WorkQueue {
  private readonly items: string[] = [];
  private readonly urgent: string[] = [];
  private readonly queued = new Set<string>();
  /** The rank of each key in `urgent`. */
  private readonly ranks = new Map<string, number>();
  /** When each queued key was queued. */
  private readonly since = new Map<string, number>();
  private readonly processing = new Set<string>();
  /** Keys added while processed, and whether any of those adds was urgent. */
  private readonly dirty = new Map<string, boolean>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  /** Idle workers; `urgentOnly` ones (reserved for runs under way) take no new work. */
  private readonly waiters: Array<{ resolve: (key: string | undefined) => void; urgentOnly: boolean }> = [];
  private readonly options: QueueOptions;
  private stopped = false;
  /** Urgent keys being processed. */
  private readonly urgentInFlight = new Set<string>();
  private readonly urgentDone: Array<() => void> = [];
  private held: () => boolean = () => false;
  private holdingSince: number | undefined;
  private holdTimer: unknown;

  constructor(
    options: Partial<QueueOptions> = {},
    private readonly timers: Timers = realTimers,
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  get depth(): number {
    return this.queued.size;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  add(key: string, urgent = false): void {
    if (this.stopped) return;
    if (this.queued.has(key)) {
      if (urgent) this.promote(key);
      return;
    }
    if (this.processing.has(key)) {
      this.dirty.set(key, urgent || (this.dirty.get(key) ?? false));
      return;
    }
    if (this.handOver(key, urgent)) return;
    this.queued.add(key);
    this.since.set(key, this.now());
    if (urgent) this.pushUrgent(key);
    else this.items.push(key);
    this.options.onDepthChange?.(this.queued.size);
  }

  private promote(key: string): void {
    const at = this.items.indexOf(key);
    if (at < 0) return; // already urgent
    this.items.splice(at, 1);
    // A reserved worker may be idle while new work is queued: the key is its now.
    if (this.handOver(key, true)) {
      this.queued.delete(key);
      this.options.onDepthChange?.(this.queued.size);
      return;
    }
    this.pushUrgent(key);
  }

  /** Queues an urgent key after every urgent key of the same or a lower rank. */
  private pushUrgent(key: string): void {
    const rank = this.options.rank;
    if (!rank) {
      this.urgent.push(key);
      return;
    }
    // Ranked once, when queued, so the queue stays in order whatever the key's object does meanwhile.
    const r = rank(key);
    this.ranks.set(key, r);
    let lo = 0;
    let hi = this.urgent.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranks.get(this.urgent[mid]!)! <= r) lo = mid + 1;
      else hi = mid;
    }
    this.urgent.splice(lo, 0, key);
  }

  /**
   * Gives the key to an idle worker that takes it, if there is one: an urgent key to a kept worker
   * first, so that a general one stays free for the new work that may follow.
   */
  private handOver(key: string, urgent: boolean): boolean {
    if (!urgent && this.held()) return false;
    const kept = urgent ? this.waiters.findIndex((w) => w.urgentOnly) : -1;
    const at = kept >= 0 ? kept : this.waiters.findIndex((w) => !w.urgentOnly);
    if (at < 0) return false;
    const [waiter] = this.waiters.splice(at, 1);
    this.processing.add(key);
    if (urgent) this.urgentInFlight.add(key);
    this.waited(key, urgent);
    waiter!.resolve(key);
    return true;
  }

  private waited(key: string, urgent: boolean): void {
    const now = this.now();
    this.options.onWait?.(now - (this.since.get(key) ?? now), urgent);
    this.since.delete(key);
  }

  /** Adds the key after `ms`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number, urgent = false): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key, urgent);
    const at = this.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.timers.clearTimeout(existing.handle);
    // Node runs a timer of more than 2^31-1 ms (24.8 days) after 1 ms: a DataMover with a month's
    // ttlSecondsAfterFinished would be reconciled in a tight loop. A capped timer only wakes the key
    // early; its pass asks again for what remains.
    const handle = this.timers.setTimeout(
      () => {
        this.delayed.delete(key);
        this.add(key, urgent);
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    this.delayed.set(key, { at, handle });
  }

  /** The delay the next failure of `key` waits: base * 2^failures, capped, with jitter. */
  backoffFor(key: string): number {
    const n = this.failures.get(key) ?? 0;
    const raw = Math.min(this.options.baseDelayMs * 2 ** n, this.options.maxDelayMs);
    const spread = 1 + this.options.jitter * (2 * this.timers.random() - 1);
    return Math.round(raw * spread);
  }

  /** A retry after a failure: backed off, then urgent (the key's work is under way). */
  addRateLimited(key: string): number {
    const delay = this.backoffFor(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    this.addAfter(key, delay, true);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * The next key to process, or undefined once the queue is shut down. `urgentOnly`: a worker kept
   * for runs under way, which waits rather than take new work.
   */
  get(urgentOnly = false): Promise<string | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const urgent = this.urgent.length > 0;
    const key = this.urgent.shift() ?? (urgentOnly || this.held() ? undefined : this.items.shift());
    if (key !== undefined) {
      if (urgent) this.urgentInFlight.add(key);
      this.ranks.delete(key);
      this.waited(key, urgent);
      this.queued.delete(key);
      this.processing.add(key);
      this.options.onDepthChange?.(this.queued.size);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push({ resolve, urgentOnly }));
  }

  done(key: string): void {
    this.processing.delete(key);
    const wasUrgent = this.urgentInFlight.delete(key);
    const urgent = this.dirty.get(key);
    if (urgent !== undefined) {
      this.dirty.delete(key);
      this.add(key, urgent);
    }
    if (wasUrgent && !this.urgentPending) for (const listener of this.urgentDone) listener();
  }

  /** True while an urgent key is queued or being processed. */
  get urgentPending(): boolean {
    return this.urgent.length > 0 || this.urgentInFlight.size > 0;
  }

  /** `listener` is called each time the last urgent key queued or processed is done. */
  whenUrgentDone(listener: () => void): void {
    this.urgentDone.push(listener);
  }

  /**
   * While `held()` is true no worker takes new work (urgent keys still go out); call release() when
   * it turns false. The DataMover queue holds its new runs while schedules create the runs of a fire
   * time: creating them goes before starting them. A hold lasts at most `limitMs` at a stretch, so a
   * schedule stuck in a loop of urgent passes cannot stop every new run.
   */
  holdNewWorkWhile(held: () => boolean, limitMs: number): void {
    this.held = () => {
      if (!held()) {
        this.holdingSince = undefined;
        return false;
      }
      const now = this.now();
      if (this.holdingSince === undefined) {
        this.holdingSince = now;
        if (this.holdTimer !== undefined) this.timers.clearTimeout(this.holdTimer);
        this.holdTimer = this.timers.setTimeout(() => {
          this.holdTimer = undefined;
          this.release();
        }, limitMs);
      }
      return now - this.holdingSince < limitMs;
    };
  }

  /** Hands queued new work to idle general workers, once a hold has lifted. */
  release(): void {
    // Asked even with nothing queued: a hold that has lifted ends its stretch here.
    if (this.held()) return;
    while (!this.stopped && this.items.length > 0 && this.handOver(this.items[0]!, false)) {
      this.queued.delete(this.items.shift()!);
      this.options.onDepthChange?.(this.queued.size);
    }
  }

  shutdown(): void {
    this.stopped = true;
    if (this.holdTimer !== undefined) this.timers.clearTimeout(this.holdTimer);
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(undefined);
  }
}
