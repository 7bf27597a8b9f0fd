// The run cap the kinds whose runs hold a clone or a mover pod share (DataMovers and restores): which
// pool a run counts in (the flag's, or its StorageClass's own, storage-classes.ts), the census of a
// pool across every kind, a slot asked for, and the runs woken when slots free up. The slots and
// their fair order are run-slots.ts's; what counts as under way or waiting is each kind's own.
import type { Logger } from 'winston';
import { RUN_CAP_ANNOTATION, type ClassRunCap, type StorageClasses } from './storage-classes.js';
import { RunPools, type Census, type Pool, type Slot, type Waiting } from './run-slots.js';

/** One kind's runs, as the cap counts them. Its keys are its own (`owns`): no two kinds share one. */
export interface CapMember<T> {
  /**
   * This kind's runs of pool `id` under way and waiting; `self`, the run asking, counts as waiting
   * when it is not under way (read from its own copy: the cache may lag).
   */
  census(id: string, self?: T): Census;
  owns(key: string): boolean;
  /** Queues the runs the free slots go to, ahead of new work. */
  wake(keys: readonly string[]): void;
}

/** A slot asked for: the answer, and the pool it is counted in. */
export interface SlotAsked {
  slot: Slot;
  pool: Pool;
}

/** How often a run queued for a slot looks again by itself (slots freed wake it at once). */
export const QUEUED_RECHECK_MS = 300_000;

/** What a queued run says: its place, and the cap it waits under (the flag's, or its class's own). */
export function queuedMessage(position: number, waiting: number, pool: Pool): string {
  const cap = pool.storageClass
    ? `at most ${pool.cap} backups and restores of StorageClass ${pool.storageClass} run at once (its annotation ${RUN_CAP_ANNOTATION})`
    : `at most ${pool.cap} backups and restores run at once (--max-concurrent-runs)`;
  return `waiting for a slot: ${position} of ${waiting} waiting; ${cap}`;
}

export class RunCap {
  private readonly pools = new RunPools();
  private readonly members: CapMember<never>[] = [];
  /** Classes whose run cap could not be read, and the problem last warned of. */
  private readonly warned = new Map<string, string>();

  /** `flagCap`: --max-concurrent-runs, 0 for none. */
  constructor(
    private readonly storageClasses: StorageClasses,
    private readonly flagCap: number,
    private readonly log: Logger,
  ) {}

  join<T>(member: CapMember<T>): void {
    this.members.push(member as CapMember<never>);
  }

  /**
   * The pool a run of `storageClass` counts in: the class's own cap when it has one (0: none), else
   * the flag's (0: none); undefined when no cap applies.
   */
  private poolOf(storageClass: string | undefined, classCap: ClassRunCap): Pool | undefined {
    if (storageClass && classCap && 'cap' in classCap)
      return classCap.cap > 0 ? { id: storageClass, cap: classCap.cap, storageClass } : undefined;
    return this.flagCap > 0 ? { id: '', cap: this.flagCap } : undefined;
  }

  /**
   * The pool id another run counts in: the pool that just gave it a slot, else the one its class (as
   * last read by this process) puts it in. A run whose class is not known yet counts in the flag's
   * pool until its own pass reads it.
   */
  poolIdOf(key: string, storageClass: string | undefined): string | undefined {
    const gave = this.pools.gaveSlot(key);
    if (gave !== undefined) return gave;
    return this.poolOf(storageClass, this.storageClasses.knownRunCap(storageClass))?.id;
  }

  /** Pool `id`'s runs across every kind; `asking` reads its own run from `self`. */
  private census<T>(id: string, asking?: CapMember<T>, self?: T): Census {
    const holding = new Set<string>();
    const waiting: Waiting[] = [];
    for (const member of this.members) {
      const part =
        asking && (member as CapMember<unknown>) === asking ? asking.census(id, self) : member.census(id);
      for (const key of part.holding) holding.add(key);
      waiting.push(...part.waiting);
    }
    return { holding, waiting };
  }

  /**
   * Under a cap (the flag's, or `storageClass`'s own), asks for run `key`'s slot; undefined when no
   * cap applies. The class is read first: nothing is awaited once the slot is given, so the caller
   * creates its clone or Job with nothing in between.
   */
  async request<T>(
    member: CapMember<T>,
    self: T,
    key: string,
    storageClass: string | undefined,
    now: Date,
  ): Promise<SlotAsked | undefined> {
    const pool = this.poolOf(storageClass, await this.classRunCap(storageClass));
    if (!pool) return undefined;
    const slot = this.pools.slots(pool).request(key, this.census(pool.id, member, self), now.getTime());
    return { slot, pool };
  }

  /** Gives back a slot a pass did not use (it created nothing), and hands it on at once. */
  release(key: string): void {
    this.pools.release(key);
    this.wakeNext(key);
  }

  /**
   * Wakes the runs the free slots of each pool would go to, whichever kind they are of. `done`: the
   * run whose pass asks, which wants no slot now (it ended, or gave its slot back): the caches may
   * still show it waiting, as they lag its pass's own status write, and it is not woken. A run woken
   * for a slot it does not take would wake itself again, at once; an ended run's pass makes no
   * request, so that loop would never yield to the watch that brings the cache up to date.
   */
  wakeNext(done?: string): void {
    const now = Date.now();
    for (const [id, slots] of this.pools.each()) {
      const census = this.census(id);
      const waiting = census.waiting.filter((w) => w.key !== done);
      const keys = slots.next({ holding: census.holding, waiting }, now);
      for (const member of this.members) {
        const own = keys.filter((k) => member.owns(k));
        if (own.length > 0) member.wake(own);
      }
    }
  }

  /**
   * A class's own run cap. A value that is not a whole number, or a class the operator may not read,
   * is logged once (until it changes), and the flag applies.
   */
  private async classRunCap(storageClass: string | undefined): Promise<ClassRunCap> {
    const classCap = await this.storageClasses.runCap(storageClass);
    if (!storageClass || !classCap || 'cap' in classCap) return classCap;
    const problem =
      'invalid' in classCap
        ? `annotation ${RUN_CAP_ANNOTATION}=${JSON.stringify(classCap.invalid)} is not a whole number`
        : `cannot be read for its annotation ${RUN_CAP_ANNOTATION} (${classCap.unreadable})`;
    if (this.warned.get(storageClass) !== problem) {
      this.warned.set(storageClass, problem);
      this.log.warn(
        `StorageClass ${storageClass}: ${problem}; its runs count against --max-concurrent-runs`,
        { storageClass },
      );
    }
    return classCap;
  }
}
