// Each PVC's record in a DataMoverSchedule's status: when the schedule first ran it, its last success,
// destination and failure. Brought up to date from the runs, it outlives them (TTL, history limits).
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { PvcRecord } from '../../api/v1alpha1/schedule.js';

const t = (iso: string | undefined) => (iso ? new Date(iso).getTime() : undefined);
const pvcOf = (run: DataMover) => run.spec.sourcePvc;

/** Each PVC's record, brought up to date with the finished runs: it outlives them. */
export function recordRuns(records: readonly PvcRecord[], runs: readonly DataMover[]): PvcRecord[] {
  const byPvc = new Map(records.map((r) => [r.pvc, { ...r }]));
  for (const run of runs) {
    const pvc = pvcOf(run);
    const record = byPvc.get(pvc) ?? { pvc };
    byPvc.set(pvc, record);
    const created = run.metadata.creationTimestamp as unknown as string | undefined;
    if (created && (t(record.trackedSince) ?? Infinity) > t(created)!) record.trackedSince = created;
    const finished = t(run.status?.completionTime);
    if (finished === undefined) continue;
    if (run.status?.phase === 'Completed') recordSuccess(record, run, finished);
    if (run.status?.phase === 'Failed') recordFailure(record, run, finished);
  }
  return [...byPvc.values()].sort((a, b) => a.pvc.localeCompare(b.pvc));
}

/**
 * A PVC whose first run this pass creates is tracked from now (to the second, as the run's own
 * creationTimestamp will be): the fire's status write records it, and the pass that sees the run
 * finds nothing to change, rather than a second write per PVC.
 */
export function trackCreated(records: PvcRecord[], created: readonly DataMover[], now: Date): PvcRecord[] {
  const since = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const byPvc = new Map(records.map((r) => [r.pvc, r]));
  for (const run of created) {
    const pvc = pvcOf(run);
    const record = byPvc.get(pvc);
    if (!record) byPvc.set(pvc, { pvc, trackedSince: since });
    else if (!record.trackedSince) byPvc.set(pvc, { ...record, trackedSince: since });
  }
  return [...byPvc.values()].sort((a, b) => a.pvc.localeCompare(b.pvc));
}

function recordSuccess(record: PvcRecord, run: DataMover, finished: number): void {
  if ((t(record.lastSuccessfulTime) ?? 0) >= finished) return;
  record.lastSuccessfulTime = run.status!.completionTime!;
  if (run.status?.destination) record.lastDestination = run.status.destination;
  if ((t(record.lastFailure?.time) ?? 0) < finished) record.lastRun = run.metadata.name;
}

function recordFailure(record: PvcRecord, run: DataMover, finished: number): void {
  if ((t(record.lastFailure?.time) ?? 0) >= finished) return;
  const failed = run.status?.conditions?.find((c) => c.type === 'Failed');
  record.lastFailure = {
    time: run.status!.completionTime!,
    dataMover: run.metadata.name,
    reason: failed?.reason ?? 'Failed',
    message: (failed?.message ?? run.status?.message ?? '').slice(0, 1024),
  };
  if ((t(record.lastSuccessfulTime) ?? 0) < finished) record.lastRun = run.metadata.name;
}
