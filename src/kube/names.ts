// Deterministic names and labels of a DataMover's children. Names and label values are limited to 63
// characters; a longer base is truncated and given a hash of the full name so two DataMovers never
// share a child.
import { createHash } from 'node:crypto';
import { API_VERSION, KIND, type DataMover } from '../api/v1alpha1/schema.js';
import { SCHEDULE_KIND } from '../api/v1alpha1/schedule.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'datamover-operator';
export const OWNER_LABEL = 'datamover.io/datamover';
/** Full owner name on mover pods, where the label value may be hashed. */
export const OWNER_ANNOTATION = 'datamover.io/datamover-name';
export const MAX_NAME = 63;

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

/** `base` + `suffix`, at most 63 characters, hashed when longer; always a valid DNS label. */
export function boundedName(base: string, suffix = ''): string {
  const whole = `${base}${suffix}`;
  if (whole.length <= MAX_NAME) return whole;
  const hash = shortHash(base);
  const keep = MAX_NAME - suffix.length - hash.length - 1;
  const head = base.slice(0, keep).replace(/[-.]+$/, '');
  return `${head}-${hash}${suffix}`;
}

export function cloneName(dm: DataMover): string {
  return boundedName(dm.metadata.name, '-clone');
}

export function jobName(dm: DataMover): string {
  return boundedName(dm.metadata.name, '-mover');
}

export function ownerLabelValue(name: string): string {
  return boundedName(name);
}

export function childLabels(dm: DataMover): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_LABEL]: ownerLabelValue(dm.metadata.name) };
}

export const CHILD_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export function controllerRef(dm: DataMover): OwnerReference {
  if (!dm.metadata.uid) throw new Error(`DataMover ${dm.metadata.namespace}/${dm.metadata.name} has no uid`);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: dm.metadata.name,
    uid: dm.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

interface Owned {
  metadata?: {
    namespace?: string;
    ownerReferences?: Array<{ kind: string; name: string; apiVersion: string; controller?: boolean }>;
    annotations?: Record<string, string>;
  };
}

/** The `namespace/name` key of the DataMover that controls a child, if any. */
export function ownerKey(child: Owned): string | undefined {
  const meta = child.metadata;
  if (!meta?.namespace) return undefined;
  const ref = meta.ownerReferences?.find(
    (r) => r.controller && r.kind === KIND && r.apiVersion === API_VERSION,
  );
  const name = ref?.name ?? meta.annotations?.[OWNER_ANNOTATION];
  return name ? `${meta.namespace}/${name}` : undefined;
}

/** Whose an object holding one of a DataMover's child names is. */
export type Ownership =
  /** Its controller is this DataMover (same UID): adopt it. */
  | 'ours'
  /** Left by an earlier DataMover of the same name (another UID), with our labels: delete it, or wait. */
  | 'orphan'
  /** Anything else: never touched; the run fails with NameConflict. */
  | 'foreign';

interface Child {
  metadata?: {
    labels?: Record<string, string>;
    ownerReferences?: Array<{
      kind: string;
      name: string;
      apiVersion: string;
      uid: string;
      controller?: boolean;
    }>;
  };
}

export function ownership(child: Child, dm: DataMover): Ownership {
  const ref = child.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === KIND && r.apiVersion === API_VERSION,
  );
  if (ref?.uid === dm.metadata.uid) return 'ours';
  const labelled = child.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
  return ref?.name === dm.metadata.name && labelled ? 'orphan' : 'foreign';
}

// DataMovers a DataMoverSchedule creates: deterministic names, so a restart or a second replica that
// fires the same time again finds the run it made instead of making another.
export const SCHEDULE_LABEL = 'datamover.io/schedule';
export const PVC_LABEL = 'datamover.io/pvc';
/** Full names and the fire time on scheduled DataMovers, where label values may be hashed. */
export const SCHEDULE_ANNOTATION = 'datamover.io/schedule-name';
export const PVC_ANNOTATION = 'datamover.io/pvc-name';
export const FIRE_TIME_ANNOTATION = 'datamover.io/fire-time';

/**
 * `<schedule>-<pvc hash>-<fire time in Unix seconds>` (a manual trigger: `-m<trigger hash>`), at most
 * 63 characters. The PVC is hashed: names stay short and two PVCs never share a run.
 */
export function scheduledRunName(schedule: string, pvc: string, fire: Date | { trigger: string }): string {
  const suffix =
    fire instanceof Date ? `-${Math.floor(fire.getTime() / 1000)}` : `-m${shortHash(fire.trigger)}`;
  return boundedName(`${schedule}-${shortHash(pvc)}`, suffix);
}

export interface ScheduleOwner {
  metadata: { name: string; namespace: string; uid?: string | undefined };
}

export function scheduleRef(schedule: ScheduleOwner): OwnerReference {
  const { name, namespace, uid } = schedule.metadata;
  if (!uid) throw new Error(`DataMoverSchedule ${namespace}/${name} has no uid`);
  return {
    apiVersion: API_VERSION,
    kind: SCHEDULE_KIND,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The `namespace/name` key of the DataMoverSchedule that controls a DataMover, if any. */
export function scheduleOwnerKey(dm: Owned): string | undefined {
  const ref = dm.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === SCHEDULE_KIND && r.apiVersion === API_VERSION,
  );
  return ref && dm.metadata?.namespace ? `${dm.metadata.namespace}/${ref.name}` : undefined;
}
