// The DataMovers a DataMoverSchedule creates: the template made into one PVC's run, and where a
// schedule's backups of one PVC lie (what a DataMoverRestore of that schedule reads). Pure.
import type { DataMover, DataMoverSpec } from '../../api/v1alpha1/schema.js';
import { API_VERSION, KIND } from '../../api/v1alpha1/schema.js';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import {
  FIRE_TIME_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PVC_ANNOTATION,
  PVC_LABEL,
  SCHEDULE_ANNOTATION,
  SCHEDULE_LABEL,
  boundedName,
  scheduleRef,
  scheduledRunName,
} from '../../kube/names.js';
import { backupRoot } from '../../jobs/destination.js';

const iso = (d: Date) => d.toISOString();

/** The DataMover spec of a schedule's runs of one PVC: the template, the PVC, its own root. */
function runSpecFor(schedule: DataMoverSchedule, pvc: string): DataMoverSpec {
  const { template, selector, keep } = schedule.spec;
  const spec: DataMoverSpec = { ...structuredClone(template), sourcePvc: pvc };
  // The schedule deletes its runs (history limits, TTL) once it has recorded them.
  delete spec.ttlSecondsAfterFinished;
  spec.addTimestampPrefix = template.addTimestampPrefix ?? true;
  // With a selector, every PVC gets a root of its own below the template's folder.
  if (selector) spec.destinationPath = `${template.destinationPath ?? schedule.metadata.namespace}/${pvc}`;
  if (keep) spec.retention = { keep: structuredClone(keep) };
  return spec;
}

/**
 * Where a schedule's backups of one PVC are, and with which Secret: what a DataMoverRestore of that
 * schedule reads. The same rule as the runs' (runSpecFor), so the two cannot disagree.
 */
export function scheduledBackupsOf(
  schedule: DataMoverSchedule,
  pvc: string,
): { secretName: string | undefined; root: string } {
  const spec = runSpecFor(schedule, pvc);
  const root = backupRoot({ metadata: { namespace: schedule.metadata.namespace }, spec } as DataMover);
  return { secretName: spec.secretName, root };
}

/** The DataMover of one PVC at one fire time: the template, the PVC, our labels and owner. */
export function runFor(
  schedule: DataMoverSchedule,
  pvc: string,
  when: Date | { trigger: string; generation?: number },
  name = scheduledRunName(schedule.metadata.name, pvc, when),
): DataMover {
  const spec = runSpecFor(schedule, pvc);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace: schedule.metadata.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [SCHEDULE_LABEL]: boundedName(schedule.metadata.name),
        [PVC_LABEL]: boundedName(pvc),
      },
      annotations: {
        [SCHEDULE_ANNOTATION]: schedule.metadata.name,
        [PVC_ANNOTATION]: pvc,
        [FIRE_TIME_ANNOTATION]: when instanceof Date ? iso(when) : `trigger:${when.trigger}`,
      },
      ownerReferences: [scheduleRef(schedule)],
    },
    spec,
  };
}
