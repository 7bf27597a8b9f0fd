// Looks at the destination before the mover writes anything: the markers above the backup root, what
// the root holds, and the markers below it (src/contract/layout.ts has the rules). Also writes
// markers, and reads the run markers of a root for the prune and the deletion of abandoned runs
// (src/contract/retention.ts).
import {
  MARKER,
  MIRROR_FOLDER,
  SKIP_RUN_DATA_FILTERS,
  UNREADABLE,
  ancestorsOf,
  isRunFolderName,
  markerPath,
  markersToRead,
  parseMarker,
  type DestinationFacts,
  type Marker,
  type MarkerContent,
} from '../src/contract/layout.js';
import { remotePath, type MoverPlan, type Remote } from './plan.js';
import { NOT_FOUND, rclone, classifyRcloneFailure } from './rclone.js';

/** A literal path in an rclone filter rule: glob characters escaped. */
const literal = (path: string) => path.replace(/[\\*?[\]{}]/g, (c) => `\\${c}`);

/** Paths of the files an `lsjson` of `path` lists with these flags; none when the folder is absent. */
async function listFiles(plan: Remote, path: string, flags: string[]): Promise<string[]> {
  const run = await rclone(
    ['lsjson', '--no-mimetype', '--no-modtime', ...flags, remotePath(plan, path)],
    plan,
    // A root or folder nobody wrote yet is listed as empty, without an ERROR line in the log.
    { quiet: true, missingOk: true },
  );
  if (run.code === NOT_FOUND) return [];
  if (run.code !== 0) throw classifyRcloneFailure(run.output, plan);
  return (JSON.parse(run.stdout || '[]') as Array<{ Path: string }>).map((e) => e.Path);
}

export async function readMarker(plan: Remote, path: string): Promise<MarkerContent | undefined> {
  const run = await rclone(['cat', remotePath(plan, path)], plan, { quiet: true, missingOk: true });
  if (run.code === NOT_FOUND) return undefined;
  if (run.code !== 0) return UNREADABLE;
  return parseMarker(run.stdout) ?? UNREADABLE;
}

export async function inspectDestination(plan: MoverPlan): Promise<DestinationFacts> {
  const includes = ancestorsOf(plan.root).flatMap((a) => ['--include', `/${literal(markerPath(a))}`]);
  // The include rules let rclone list just the folders on the way down to the root.
  const markersAbove = await listFiles(plan, '', ['-R', '--files-only', ...includes]);
  const entries = await listFiles(plan, `${plan.root}/`, []);
  const markersBelow =
    entries.length === 0
      ? []
      : await listFiles(plan, `${plan.root}/`, [
          '-R',
          '--files-only',
          ...SKIP_RUN_DATA_FILTERS.flatMap((f) => ['--filter', f]),
          '--filter',
          `+ ${MARKER}`,
          '--filter',
          '- **',
        ]);
  const facts = { root: plan.root, run: plan.run, markersAbove, entries, markersBelow };
  const contents: Record<string, MarkerContent> = {};
  for (const path of markersToRead(facts)) {
    const content = await readMarker(plan, path);
    if (content !== undefined) contents[path] = content;
  }
  return { ...facts, contents, adopt: plan.adopt };
}

/** How many of the newest run folders an incremental run looks at for a Complete one. */
const BASE_LOOKS = 8;

/**
 * The run an incremental run copies its unchanged files from: the newest Complete run of the root
 * (by folder name, its start) other than this one, among the `entries` the root lists, encrypted
 * when this run is. Only a timestamped run has one: the mirror is synced in place.
 */
export async function incrementalBase(
  plan: MoverPlan,
  entries: readonly string[],
): Promise<string | undefined> {
  if (plan.run === MIRROR_FOLDER) return undefined;
  const runs = entries
    .map((e) => e.replace(/\/$/, ''))
    .filter((name) => name !== MIRROR_FOLDER && name !== plan.run && isRunFolderName(name))
    .sort()
    .reverse()
    .slice(0, BASE_LOOKS);
  for (const run of runs) {
    const marker = await readMarker(plan, markerPath(`${plan.root}/${run}`));
    if (
      marker &&
      marker !== UNREADABLE &&
      marker.kind === 'Backup' &&
      marker.state === 'Complete' &&
      Boolean(marker.encrypted) === Boolean(plan.crypt)
    )
      return run;
  }
  return undefined;
}

/** How many markers are read at once: one rclone process each. */
const MARKER_READS = 8;

/**
 * The timestamped run folders directly in the root (both names: with and without a UID suffix), each
 * with its run marker (undefined: none, or UNREADABLE). The mirror and folders of any other name are
 * left out: no prune or deletion of abandoned runs ever touches them.
 */
export function readRunMarkers(plan: MoverPlan): Promise<Map<string, MarkerContent | undefined>> {
  return readRuns(plan, plan.root, { mirror: false });
}

/** The run folders directly in a root (the mirror too, when asked), each with its run marker. */
export async function readRuns(
  remote: Remote,
  root: string,
  opts: { mirror: boolean },
): Promise<Map<string, MarkerContent | undefined>> {
  const folders = (await listFiles(remote, `${root}/`, ['--dirs-only']))
    .filter((name) => (opts.mirror || name !== MIRROR_FOLDER) && isRunFolderName(name))
    .sort();
  const out = new Map<string, MarkerContent | undefined>();
  for (let i = 0; i < folders.length; i += MARKER_READS) {
    const batch = folders.slice(i, i + MARKER_READS);
    const read = await Promise.all(batch.map((run) => readMarker(remote, markerPath(`${root}/${run}`))));
    batch.forEach((run, j) => out.set(run, read[j]));
  }
  return out;
}

export async function writeMarker(plan: Remote, path: string, marker: Marker): Promise<void> {
  const run = await rclone(['rcat', remotePath(plan, path)], plan, { input: `${JSON.stringify(marker)}\n` });
  if (run.code !== 0) throw classifyRcloneFailure(run.output, plan);
}
