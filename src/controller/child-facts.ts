// What the machines read of the children a run owns (a clone or target PVC, a mover Job, its pods),
// as one string per object. A watch update that leaves it unchanged changes nothing a pass would
// decide, so it wakes no pass (runtime.ts): a pod being scheduled, a Job counting a ready pod, a PVC
// given its volume's name before it reports Bound. Whatever a machine starts to read of a child must
// be added here, or its change would go unseen until the next pass for another reason.
import type { KubernetesObject, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Source } from '../kube/resources.js';
import { podStartProblem } from './job-status.js';
import type { Owned } from './runtime.js';

/** Deletion, labels, owners and the operator's own annotations: what owner lookups and adoption read. */
function metaFacts(o: KubernetesObject): string {
  const m = o.metadata ?? {};
  const ours = Object.entries(m.annotations ?? {}).filter(([k]) => k.startsWith('datamover.io/'));
  const owners = (m.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}/${r.uid}/${r.controller ?? ''}`);
  return JSON.stringify([m.deletionTimestamp ? 1 : 0, m.labels ?? {}, ours, owners]);
}

/** A PVC: whether it is bound (and its size), not the volume's name the binder sets first. */
export function pvcFacts(pvc: V1PersistentVolumeClaim): string {
  return `${metaFacts(pvc)}|${pvc.status?.phase ?? ''}|${pvc.status?.capacity?.storage ?? ''}`;
}

/** A Job: its conditions and pod counts (finalized or not), not its ready count or times. */
export function jobFacts(job: V1Job): string {
  const s = job.status;
  const conditions = (s?.conditions ?? []).map(
    (c) => `${c.type}=${c.status}:${c.reason ?? ''}:${c.message ?? ''}`,
  );
  const uncounted = s?.uncountedTerminatedPods;
  const counts = [
    s?.active,
    s?.succeeded,
    s?.failed,
    uncounted?.succeeded?.length,
    uncounted?.failed?.length,
  ];
  return `${metaFacts(job)}|${conditions.join(',')}|${counts.map((n) => n ?? 0).join(',')}`;
}

/** A pod: its phase, why it cannot start, and how its containers ended; not its scheduling or IPs. */
export function podFacts(pod: V1Pod): string {
  const ended = (pod.status?.containerStatuses ?? []).flatMap((c) => {
    const t = c.state?.terminated;
    return t ? [`${c.name}:${t.exitCode}:${t.reason ?? ''}:${t.message ?? ''}`] : [];
  });
  return `${metaFacts(pod)}|${pod.status?.phase ?? ''}|${podStartProblem([pod]) ?? ''}|${ended.join(',')}`;
}

/** A run's mover Job and the Job's pods, as a kind's owned sources (`owner` tells whose a child is). */
export const moverChildren = (jobs: Source<V1Job>, pods: Source<V1Pod>, owner: Owned['owner']): Owned[] => [
  { source: jobs as never, owner, facts: jobFacts as never },
  { source: pods as never, owner, facts: podFacts as never },
];
