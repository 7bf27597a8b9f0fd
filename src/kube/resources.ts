// The resources the operator watches, one row each: where they are listed and watched, and what of
// them is cached. The children's rows are here; each kind of ours makes its own row with
// customResource() in its folder. informerFor() makes a restarting informer of any row.
import type { KubernetesObject, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { GROUP, VERSION } from '../api/v1alpha1/schema.js';
import { BATCH, CORE, withRetry, type KubeApi } from './client.js';
import { ResilientInformer, type Handler } from './informer.js';
import { CHILD_SELECTOR } from './names.js';
import { groupPath, resourcePath } from './rest.js';

/** What a controller reads of a watched resource: a cache that calls back on every change. */
export interface Source<T> {
  start(handler: Handler<T>): Promise<void>;
  stop(): Promise<void>;
  readonly hasSynced: boolean;
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
}

export interface ResourceRow<T extends KubernetesObject> {
  resource: string;
  /** API path of the collection in a namespace, or across all namespaces. */
  path(namespace: string | undefined): string;
  /** Only objects with this label: the operator's own children, so memory follows its own work. */
  labelSelector?: string;
  /** Drops, in place, what is never read of a cached object. */
  slim?: (obj: T) => void;
  /** A secondary index of the cache (ResilientInformer.indexed). */
  index?: (obj: T) => readonly string[];
}

const collection = (api: string, plural: string) => (namespace: string | undefined) =>
  resourcePath(api, plural, namespace);

/** A cached Job or Pod is read for its metadata and status only; its spec is most of its size. */
function dropSpec(o: { spec?: unknown }): void {
  delete o.spec;
}

/** A kind of ours, listed and watched by its plural in every namespace or in one; cached whole. */
export function customResource<T extends KubernetesObject>(plural: string): ResourceRow<T> {
  return {
    resource: plural,
    path: collection(groupPath(GROUP, VERSION), plural),
  };
}

/**
 * One watch feeding several controllers (DataMovers are the DataMover kind's primary objects and the
 * schedule kind's owned ones): the first view started starts it, every view gets every event, and
 * it stops with the last view.
 */
export class SharedSource<T> {
  private readonly handlers: Handler<T>[] = [];
  private started: Promise<void> | undefined;
  private views = 0;

  constructor(private readonly inner: Source<T>) {}

  view(): Source<T> {
    const inner = this.inner;
    this.views += 1;
    let stopped = false;
    return {
      start: (handler) => {
        this.handlers.push(handler);
        this.started ??= this.inner.start((obj, event) => {
          for (const h of this.handlers) h(obj, event);
        });
        return this.started;
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        this.views -= 1;
        if (this.views === 0) await this.inner.stop();
      },
      get hasSynced() {
        return inner.hasSynced;
      },
      get: (namespace, name) => this.inner.get(namespace, name),
      list: (namespace) => this.inner.list(namespace),
    };
  }
}

/** One of the operator's own children: only objects with its label, in a namespace or in all. */
function childRow<T extends KubernetesObject>(
  resource: string,
  api: string,
  slim?: (obj: T) => void,
): ResourceRow<T> {
  return {
    resource,
    path: collection(api, resource),
    labelSelector: CHILD_SELECTOR,
    ...(slim ? { slim } : {}),
  };
}

/** kubectl apply's copy of the whole object, often its largest annotation; nothing here reads it. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Every PVC of the watched namespaces: the runs' clones, and the sources they are made from. A run
 * reads its source from this cache, not with a GET, and wakes when the source appears or binds
 * (design record 4). kubectl apply's copy of the object is not kept.
 */
export const PVCS: ResourceRow<V1PersistentVolumeClaim> = {
  resource: 'persistentvolumeclaims',
  path: collection(CORE, 'persistentvolumeclaims'),
  slim: (pvc) => {
    if (pvc.metadata?.annotations) delete pvc.metadata.annotations[LAST_APPLIED];
  },
};

export const CHILD_JOBS = childRow<V1Job>('jobs', BATCH, dropSpec);

/** Mover pods, indexed by the UID of the Job that controls them: a pass finds its Job's pods at once. */
export const CHILD_PODS: ResourceRow<V1Pod> = {
  ...childRow<V1Pod>('pods', CORE, dropSpec),
  index: (pod) => (pod.metadata?.ownerReferences ?? []).filter((r) => r.controller).map((r) => r.uid),
};

/** A restarting informer of a row, over the watched namespaces (all when empty). */
export function informerFor<T extends KubernetesObject>(
  api: KubeApi,
  row: ResourceRow<T>,
  namespaces: readonly string[],
  log: Logger,
  onRestart: (resource: string) => void,
): ResilientInformer<T> {
  return new ResilientInformer<T>(
    api.kc,
    {
      resource: row.resource,
      path: row.path,
      list: (namespace) => withRetry(() => api.list<T>(row.path(namespace), row.labelSelector)),
      ...(row.labelSelector ? { labelSelector: row.labelSelector } : {}),
      ...(row.slim ? { slim: row.slim } : {}),
      ...(row.index ? { index: row.index } : {}),
    },
    namespaces,
    log,
    onRestart,
  );
}
