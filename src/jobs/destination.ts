// Where a DataMover's data goes inside the bucket (layout.ts has the layout). Pure functions of the
// spec and status.
import type { DataMover } from '../api/v1alpha1/schema.js';
import { runFolderName, trimSlashes } from '../contract/layout.js';

/** The backup root: `destinationPath` without leading or trailing slashes, or `<namespace>/<pvc>`. */
export function backupRoot(dm: DataMover): string {
  const explicit = dm.spec.destinationPath;
  return explicit === undefined ? `${dm.metadata.namespace}/${dm.spec.sourcePvc}` : trimSlashes(explicit);
}

/**
 * Whether two backup roots could meet: the same folder, or one inside the other. Whatever bucket
 * their Secrets name (two Secrets may name one bucket, and the operator never reads Secrets).
 */
export function rootsMeet(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * The run's folder in the root: the timestamp of `startTime` and 8 hex digits of the DataMover's UID
 * (two DataMovers of one PVC may start in the same second; a retry keeps its folder), or `mirror`.
 */
export function runFolder(dm: DataMover, startTime: Date): string {
  return runFolderName(dm.spec.addTimestampPrefix === true, startTime, dm.metadata.uid ?? '');
}

/** What status.destination shows: `<secretName>:<root>/<run>/`. */
export function describeDestination(dm: DataMover, startTime: Date): string {
  return `${dm.spec.secretName ?? ''}:${backupRoot(dm)}/${runFolder(dm, startTime)}/`;
}

export const DESTINATION_PREFIXES_ANNOTATION = 'datamover.io/allowed-destination-prefixes';

/**
 * Whether a namespace may write to a root: below its own prefix (`<namespace>/`), or below a prefix
 * an administrator listed in the namespace's annotation (comma-separated; `*` allows any).
 */
export function rootAllowed(root: string, namespace: string, allowedPrefixes: readonly string[]): boolean {
  const below = (prefix: string) => root === prefix || root.startsWith(`${prefix}/`);
  return below(namespace) || allowedPrefixes.some((p) => p === '*' || (p !== '' && below(trimSlashes(p))));
}

export function parsePrefixes(annotation: string | undefined): string[] {
  return (annotation ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}
