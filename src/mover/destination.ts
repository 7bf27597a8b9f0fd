// Where a DataMover's data goes inside the bucket (layout.ts has the layout). Pure functions of the
// spec and status.
import type { DataMover } from '../api/v1alpha1/schema.js';
import { runFolderName } from '../contract/layout.js';

/** The backup root: `destinationPath` without leading or trailing slashes, or `<namespace>/<pvc>`. */
export function backupRoot(dm: DataMover): string {
  const explicit = dm.spec.destinationPath;
  return explicit === undefined
    ? `${dm.metadata.namespace}/${dm.spec.sourcePvc}`
    : explicit.replace(/^\/|\/$/g, '');
}

/** The run's folder in the root: the timestamp of `startTime`, or `mirror`. */
export function runFolder(dm: DataMover, startTime: Date): string {
  return runFolderName(dm.spec.addTimestampPrefix === true, startTime);
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
  return (
    below(namespace) ||
    allowedPrefixes.some((p) => p === '*' || (p !== '' && below(p.replace(/^\/+|\/+$/g, ''))))
  );
}

export function parsePrefixes(annotation: string | undefined): string[] {
  return (annotation ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}
