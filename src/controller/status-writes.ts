// The bookkeeping of our own status writes, per object key and keyed by resourceVersion. Pure: no
// I/O, no clock. Two records:
//
// - Writes the informer has not delivered yet. A pass that starts before the watch event arrives
//   works from what it wrote, not from a stale copy that would conflict, or worse, act again on a
//   step already taken (re-create a Job its cleanup deleted). The cache may lag several writes (a
//   watch cut mid-run): every version we wrote over is remembered.
// - Writes whose answer was lost (a connection cut by an apiserver restart, a 5xx, a retry that met
//   409 against its own first attempt), all made against one resourceVersion. The first pass that
//   sees a newer version settles them: the one the object now shows was applied, and its transition
//   is counted then, once.
import { isDeepStrictEqual } from 'node:util';

export interface Versioned<S> {
  metadata: { resourceVersion?: string | undefined };
  status?: S | undefined;
}

/** A status write that was sent and not confirmed: what it changed, for counting once settled. */
export interface UnconfirmedWrite<S> {
  baseVersion: string | undefined;
  before: S;
  status: S;
  now: Date;
}

export class StatusWrites<S, T extends Versioned<S>> {
  private readonly written = new Map<string, { overwritten: Set<string>; object: T }>();
  private readonly unconfirmed = new Map<string, UnconfirmedWrite<S>[]>();

  /** The freshest copy of an object: the cache's, or our own newer write. */
  current(key: string, cached: T | undefined): T | undefined {
    const mine = this.written.get(key);
    if (!mine) return cached;
    const version = cached?.metadata.resourceVersion;
    if (cached && version !== undefined && mine.overwritten.has(version)) return mine.object;
    // Caught up with our write, or someone wrote after it, or it is gone: the cache is right.
    this.written.delete(key);
    return cached;
  }

  /** A write the apiserver answered: `updated` replaced `base`. Earlier unknowns were not applied. */
  applied(key: string, base: T, updated: T): void {
    const mine = this.written.get(key);
    const chained =
      mine !== undefined && mine.object.metadata.resourceVersion === base.metadata.resourceVersion;
    const overwritten = chained ? mine.overwritten : new Set<string>();
    if (base.metadata.resourceVersion) overwritten.add(base.metadata.resourceVersion);
    this.written.set(key, { overwritten, object: updated });
    // Applied against the version the earlier attempts were made on: none of them was applied.
    this.unconfirmed.delete(key);
  }

  /** A write whose answer did not say whether it was applied. */
  unknown(key: string, base: T, before: S, status: S, now: Date): void {
    const write = { baseVersion: base.metadata.resourceVersion, before, status, now };
    const pending = this.unconfirmed.get(key);
    if (pending && pending[0]!.baseVersion === write.baseVersion) pending.push(write);
    else this.unconfirmed.set(key, [write]);
  }

  /**
   * On a pass that sees `object` (undefined: it is gone): the unconfirmed write it shows was applied
   * and is returned, once, to be counted. Nothing is settled while the object is still at the version
   * the writes were made against.
   */
  settle(key: string, object: T | undefined): UnconfirmedWrite<S> | undefined {
    const pending = this.unconfirmed.get(key);
    if (!pending) return undefined;
    if (object && object.metadata.resourceVersion === pending[0]!.baseVersion) return undefined;
    this.unconfirmed.delete(key);
    if (!object) return undefined;
    return pending.find((p) => sameStatus(object.status, p.status));
  }

  /** The cache has our write of `version` (its echo arrived, and needs no pass to notice it). */
  caughtUp(key: string, version: string): void {
    if (this.written.get(key)?.object.metadata.resourceVersion === version) this.written.delete(key);
  }

  /** Keys with something remembered (for tests and leak checks). */
  keys(): string[] {
    return [...new Set([...this.written.keys(), ...this.unconfirmed.keys()])];
  }

  get size(): number {
    return this.keys().length;
  }
}

/** Equal as stored: compared through JSON, as the apiserver keeps them. */
function sameStatus(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? {})), JSON.parse(JSON.stringify(b ?? {})));
}
