// How backups lie in a bucket, and the markers that keep one backup from touching another. Shared
// by the operator (which names the folders) and the mover (which reads and writes the markers).
// Pure: no I/O.
//
//   <root>/.datamover.json          root marker: this folder holds the backups of one PVC
//   <root>/<YYYY-MM-DD-HHMMSS-uid8>/  a timestamped run (addTimestampPrefix: true): its UTC start and 8
//                                   hex digits of its DataMover's UID (older operators wrote
//                                   <YYYY-MM-DD-HHMMSS>/, still read everywhere)
//   <root>/mirror/                  the plain mirror (addTimestampPrefix: false), replaced by each run
//   <root>/<run>/.datamover.json    run marker: which DataMover (and schedule) wrote the run, and
//                                   whether it is InProgress, Complete, Abandoned (its DataMover went
//                                   away before it completed) or being deleted (Deleting)
//   <root>/<run>/data/              the volume's files; the only place `rclone sync` writes or deletes
//
// A run changes nothing outside `<root>/<run>/` except creating the root marker of a new root, and
// deleting the root's abandoned runs (docs/mover.md). Roots never nest: the mover refuses a root that
// lies inside another backup, or that holds one.
import { createHash } from 'node:crypto';

export const MARKER = '.datamover.json';
export const MARKER_FORMAT = 1;
export const MIRROR_FOLDER = 'mirror';
export const DATA_FOLDER = 'data';
/**
 * A timestamped run folder: `YYYY-MM-DD-HHMMSS` (its start in UTC), then `-` and 8 hex digits of
 * its DataMover's UID (runSuffix). Folders of older operators have no suffix and stay valid.
 */
export const TIMESTAMP_FOLDER = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})(?:-[0-9a-f]{8})?$/;

/** `YYYY-MM-DD-HHMMSS` in UTC: a run folder's name without its UID suffix (an older operator's name). */
export function timestampFolder(start: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${start.getUTCFullYear()}-${p(start.getUTCMonth() + 1)}-${p(start.getUTCDate())}-` +
    `${p(start.getUTCHours())}${p(start.getUTCMinutes())}${p(start.getUTCSeconds())}`
  );
}

/**
 * 8 hex digits that tell apart the runs of DataMovers started in the same second: the first 8 of
 * the DataMover's UID (a Kubernetes UID is a UUID), or of the UID's SHA-256 when it is not a UUID.
 * The same on every retry of a DataMover, so a retry finds its own folder.
 */
export function runSuffix(uid: string): string {
  const hex = uid.replace(/-/g, '').toLowerCase();
  if (/^[0-9a-f]{32}$/.test(hex)) return hex.slice(0, 8);
  return createHash('sha256').update(uid).digest('hex').slice(0, 8);
}

/** `YYYY-MM-DD-HHMMSS-<runSuffix(uid)>`, or `mirror`. */
/** A bucket path without its leading and trailing slashes: how every backup root is compared and written. */
export const trimSlashes = (path: string): string => path.replace(/^\/+|\/+$/g, '');

export function runFolderName(timestamped: boolean, start: Date, uid: string): string {
  return timestamped ? `${timestampFolder(start)}-${runSuffix(uid)}` : MIRROR_FOLDER;
}

export function isRunFolderName(name: string): boolean {
  return name === MIRROR_FOLDER || TIMESTAMP_FOLDER.test(name);
}

const DIGITS = (n: number) => '[0-9]'.repeat(n);
const TIMESTAMP_GLOB = `${DIGITS(4)}-${DIGITS(2)}-${DIGITS(2)}-${DIGITS(6)}`;

/**
 * rclone filter rules that keep a walk of a root out of its runs' data folders (markers never lie
 * there: a root inside a run is refused when it is made), so checking a root with many runs lists
 * folders, not files.
 */
export const SKIP_RUN_DATA_FILTERS = [
  `- /${TIMESTAMP_GLOB}/${DATA_FOLDER}/**`,
  `- /${TIMESTAMP_GLOB}-${'[0-9a-f]'.repeat(8)}/${DATA_FOLDER}/**`,
  `- /${MIRROR_FOLDER}/${DATA_FOLDER}/**`,
];

/** Why a destination path is unusable, or undefined; the same rules as the CRD's. */
export function invalidRoot(root: string): string | undefined {
  if (root.trim() === '') return 'it is empty: a backup never syncs into the bucket root';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(root)) return 'it contains a control character';
  const segments = root.split('/');
  if (segments.some((s) => s.trim() === '')) return 'it has an empty or blank folder name (// or spaces)';
  if (segments.some((s) => s === '.' || s === '..')) return "it has a '.' or '..' folder";
  return undefined;
}

/** The folders above a root, the bucket root ('') first: `a/b/c` → `['', 'a', 'a/b']`. */
export function ancestorsOf(root: string): string[] {
  const segments = root.split('/');
  return segments.map((_, i) => segments.slice(0, i).join('/'));
}

export const markerPath = (folder: string) => (folder ? `${folder}/${MARKER}` : MARKER);

