// Looks at the destination before the mover writes anything: the markers above the backup root, what
// the root holds, and the markers below it (src/mover/layout.ts has the rules). Also writes markers.
import {
  MARKER,
  SKIP_RUN_DATA_FILTERS,
  UNREADABLE,
  ancestorsOf,
  markerPath,
  markersToRead,
  parseMarker,
  type DestinationFacts,
  type Marker,
  type MarkerContent,
} from '../src/contract/layout.js';
import { classifyRcloneFailure, remotePath, type MoverPlan } from './plan.js';
import { rclone } from './rclone.js';

/** rclone exits 3 when a folder or object does not exist. */
const NOT_FOUND = 3;

/** A literal path in an rclone filter rule: glob characters escaped. */
const literal = (path: string) => path.replace(/[\\*?[\]{}]/g, (c) => `\\${c}`);

/** Paths of the files an `lsjson` of `path` lists with these flags; none when the folder is absent. */
async function listFiles(plan: MoverPlan, path: string, flags: string[]): Promise<string[]> {
  const run = await rclone(
    ['lsjson', '--no-mimetype', '--no-modtime', ...flags, remotePath(plan, path)],
    plan,
    {
      quiet: true,
    },
  );
  if (run.code === NOT_FOUND) return [];
  if (run.code !== 0) throw classifyRcloneFailure(run.output, plan);
  return (JSON.parse(run.stdout || '[]') as Array<{ Path: string }>).map((e) => e.Path);
}

async function readMarker(plan: MoverPlan, path: string): Promise<MarkerContent | undefined> {
  const run = await rclone(['cat', remotePath(plan, path)], plan, { quiet: true });
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

export async function writeMarker(plan: MoverPlan, path: string, marker: Marker): Promise<void> {
  const run = await rclone(['rcat', remotePath(plan, path)], plan, { input: `${JSON.stringify(marker)}\n` });
  if (run.code !== 0) throw classifyRcloneFailure(run.output, plan);
}
