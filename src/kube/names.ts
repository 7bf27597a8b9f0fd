// Deterministic names and labels of a DataMover's children. Names and label values are limited to 63
// characters; a longer base is truncated and given a hash of the full name so two DataMovers never
// share a child.
import { createHash } from 'node:crypto';
import { API_VERSION, KIND, type DataMover } from '../api/v1alpha1/schema.js';
import { SCHEDULE_KIND } from '../api/v1alpha1/schedule.js';
import { RESTORE_KIND } from '../api/v1alpha1/restore.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'datamover-operator';
export const OWNER_LABEL = 'datamover.io/datamover';
/** Full owner name on mover pods, where the label value may be hashed. */
export const OWNER_ANNOTATION = 'datamover.io/datamover-name';
export const MAX_NAME = 63;
/** On a restore's Job and pods: which DataMoverRestore (the label value may be hashed; the annotation is not). */
export const RESTORE_LABEL = 'datamover.io/restore';
export const RESTORE_ANNOTATION = 'datamover.io/restore-name';
/** On mover pods: what the mover does (test beds simulate a restore by it: hack/testbed/stages.yaml). */
export const COMMAND_LABEL = 'datamover.io/command';
/**
 * On a PVC a restore created: which restore, and its UID (so a later pass knows the PVC is the one it
 * made). The PVC has no ownerReference and not our managed-by label: it is user data (docs/design.md).
 */
export const RESTORED_BY_LABEL = 'datamover.io/restored-by';
export const RESTORED_BY_UID_ANNOTATION = 'datamover.io/restored-by-uid';
export const RESTORED_BY_NAME_ANNOTATION = 'datamover.io/restored-by-name';

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

export function snapshotName(dm: DataMover): string {
  return boundedName(dm.metadata.name, '-snapshot');
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
    ownerReferences?: Array<{
      kind: string;
      name: string;
      apiVersion: string;
      uid?: string;
      controller?: boolean;
    }>;
    annotations?: Record<string, string>;
  };
}

/**
 * The one rule for whose an object is: its controller ownerReference (Kubernetes allows one), and,
 * given a kind, only when that controller is one of our kinds in our API version.
 */
export function controllerOf(obj: Owned, kind?: string) {
  return obj.metadata?.ownerReferences?.find(
    (r) => r.controller === true && (kind === undefined || (r.kind === kind && r.apiVersion === API_VERSION)),
  );
}

/** Whether the object with this UID is the controller of `obj`. */
export const controlledBy = (obj: Owned, uid: string | undefined): boolean =>
  uid !== undefined && uid !== '' && controllerOf(obj)?.uid === uid;

/** Our kinds that own Jobs and pods, and the annotation naming the owner on a pod (its controller is the Job). */
const POD_OWNER_ANNOTATION = {
  [KIND]: OWNER_ANNOTATION,
  [RESTORE_KIND]: RESTORE_ANNOTATION,
} as const;
export type JobOwnerKind = keyof typeof POD_OWNER_ANNOTATION;

/**
 * The `namespace/name` key of the object of `kind` that controls a child, if any: by its controller
 * ownerReference, or on a pod by the annotation the Job's template sets. A child of another kind is
 * not the kind's, so each kind reconciles only its own children.
 */
export function ownerKey(child: Owned, kind: JobOwnerKind = KIND): string | undefined {
  const meta = child.metadata;
  if (!meta?.namespace) return undefined;
  const ref = controllerOf(child, kind);
  const name = ref?.name ?? meta.annotations?.[POD_OWNER_ANNOTATION[kind]];
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
  const ref = controllerOf(child, KIND);
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
export function scheduledRunName(
  schedule: string,
  pvc: string,
  fire: Date | { trigger: string; generation?: number },
): string {
  // A trigger's run is named for its value and the schedule's generation when it was set: a value
  // used before (a → b → a) names a new run.
  const trigger = (f: { trigger: string; generation?: number }) =>
    f.generation === undefined ? f.trigger : `${f.trigger}@${f.generation}`;
  const suffix =
    fire instanceof Date ? `-${Math.floor(fire.getTime() / 1000)}` : `-m${shortHash(trigger(fire))}`;
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
  const ref = controllerOf(dm, SCHEDULE_KIND);
  return ref && dm.metadata?.namespace ? `${dm.metadata.namespace}/${ref.name}` : undefined;
}

// A DataMoverRestore's children: its Job (and the Job's pods). The PVC it restores into is not one.
export interface RestoreOwner {
  metadata: { name: string; namespace: string; uid?: string | undefined };
}

export function restoreJobName(restore: RestoreOwner): string {
  return boundedName(restore.metadata.name, '-restore');
}

export function restoreChildLabels(restore: RestoreOwner): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [RESTORE_LABEL]: ownerLabelValue(restore.metadata.name) };
}

export function restoreRef(restore: RestoreOwner): OwnerReference {
  const { name, namespace, uid } = restore.metadata;
  if (!uid) throw new Error(`DataMoverRestore ${namespace}/${name} has no uid`);
  return {
    apiVersion: API_VERSION,
    kind: RESTORE_KIND,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