export interface Identity {
  namespace: string;
  pvc: string;
  dataMover: { name: string; uid: string };
  /** The DataMoverSchedule that created the DataMover, when one did: its prune weighs only its own runs. */
  schedule?: string;
}

export interface RootMarker {
  format: number;
  kind: 'BackupRoot';
  namespace: string;
  pvc: string;
  created: string;
  createdBy: { name: string; uid: string };
}

export interface RunMarker {
  format: number;
  kind: 'Backup';
  namespace: string;
  pvc: string;
  dataMover: { name: string; uid: string };
  run: string;
  /** The DataMoverSchedule whose DataMover wrote the run; absent for a DataMover made by hand. */
  schedule?: string;
  startTime: string;
  /**
   * InProgress while the run is written (or when it was interrupted), Complete when its data is all
   * there, Abandoned when a later run of the PVC found it InProgress with its DataMover gone from the
   * cluster (replaced or deleted mid-sync; the later run deletes it), Deleting once a prune or that
   * later run has begun to delete it: only a Complete run is a backup to restore.
   */
  state: RunState;
  completionTime?: string;
  bytes?: number;
  files?: number;
  /**
   * The run's manifest (`<run>/manifest.jsonl`, restore.ts): how many entries, its size in bytes and
   * the SHA-256 of its content, recorded before the run is marked Complete so a restore can tell
   * the manifest it reads is the one the backup wrote. Absent in runs of older movers.
   */
  manifest?: { entries: number; bytes: number; sha256: string };
  /** The data and manifest are encrypted client-side (rclone crypt): restoring needs the key. */
  encrypted?: boolean;
  /**
   * When a later run found this one abandoned: written with state Abandoned and kept by the Deleting
   * marker that follows, so the next run finishes a deletion cut short. Absent otherwise.
   */
  abandoned?: string;
}

export type RunState = 'InProgress' | 'Complete' | 'Abandoned' | 'Deleting';

export type Marker = RootMarker | RunMarker;

export function rootMarker(id: Identity, now: Date): RootMarker {
  return {
    format: MARKER_FORMAT,
    kind: 'BackupRoot',
    namespace: id.namespace,
    pvc: id.pvc,
    created: now.toISOString(),
    createdBy: id.dataMover,
  };
}

export function runMarker(id: Identity, run: string, startTime: Date): RunMarker {
  return {
    format: MARKER_FORMAT,
    kind: 'Backup',
    namespace: id.namespace,
    pvc: id.pvc,
    dataMover: id.dataMover,
    run,
    ...(id.schedule ? { schedule: id.schedule } : {}),
    startTime: startTime.toISOString(),
    state: 'InProgress',
  };
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** A marker, or undefined when the text is not one this format knows. */
export function parseMarker(text: string): Marker | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || typeof raw.format !== 'number') return undefined;
  if (!str(raw.namespace) || !str(raw.pvc)) return undefined;
  if (raw.kind === 'BackupRoot') return raw as unknown as RootMarker;
  const dm = raw.dataMover as Record<string, unknown> | undefined;
  if (raw.kind === 'Backup' && str(dm?.name) && str(dm?.uid) && str(raw.run)) {
    dropInvalidOptionals(raw);
    return raw as unknown as RunMarker;
  }
  return undefined;
}

/** A run marker's optional fields, each dropped when it is not what this format means by it. */
function dropInvalidOptionals(raw: Record<string, unknown>): void {
  // An older marker has no schedule; a schedule that is not a name is no schedule's.
  if (raw.schedule !== undefined && !str(raw.schedule)) delete raw.schedule;
  if (raw.manifest !== undefined && !isManifestInfo(raw.manifest)) delete raw.manifest;
  if (raw.encrypted !== undefined && raw.encrypted !== true) delete raw.encrypted;
  if (raw.abandoned !== undefined && !str(raw.abandoned)) delete raw.abandoned;
}

function isManifestInfo(v: unknown): boolean {
  const m = v as Record<string, unknown> | null;
  const n = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  return (
    typeof m === 'object' &&
    m !== null &&
    n(m.entries) &&
    n(m.bytes) &&
    typeof m.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.sha256)
  );
}

/** A marker that is there but could not be read or parsed. */
export const UNREADABLE = 'unreadable' as const;
export type MarkerContent = Marker | typeof UNREADABLE;

/** What the mover found at and around the destination, before it writes anything. */
export interface DestinationFacts {
  root: string;
  run: string;
  /** Markers found in the folders above the root (bucket-relative paths). */
  markersAbove: string[];
  /** Names of the files and folders directly in the root; empty when the root holds nothing. */
  entries: string[];
  /** Markers below the root (root-relative paths), runs' data folders left out. */
  markersBelow: string[];
  /** The contents of the markers that were read (bucket-relative paths): see markersToRead. */
  contents: Record<string, MarkerContent>;
  /** The DataMover asked to back up into a folder holding objects that no DataMover wrote. */
  adopt: boolean;
}

