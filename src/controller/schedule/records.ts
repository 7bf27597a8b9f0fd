// Each PVC's record in a DataMoverSchedule's status: when the schedule first ran it, its last success,
// destination and failure. Brought up to date from the runs, it outlives them (TTL, history limits).
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { DataMoverScheduleStatus, PvcRecord } from '../../api/v1alpha1/schedule.js';

const t = (iso: string | undefined) => (iso ? new Date(iso).getTime() : undefined);

/** A failure's message is kept to this many characters: the DataMover has it whole. */
export const FAILURE_MESSAGE_CHARS = 256;
/**
 * The records' JSON is kept under this many bytes (etcd takes requests of up to 1.5 MiB): beyond it
 * the records are compacted (boundRecords).
 */
export const RECORDS_BUDGET_BYTES = 256 * 1024;
/** Compacted records: the newest failures that keep their DataMover and message. */
export const FAILURES_KEPT_WHOLE = 100;

/**
 * The records follow the PVCs a fire selects: a PVC not among them is unselected from `now` (kept
 * if marked already), one among them is selected again. A record unselected for longer than
 * `graceMs` goes once no run of its PVC is left (the runs' history limits decide when).
 * `left`: the PVCs unselected by this call.
 */
export function followSelection(
  records: readonly PvcRecord[],
  selected: readonly string[],
  withRuns: ReadonlySet<string>,
  now: Date,
  graceMs: number,
): { records: PvcRecord[]; left: string[] } {
  const chosen = new Set(selected);
  const left: string[] = [];
  const out: PvcRecord[] = [];
  for (const record of records) {
    if (chosen.has(record.pvc)) {
      if (!record.unselectedSince) out.push(record);
      else {
        const back = { ...record };
        delete back.unselectedSince;
        out.push(back);
      }
      continue;
    }
    if (!record.unselectedSince) {
      left.push(record.pvc);
      out.push({ ...record, unselectedSince: now.toISOString() });
      continue;
    }
    const over = now.getTime() - t(record.unselectedSince)! >= graceMs;
    if (!(over && !withRuns.has(record.pvc))) out.push(record);
  }
  return { records: out, left };
}

/** Whether a record still shows in the gauges: selected, or unselected for less than the grace period. */
export function recordShown(record: PvcRecord, now: Date, graceMs: number): boolean {
  return !record.unselectedSince || now.getTime() - t(record.unselectedSince)! < graceMs;
}

const size = (records: readonly PvcRecord[]) => Buffer.byteLength(JSON.stringify(records));

/**
 * Keeps the records' JSON under RECORDS_BUDGET_BYTES, so a schedule selecting thousands of PVCs can
 * still write its status. Over budget, each record keeps its recovery point (lastSuccessfulTime, or
 * trackedSince until the first success) and its newest failure's time and reason; the
 * FAILURES_KEPT_WHOLE newest failures keep their DataMover and message. `status.compacted` says so.
 */
export function boundRecords(status: DataMoverScheduleStatus, records: PvcRecord[] | undefined): PvcRecord[] {
  const all = records ?? [];
  if (size(all) <= RECORDS_BUDGET_BYTES) {
    delete status.compacted;
    return all;
  }
  status.compacted = true;
  const whole = new Set(
    all
      .filter((r) => r.lastFailure)
      .sort((a, b) => t(b.lastFailure!.time)! - t(a.lastFailure!.time)!)
      .slice(0, FAILURES_KEPT_WHOLE)
      .map((r) => r.pvc),
  );
  return all.map((r) => {
    const compact: PvcRecord = { pvc: r.pvc };
    if (r.unselectedSince) compact.unselectedSince = r.unselectedSince;
    if (r.lastSuccessfulTime) compact.lastSuccessfulTime = r.lastSuccessfulTime;
    else if (r.trackedSince) compact.trackedSince = r.trackedSince;
    if (r.lastFailure && (t(r.lastFailure.time)! > (t(r.lastSuccessfulTime) ?? 0) || whole.has(r.pvc))) {
      compact.lastFailure = whole.has(r.pvc)
        ? r.lastFailure
        : { time: r.lastFailure.time, reason: r.lastFailure.reason };
    }
    return compact;
  });
}
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
    message: (failed?.message ?? run.status?.message ?? '').slice(0, FAILURE_MESSAGE_CHARS),
  };
  if ((t(record.lastSuccessfulTime) ?? 0) < finished) record.lastRun = run.metadata.name;
}
