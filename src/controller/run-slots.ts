// The cap on runs under way (--max-concurrent-runs, or a StorageClass's own): how many runs may hold a
// clone or a mover Job at once, and the fair order in which the others get a slot: round robin over
// namespaces (the one served longest ago first), the oldest first within each. It is worked out from
// the cluster at each look (the runs and their children in the caches), so it holds across restarts
// and failover; only the slots this process gave in the last moments, which the caches do not show
// yet, are remembered, until they do.

/** A run waiting for a slot: `created` orders it within its namespace (then its key). */
export interface Waiting {
  key: string;
  namespace: string;
  created: number;
}

/**
 * Round robin over namespaces, oldest first within each. The namespaces take turns in the order they
 * were last given a slot (`served`: a higher number is more recent; never served goes first), then by
 * their oldest waiting run.
 */
export function fairOrder(
  waiting: Iterable<Waiting>,
  served: (namespace: string) => number = () => 0,
): Waiting[] {
  const sorted = [...waiting].sort(
    (a, b) => a.created - b.created || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  const lanes = new Map<string, Waiting[]>();
  for (const w of sorted) {
    const lane = lanes.get(w.namespace);
    if (lane) lane.push(w);
    else lanes.set(w.namespace, [w]);
  }
  // Map order is the order of each lane's oldest run; a stable sort keeps it among equals.
  const turns = [...lanes.entries()].sort(([a], [b]) => served(a) - served(b)).map(([, lane]) => lane);
  const order: Waiting[] = [];
  for (let round = 0; order.length < sorted.length; round++)
    for (const lane of turns) if (round < lane.length) order.push(lane[round]!);
  return order;
}

/** A run's answer: it may go on, or it waits at `position` (1 is next) of `waiting` runs. */
export type Slot =
  | { admitted: true; /** Given by this look (not held before). */ fresh: boolean }
  | { admitted: false; position: number; waiting: number };

/** What the caches show now: the runs under way, and those that wait. */
export interface Census {
  holding: ReadonlySet<string>;
  waiting: readonly Waiting[];
}

/** How long a slot given is remembered when the caches never show its run under way (a lost pass). */
const GIVEN_FOR_MS = 60_000;

export class RunSlots {
  /** Slots given that the caches do not show yet: when, and the namespace's turn before it. */
  private readonly given = new Map<string, { at: number; namespace: string; turnBefore: number }>();
  /**
   * When each namespace was last given a slot, as a sequence number. Kept in memory: after a restart
   * the namespaces start even again (oldest waiting run first), while the cap itself is read from the
   * cluster.
   */
  private readonly served = new Map<string, number>();
  private turn = 0;
  private readonly lastServed = (namespace: string) => this.served.get(namespace) ?? 0;

  /**
   * `cap`: at least 1; it may change (a StorageClass's annotation edited). A cap of 0 is no cap, and
   * makes no pool (DataMoverKind.poolOf), so no RunSlots is asked.
   */
  constructor(public cap: number) {}

  /** Forgets the slots the caches now show under way, whose runs ended or went, or that were never used. */
  private forget(census: Census, now: number): void {
    const waitingKeys = new Set(census.waiting.map((w) => w.key));
    for (const [k, { at }] of this.given)
      if (census.holding.has(k) || !waitingKeys.has(k) || now - at > GIVEN_FOR_MS) this.given.delete(k);
  }

  private order(census: Census): Waiting[] {
    return fairOrder(
      census.waiting.filter((w) => !this.given.has(w.key)),
      this.lastServed,
    );
  }

  private free(census: Census): number {
    return this.cap - census.holding.size - this.given.size;
  }

  /** Whether the run `key` may start now; gives it a slot when it may. */
  request(key: string, census: Census, now: number): Slot {
    this.forget(census, now);
    if (census.holding.has(key) || this.given.has(key)) return { admitted: true, fresh: false };
    const order = this.order(census);
    const index = order.findIndex((w) => w.key === key);
    if (index >= 0 && index < this.free(census)) {
      const { namespace } = order[index]!;
      this.given.set(key, { at: now, namespace, turnBefore: this.lastServed(namespace) });
      this.served.set(namespace, ++this.turn);
      return { admitted: true, fresh: true };
    }
    return { admitted: false, position: index + 1, waiting: order.length };
  }

  /** Whether this process gave `key` a slot the caches may not show yet. */
  gave(key: string): boolean {
    return this.given.has(key);
  }

  /** Gives back a slot a pass did not use (it created nothing), and its namespace's turn. */
  release(key: string): void {
    const given = this.given.get(key);
    if (!given) return;
    this.given.delete(key);
    if (this.served.get(given.namespace) === this.turn) this.served.set(given.namespace, given.turnBefore);
  }

  /** The waiting runs the free slots would go to now: the ones to wake when slots free up. */
  next(census: Census, now: number): string[] {
    this.forget(census, now);
    return this.order(census)
      .slice(0, Math.max(0, this.free(census)))
      .map((w) => w.key);
  }
}

/**
 * The runs counted together against one cap: every run whose class has no cap of its own (the flag's,
 * `id` ''), or the runs whose clone is of one StorageClass that has (`id` is the class).
 */
export interface Pool {
  id: string;
  cap: number;
  /** Set for a class's own cap. */
  storageClass?: string;
}

/** One RunSlots per pool in use. */
export class RunPools {
  private readonly pools = new Map<string, RunSlots>();

  /** The slots of `pool`, at its cap as read now. */
  slots(pool: Pool): RunSlots {
    let slots = this.pools.get(pool.id);
    if (!slots) this.pools.set(pool.id, (slots = new RunSlots(pool.cap)));
    slots.cap = pool.cap;
    return slots;
  }

  /** The pools in use so far: their ids and slots. */
  each(): Array<[id: string, slots: RunSlots]> {
    return [...this.pools.entries()];
  }

  /**
   * The pool that just gave `key` a slot, if one did: a run counts there until the caches show its
   * clone (and its class), or the slot would be forgotten and given twice.
   */
  gaveSlot(key: string): string | undefined {
    for (const [id, slots] of this.pools) if (slots.gave(key)) return id;
    return undefined;
  }

  /** Gives back a slot a pass did not use, whichever pool gave it. */
  release(key: string): void {
    for (const slots of this.pools.values()) slots.release(key);
  }
}