/** The markers whose contents decide the verdict or name the conflict (at most four). */
export function markersToRead(f: Omit<DestinationFacts, 'contents' | 'adopt'>): string[] {
  const out: string[] = [];
  if (f.markersAbove[0] !== undefined) out.push(f.markersAbove[0]);
  const below = f.markersBelow.map((p) => `${f.root}/${p}`);
  const own = new Set([markerPath(f.root), markerPath(`${f.root}/${f.run}`)]);
  for (const p of below) if (own.has(p)) out.push(p);
  const foreign = foreignMarkers(f.markersBelow, f.markersBelow.includes(MARKER))[0];
  if (foreign !== undefined) out.push(`${f.root}/${foreign}`);
  return out;
}

/** Markers below a root that are not its own or its runs', the shallowest first (a root before its runs). */
function foreignMarkers(markersBelow: string[], managed: boolean): string[] {
  const depth = (p: string) => p.split('/').length;
  return markersBelow
    .filter((p) => p !== MARKER && !(managed && isRunMarkerOfRoot(p)))
    .sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

function isRunMarkerOfRoot(rel: string): boolean {
  const parts = rel.split('/');
  return parts.length === 2 && parts[1] === MARKER && isRunFolderName(parts[0]!);
}

function owner(content: MarkerContent | undefined): string {
  if (!content || content === UNREADABLE) return 'another backup (its marker cannot be read)';
  if (content.kind === 'BackupRoot') return `the backups of PVC ${content.namespace}/${content.pvc}`;
  return `the backup ${content.run} of PVC ${content.namespace}/${content.pvc} by DataMover ${content.dataMover.name}`;
}

export type Verdict = { ok: true; writeRootMarker: boolean } | { ok: false; object: string; message: string };

const conflict = (object: string, message: string): Verdict => ({ ok: false, object, message });

/** Whether the run may write `<root>/<run>/`, by the rules at the top of this file. */
export function checkDestination(f: DestinationFacts, id: Identity): Verdict {
  const above = f.markersAbove[0];
  if (above !== undefined) {
    return conflict(
      above,
      `destination ${f.root}/ lies inside another backup: ${above} marks ${owner(f.contents[above])}`,
    );
  }
  const managed = f.markersBelow.includes(MARKER);
  return checkRoot(f, id, managed) ?? checkRunFolder(f, id) ?? { ok: true, writeRootMarker: !managed };
}

/** The root: its own marker, the markers below it, and objects no DataMover wrote. */
function checkRoot(f: DestinationFacts, id: Identity, managed: boolean): Verdict | undefined {
  const dest = `${f.root}/`;
  const rootPath = markerPath(f.root);
  if (managed) {
    const root = f.contents[rootPath];
    if (!root || root === UNREADABLE || root.kind !== 'BackupRoot') {
      return conflict(rootPath, `destination ${dest} is not a backup root: ${rootPath} marks ${owner(root)}`);
    }
    if (root.namespace !== id.namespace || root.pvc !== id.pvc) {
      return conflict(rootPath, `destination ${dest} holds ${owner(root)} (${rootPath})`);
    }
  }
  const foreign = foreignMarkers(f.markersBelow, managed)[0];
  if (foreign !== undefined) {
    const path = `${f.root}/${foreign}`;
    return conflict(
      path,
      `another backup lies below destination ${dest}: ${path} marks ${owner(f.contents[path])}`,
    );
  }
  if (!managed && f.entries.length > 0 && !f.adopt) {
    const example = `${f.root}/${f.entries[0]}`;
    return conflict(
      example,
      `destination ${dest} holds objects that no DataMover wrote (${example}); set spec.adoptExistingDestination: true to back up into it`,
    );
  }
  return undefined;
}

/** The run's own folder, when it exists already: a retry, the mirror, or someone else's. */
function checkRunFolder(f: DestinationFacts, id: Identity): Verdict | undefined {
  if (!f.entries.includes(f.run)) return undefined;
  const runPath = markerPath(`${f.root}/${f.run}`);
  const run = f.contents[runPath];
  const folder = `${f.root}/${f.run}/`;
  if (!f.markersBelow.includes(`${f.run}/${MARKER}`)) {
    return f.adopt
      ? undefined
      : conflict(
          folder,
          `run folder ${folder} holds objects that no DataMover wrote; set spec.adoptExistingDestination: true to back up into it`,
        );
  }
  if (!run || run === UNREADABLE || run.kind !== 'Backup') {
    return conflict(runPath, `run folder ${folder} has a marker that cannot be read (${runPath})`);
  }
  if (run.namespace !== id.namespace || run.pvc !== id.pvc) {
    return conflict(runPath, `run folder ${folder} holds ${owner(run)}`);
  }
  // Two timestamped runs started in the same second: the later one never overwrites the first.
  if (f.run !== MIRROR_FOLDER && run.dataMover.uid !== id.dataMover.uid) {
    return conflict(runPath, `run folder ${folder} already holds ${owner(run)}`);
  }
  return undefined;
}
