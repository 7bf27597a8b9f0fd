// What the operator reads of a StorageClass, from the API and kept a minute:
// - its volumeBindingMode: whether a claim of that class is ready when Bound or already when it waits
//   for its first consumer (clones, restore targets);
// - its own run cap (RUN_CAP_ANNOTATION), which overrides --max-concurrent-runs for the runs whose
//   clone is of that class (run-slots.ts).
import { apiMessage, isRetryable, type KubeApi } from '../kube/client.js';

const TTL_MS = 60_000;

/** On a StorageClass: at most this many runs whose clone is of the class hold a clone or Job at once. */
export const RUN_CAP_ANNOTATION = 'datamover.io/max-concurrent-runs';

/**
 * A class's own cap: a whole number, 0 for none (the class is not capped, whatever the flag says).
 * `invalid` carries the value that could not be read, `unreadable` why the class could not be read
 * (the operator may not read StorageClasses); the flag then applies.
 */
export type ClassRunCap = { cap: number } | { invalid: string } | { unreadable: string } | undefined;

export function parseRunCap(value: string | undefined): ClassRunCap {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,9}$/.test(trimmed)) return { invalid: value };
  return { cap: Number(trimmed) };
}

interface Known {
  bindingMode: string | undefined;
  runCap: ClassRunCap;
  at: number;
}

export class StorageClasses {
  private readonly cache = new Map<string, Known>();
  /** Classes the API refused to show, kept as long as a read, so a refusal is not asked again each pass. */
  private readonly refused = new Map<string, { message: string; at: number }>();
  /** Reads under way: passes that miss the cache at once share one request. */
  private readonly reading = new Map<string, Promise<Known>>();

  constructor(
    private readonly api: Pick<KubeApi, 'storageClass'>,
    private readonly now: () => number = Date.now,
  ) {}

  private read(name: string): Promise<Known> {
    const cached = this.cache.get(name);
    if (cached && this.now() - cached.at < TTL_MS) return Promise.resolve(cached);
    let pending = this.reading.get(name);
    if (!pending) {
      pending = this.api
        .storageClass(name)
        .then((sc) => {
          const known = {
            bindingMode: sc?.volumeBindingMode,
            runCap: parseRunCap(sc?.annotations[RUN_CAP_ANNOTATION]),
            at: this.now(),
          };
          this.cache.set(name, known);
          return known;
        })
        .finally(() => this.reading.delete(name));
      this.reading.set(name, pending);
    }
    return pending;
  }

  async bindingMode(name: string | undefined): Promise<string | undefined> {
    return name ? (await this.read(name)).bindingMode : undefined;
  }

  /**
   * The class's own run cap, read now (or within the minute). A refusal for good (forbidden, say) is
   * an answer, `unreadable`, not an error: the class's cap is optional, and the flag then applies.
   */
  async runCap(name: string | undefined): Promise<ClassRunCap> {
    if (!name) return undefined;
    const refused = this.refused.get(name);
    if (refused && this.now() - refused.at < TTL_MS) return { unreadable: refused.message };
    try {
      return (await this.read(name)).runCap;
    } catch (err) {
      if (isRetryable(err)) throw err;
      const message = apiMessage(err);
      this.refused.set(name, { message, at: this.now() });
      return { unreadable: message };
    }
  }

  /**
   * The class's own run cap as last read, without a request: for the other runs a pass counts. A class
   * not read yet by this process counts as uncapped by its own annotation (its runs then count
   * against the flag's cap: the safe side) until one of its runs' passes reads it.
   */
  knownRunCap(name: string | undefined): ClassRunCap {
    return name ? this.cache.get(name)?.runCap : undefined;
  }
}
