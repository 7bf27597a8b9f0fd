// The operator's Kubernetes API surface: its requests (plain JSON on one pooled connection, rest.ts and
// connection.ts), retries with backoff for throttling and server errors (p-retry), and error
// classification.
import {
  KubeConfig,
  type CoreV1EventList,
  type V1Job,
  type V1Namespace,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from '@kubernetes/client-node';
import pRetry, { AbortError } from 'p-retry';
import { GROUP, VERSION } from '../api/v1alpha1/schema.js';
import type { EventRecord } from './events.js';
import { controlledBy } from './names.js';
import { unusable } from './connection.js';
import { Rest, groupPath, resourcePath } from './rest.js';
import { SNAPSHOT_GROUP, SNAPSHOT_PLURAL, SNAPSHOT_VERSION, type VolumeSnapshot } from './snapshots.js';

export const CORE = groupPath('', 'v1');
export const BATCH = groupPath('batch', 'v1');
const OURS = groupPath(GROUP, VERSION);
const SNAPSHOTS = groupPath(SNAPSHOT_GROUP, SNAPSHOT_VERSION);
/** Deletes the children of what it deletes in the background (the garbage collector). */
const BACKGROUND = { propagationPolicy: 'Background' };

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The apiserver's own message of a failed call, or the error's. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      if (body) return body;
    }
  } else if (body && typeof body === 'object' && 'message' in body) {
    return String((body as { message: unknown }).message);
  }
  return err instanceof Error ? err.message : String(err);
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

/** Raised instead of a write by a process that may no longer hold the leader lease. */
export class NotLeaderError extends Error {}

/**
 * Throttling, server errors and network failures are worth retrying; other 4xx are final, and so
 * is a write the process refused itself (it was never sent).
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NotLeaderError) return false;
  const code = statusCode(err);
  if (code === undefined) return true;
  return code === 429 || code >= 500;
}

export async function withRetry<T>(fn: () => Promise<T>, retries = 3): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await fn();
      } catch (err) {
        if (!isRetryable(err)) throw new AbortError(err as Error);
        throw err;
      }
    },
    { retries, minTimeout: 100, maxTimeout: 2_000, factor: 2, randomize: true },
  );
}

/** A start-up problem the operator cannot wait out: it says what to set, and the process exits. */
export class StartupError extends Error {}

/** client-node's last resort when it finds no configuration at all. */
const NO_CONFIG_SERVER = 'http://localhost:8080';

