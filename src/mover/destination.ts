// Where a DataMover's data goes inside the bucket. Pure functions of the spec and status.
import type { DataMover } from '../api/v1alpha1/schema.js';

/** `YYYY-MM-DD-HHMMSS` in UTC. */
export function timestampFolder(start: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${start.getUTCFullYear()}-${p(start.getUTCMonth() + 1)}-${p(start.getUTCDate())}-` +
    `${p(start.getUTCHours())}${p(start.getUTCMinutes())}${p(start.getUTCSeconds())}`
  );
}

/**
 * The path inside the bucket, without leading or trailing slashes; '/' for the bucket root, which
 * only an explicit `destinationPath: /` selects. `startTime` fixes the timestamp folder.
 */
export function destinationPath(dm: DataMover, startTime: Date): string {
  const explicit = dm.spec.destinationPath;
  const base = explicit === undefined ? `${dm.metadata.namespace}/${dm.spec.sourcePvc}` : explicit;
  const trimmed = base.replace(/^\/+|\/+$/g, '');
  const parts = [trimmed, dm.spec.addTimestampPrefix ? timestampFolder(startTime) : ''].filter(Boolean);
  return parts.length === 0 ? '/' : parts.join('/');
}

/** What status.destination shows: `<secretName>:<path>/`. */
export function describeDestination(dm: DataMover, startTime: Date): string {
  const path = destinationPath(dm, startTime);
  return `${dm.spec.secretName ?? ''}:${path === '/' ? '/' : `${path}/`}`;
}

/**
 * Two DataMovers with the same key write to the same place and must not sync at once. The bucket
 * is named by the Secret, so the key is the namespace, the Secret and the path.
 */
export function destinationKey(dm: DataMover, startTime: Date): string {
  return `${dm.metadata.namespace}/${describeDestination(dm, startTime)}`;
}
