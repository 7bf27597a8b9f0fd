// The operator's clones and Jobs in some namespaces, followed on two watches and replayed in the
// order of the apiserver's revisions: on the test bed's single etcd, resourceVersions of all
// resources share one counter, so the two watches merge into one history. For the run cap
// (--max-concurrent-runs): how many runs ever had a clone or a Job at once, and in which order runs
// got their slots.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

interface Seen {
  rv: number;
  deleted: boolean;
  object: string;
  /** namespace/name of the DataMover that owns it. */
  owner: string;
  namespace: string;
  clone: boolean;
}

export class ChildLog {
  private readonly seen: Seen[] = [];
  private readonly aborts: AbortController[] = [];

  constructor(private readonly namespaces: readonly string[]) {}

  /** Starts both watches (all namespaces, the operator's label), from now on. */
  async follow(kc: KubeConfig): Promise<void> {
    for (const path of ['/api/v1/persistentvolumeclaims', '/apis/batch/v1/jobs'])
      this.aborts.push(
        await new Watch(kc).watch(
          path,
          { labelSelector: 'app.kubernetes.io/managed-by=datamover-operator' },
          (type, obj: KubernetesObject) => {
            const namespace = obj.metadata?.namespace ?? '';
            if (!this.namespaces.includes(namespace)) return;
            this.seen.push({
              rv: Number(obj.metadata?.resourceVersion),
              deleted: type === 'DELETED',
              object: `${path}/${namespace}/${obj.metadata?.name}`,
              owner: `${namespace}/${obj.metadata?.ownerReferences?.[0]?.name}`,
              namespace,
              clone: path.endsWith('persistentvolumeclaims'),
            });
          },
          () => {},
        ),
      );
  }

  stop(): void {
    for (const a of this.aborts) a.abort();
  }

  private history(): Seen[] {
    return [...this.seen].sort((a, b) => a.rv - b.rv);
  }

  /**
   * Replayed in revision order: the most runs that had a clone or a Job at once (of the runs `owners`
   * keeps, by namespace/name: all by default).
   */
  mostAtOnce(owners: (owner: string) => boolean = () => true): number {
    const live = new Map<string, string>();
    let most = 0;
    for (const e of this.history()) {
      if (!owners(e.owner)) continue;
      if (e.deleted) live.delete(e.object);
      else live.set(e.object, e.owner);
      most = Math.max(most, new Set(live.values()).size);
    }
    return most;
  }

  /** Clones and Jobs that exist now. */
  live(): number {
    const live = new Set<string>();
    for (const e of this.history())
      if (e.deleted) live.delete(e.object);
      else live.add(e.object);
    return live.size;
  }

  /** The runs of namespace `ns` in the order their first clone or Job was created: their slots' order. */
  firstChildOrder(ns: string): string[] {
    const order: string[] = [];
    for (const e of this.history()) {
      const run = e.owner.slice(ns.length + 1);
      if (e.namespace === ns && !e.deleted && !order.includes(run)) order.push(run);
    }
    return order;
  }

  /** The namespaces in the order their runs got a slot: the order their clones were created. */
  admissions(): string[] {
    const created = new Set<string>();
    const order: string[] = [];
    for (const e of this.history())
      if (e.clone && !e.deleted && !created.has(e.object)) {
        created.add(e.object);
        order.push(e.namespace);
      }
    return order;
  }
}

/**
 * How evenly an order of namespaces shares out: the largest gap, over every prefix in which each
 * namespace still had some to come, between the namespace served most and the one served least.
 */
export function largestGap(order: readonly string[], namespaces: readonly string[]): number {
  const total = new Map<string, number>();
  for (const ns of order) total.set(ns, (total.get(ns) ?? 0) + 1);
  const given = new Map<string, number>();
  let gap = 0;
  for (const ns of order) {
    given.set(ns, (given.get(ns) ?? 0) + 1);
    if (namespaces.some((n) => (given.get(n) ?? 0) >= (total.get(n) ?? 0))) break;
    const counts = namespaces.map((n) => given.get(n) ?? 0);
    gap = Math.max(gap, Math.max(...counts) - Math.min(...counts));
  }
  return gap;
}