/**
 * The kubeconfig from --kubeconfig, $KUBECONFIG, ~/.kube/config or the pod's ServiceAccount. With
 * none of them client-node falls back to an unauthenticated http://localhost:8080, which the
 * operator would retry forever without saying why: that is refused here instead.
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new StartupError(
      `cannot read the kubeconfig ${path ?? process.env.KUBECONFIG ?? ''}: ${(err as Error).message}; set --kubeconfig or KUBECONFIG to a readable kubeconfig file`,
      { cause: err },
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster || (cluster.name === 'cluster' && cluster.server === NO_CONFIG_SERVER && !path)) {
    throw new StartupError(
      'no Kubernetes configuration found: set KUBECONFIG (or --kubeconfig) to a kubeconfig file, or run the operator in a pod with a ServiceAccount token (in-cluster config)',
    );
  }
  const problem = unusable(kc);
  if (problem) throw new StartupError(`cannot use the kubeconfig: ${problem}`);
  return kc;
}

export class KubeApi {
  /** Plain JSON requests on the cluster's pooled connections (rest.ts). */
  readonly rest: Rest;

  /**
   * `mayWrite` fences every attempt of every write, retries included: a process paused (a starved
   * node, SIGSTOP) during a backoff, or between deciding and sending, writes nothing when it resumes
   * without the leader lease.
   */
  constructor(
    readonly kc: KubeConfig,
    private readonly mayWrite: () => boolean = () => true,
  ) {
    this.rest = new Rest(kc);
  }

  /** Lists a collection, by label when given (once: the informer that calls it retries). */
  list<T>(path: string, labelSelector?: string): Promise<{ items: T[] }> {
    return this.rest.get(path, { labelSelector });
  }

  /** Throws NotLeaderError unless this process may write now. */
  fence(): void {
    if (!this.mayWrite()) throw new NotLeaderError('not holding the leader lease; making no write');
  }

  /** A write, retried on throttling and server errors, fenced at each attempt. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(() => {
      this.fence();
      return fn();
    });
  }

  /** Writes the status subresource; fails with 409 when the object changed since it was read. */
  replaceCustomStatus<T extends Custom>(plural: string, obj: T): Promise<T> {
    this.fence();
    return this.rest.replace(
      resourcePath(OURS, plural, obj.metadata.namespace, obj.metadata.name, 'status'),
      obj,
    );
  }

  /** Creates an object of a kind of ours; false when one of that name exists already. */
  createCustom<T extends Custom>(plural: string, obj: T): Promise<boolean> {
    return this.createIfAbsent(() =>
      this.rest.create(resourcePath(OURS, plural, obj.metadata.namespace), obj),
    );
  }

  /**
   * Deletes an object of a kind of ours and, in the background, its children; with `uid`, only that
   * very object.
   */
  async deleteCustom(
    plural: string,
    obj: { metadata: { namespace: string; name: string } },
    uid?: string,
  ): Promise<void> {
    await this.deleteIgnoringNotFound(() =>
      this.rest.delete(
        resourcePath(OURS, plural, obj.metadata.namespace, obj.metadata.name),
        uid ? { preconditions: { uid }, ...BACKGROUND } : undefined,
        BACKGROUND,
      ),
    );
  }

  /**
   * Pods of a namespace that mount a PVC and may still run (not Succeeded or Failed), but for those
   * `exceptOwner` (a Job's UID) controls. Lists every pod of the namespace: pods are not selectable by
   * the claims they mount.
   */
  async podsMounting(namespace: string, claim: string, exceptOwner?: string): Promise<string[]> {
    const list = await withRetry(() => this.list<V1Pod>(resourcePath(CORE, 'pods', namespace)));
    return list.items
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .filter((p) => !controlledBy(p, exceptOwner))
      .filter((p) => p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claim))
      .map((p) => p.metadata!.name!);
  }

  /** Names of the PVCs in a namespace that a label selector picks. */
  async pvcNames(namespace: string, labelSelector: string): Promise<string[]> {
    const list = await withRetry(() =>
      this.list<V1PersistentVolumeClaim>(
        resourcePath(CORE, 'persistentvolumeclaims', namespace),
        labelSelector,
      ),
    );
    return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
  }

  async getPvc(namespace: string, name: string): Promise<V1PersistentVolumeClaim | null> {
    try {
      return await withRetry(() =>
        this.rest.get<V1PersistentVolumeClaim>(resourcePath(CORE, 'persistentvolumeclaims', namespace, name)),
      );
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Creates an object; false when one of that name exists already (whose, the caller checks). */
  async createIfAbsent<T>(create: () => Promise<T>): Promise<boolean> {
    try {
      await this.write(create);
      return true;
    } catch (err) {
      if (statusCode(err) === 409) return false; // AlreadyExists: a previous pass, or someone else
      throw err;
    }
  }

  createPvc(pvc: V1PersistentVolumeClaim): Promise<boolean> {
    const namespace = pvc.metadata!.namespace!;
    return this.createIfAbsent(() =>
      this.rest.create(resourcePath(CORE, 'persistentvolumeclaims', namespace), pvc),
    );
  }

  createJob(job: V1Job): Promise<boolean> {
    const namespace = job.metadata!.namespace!;
    return this.createIfAbsent(() => this.rest.create(resourcePath(BATCH, 'jobs', namespace), job));
  }

  /**
   * Creates a VolumeSnapshot; false when one of that name exists already. A 404 means the cluster
   * has no VolumeSnapshot API (isNotFound).
   */
  createSnapshot(snapshot: VolumeSnapshot): Promise<boolean> {
    return this.createIfAbsent(() =>
      this.rest.create(resourcePath(SNAPSHOTS, SNAPSHOT_PLURAL, snapshot.metadata.namespace), snapshot),
    );
  }

  /** A VolumeSnapshot; null when there is none of that name (or no VolumeSnapshot API at all). */
  async getSnapshot(namespace: string, name: string): Promise<VolumeSnapshot | null> {
    try {
      return await withRetry(() =>
        this.rest.get<VolumeSnapshot>(resourcePath(SNAPSHOTS, SNAPSHOT_PLURAL, namespace, name)),
      );
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Deletes a VolumeSnapshot; with `uid`, only that very object. */
  deleteSnapshot(namespace: string, name: string, uid?: string): Promise<void> {
    return this.deleteIgnoringNotFound(() =>
      this.rest.delete(resourcePath(SNAPSHOTS, SNAPSHOT_PLURAL, namespace, name), preconditions(uid)),
    );
  }

  async getJob(namespace: string, name: string): Promise<V1Job | null> {
    try {
      return await withRetry(() => this.rest.get<V1Job>(resourcePath(BATCH, 'jobs', namespace, name)));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async deleteIgnoringNotFound(fn: () => Promise<unknown>): Promise<void> {
    try {
      await this.write(fn);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes a Job and, in the background, its pods; with `uid`, only that very object. */
  deleteJob(namespace: string, name: string, uid?: string): Promise<void> {
    // The API's default for Jobs orphans their pods; Background lets the garbage collector take them.
    // With a body the apiserver reads the options from it alone (query parameters are ignored), so
    // the policy goes in the body too: an orphaned finished pod would hold its PVC from deletion.
    return this.deleteIgnoringNotFound(() =>
      this.rest.delete(
        resourcePath(BATCH, 'jobs', namespace, name),
        uid ? { preconditions: { uid }, ...BACKGROUND } : undefined,
        BACKGROUND,
      ),
    );
  }

  /** Deletes a PVC; with `uid`, only that very object (a precondition the apiserver checks). */
  deletePvc(namespace: string, name: string, uid?: string): Promise<void> {
    return this.deleteIgnoringNotFound(() =>
      this.rest.delete(resourcePath(CORE, 'persistentvolumeclaims', namespace, name), preconditions(uid)),
    );
  }

  /** A namespace's annotations: where an administrator opts it in to privileged movers and prefixes. */
  async namespaceAnnotations(namespace: string): Promise<Record<string, string>> {
    const ns = await withRetry(() =>
      this.rest.get<V1Namespace>(resourcePath(CORE, 'namespaces', undefined, namespace)),
    );
    return ns.metadata?.annotations ?? {};
  }

  /** What the operator reads of a StorageClass: its binding mode and its annotations (none if absent). */
  async storageClass(
    name: string,
  ): Promise<{ volumeBindingMode?: string; annotations: Record<string, string> } | undefined> {
    try {
      const sc = await withRetry(() =>
        this.rest.get<V1StorageClass>(
          resourcePath(groupPath('storage.k8s.io', 'v1'), 'storageclasses', undefined, name),
        ),
      );
      return {
        ...(sc.volumeBindingMode ? { volumeBindingMode: sc.volumeBindingMode } : {}),
        annotations: sc.metadata?.annotations ?? {},
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The newest warning event about an object, such as a provisioner's ProvisioningFailed. */
  async latestWarning(namespace: string, kind: string, name: string): Promise<string | undefined> {
    const fieldSelector = `involvedObject.kind=${kind},involvedObject.name=${name},type=Warning`;
    const list = await withRetry(() =>
      this.rest.get<CoreV1EventList>(resourcePath(CORE, 'events', namespace), { fieldSelector }),
    );
    const newest = list.items
      .slice()
      .sort((a, b) => new Date(a.lastTimestamp ?? 0).getTime() - new Date(b.lastTimestamp ?? 0).getTime())
      .at(-1);
    return newest ? `${newest.reason ?? 'Warning'}: ${newest.message ?? ''}`.trim() : undefined;
  }

  /**
   * The last lines of a container's log (at most 20 lines, 2 KiB), or undefined when it cannot be
   * read for any reason (the pod or its log is gone, a node that serves no logs, no permission): read
   * only to explain a mover that exited without its report, which fails either way.
   */
  async logTail(namespace: string, pod: string, container: string): Promise<string | undefined> {
    try {
      return await withRetry(() =>
        this.rest.getText(resourcePath(CORE, 'pods', namespace, pod, 'log'), {
          container,
          tailLines: '20',
          limitBytes: '2048',
        }),
      );
    } catch {
      return undefined;
    }
  }

  /** An event about one of our objects (a DataMover or a DataMoverSchedule). */
  async recordEvent(obj: Custom, event: EventRecord, now: Date): Promise<void> {
    const namespace = obj.metadata.namespace;
    await this.write(() =>
      this.rest.create(resourcePath(CORE, 'events', namespace), {
        metadata: { generateName: `${obj.metadata.name.slice(0, 200)}.`, namespace },
        involvedObject: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        source: { component: 'datamover-operator' },
        reportingComponent: 'datamover-operator',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      }),
    );
  }
}

/** A delete's body: with `uid`, only that very object (a precondition the apiserver checks). */
const preconditions = (uid: string | undefined) => (uid ? { preconditions: { uid } } : undefined);

/** An object of one of our kinds, as the custom-objects API reads and writes it. */
interface Custom {
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string | undefined;
    resourceVersion?: string | undefined;
  };
}
