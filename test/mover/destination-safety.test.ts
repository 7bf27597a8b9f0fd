// A backup never touches another backup. One shared bucket holds another PVC's backup, the same
// PVC's three timestamped backups and its plain mirror, and unrelated objects at the bucket root and
// under another namespace's prefix. Every combination of plain, timestamped and explicit paths equal
// to, above and below each of them runs against it; before and after each run the whole bucket is
// listed with a SHA-256 of every object (downloaded through the S3 API), its size, time and metadata.
// A run changes nothing outside its own run folder (and creates only the marker of a new root); a
// refused run changes nothing at all, and says why with exit code 8 and reason DestinationConflict.
// Two of the timestamped backups were written by an older operator, whose run folders are named by
// the second alone; two DataMovers of one PVC started in the same second get two folders.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { dm } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { backupRoot, runFolder } from '../../src/jobs/destination.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { parseMarker, timestampFolder } from '../../src/contract/layout.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { moverEnvFor, runMover, statusFor } from '../support/mover.js';
import { S3Server, rcloneOn, snapshotBucket } from '../support/s3.js';
import { makeTree, tempDir } from '../support/tree.js';

const s3 = new S3Server();
const BUCKET = 'shared';
let source: string;

const hour = (h: number) => new Date(Date.UTC(2026, 0, 1, h, 0, 0));
const NOW = new Date(Date.UTC(2026, 0, 2, 12, 0, 0));

const rclone = (args: string[]) => rcloneOn(s3, args);
/** Every object in the bucket, by path, with what would show any change to it. */
const snapshot = () => snapshotBucket(s3, BUCKET);

let serial = 0;
function dataMover(spec: Parameters<typeof dm>[0]): DataMover {
  return dm(spec, undefined, `run-${++serial}`);
}
/** The third timestamped backup, written with a new operator's name. */
const LATEST_RUN = dm({ addTimestampPrefix: true }, undefined, 'latest-run');
const LATEST_FOLDER = runFolder(LATEST_RUN, hour(3));

function backUp(d: DataMover, start = NOW, env: Record<string, string> = {}, from = source) {
  return runMover({ ...moverEnvFor(d, s3.secretEnv(BUCKET), from, start), ...env });
}

/** What an older operator told the mover: the run folder named by its start second alone. */
const olderOperator = (start: Date) => ({ DATAMOVER_RUN_FOLDER: timestampFolder(start) });

beforeAll(async () => {
  await s3.start(BUCKET);
  source = tempDir('dm-src-');
  makeTree(source);
  // Backups made by the mover itself, so their markers are the real thing.
  const existing: Array<[DataMover, Date, Record<string, string>]> = [
    [dataMover({ sourcePvc: 'other' }), hour(1), {}],
    [dataMover({ addTimestampPrefix: true }), hour(1), olderOperator(hour(1))],
    [dataMover({ addTimestampPrefix: true }), hour(2), olderOperator(hour(2))],
    [LATEST_RUN, hour(3), {}],
    [dataMover({}), hour(4), {}],
  ];
  for (const [d, start, env] of existing) {
    const run = await backUp(d, start, env);
    expect(run.code, run.output).toBe(0);
  }
  // Objects no DataMover wrote: at the bucket root and under another namespace's prefix.
  const unrelated = tempDir('dm-unrelated-');
  mkdirSync(join(unrelated, 'other-ns/app'), { recursive: true });
  mkdirSync(join(unrelated, 'other-ns/legacy'), { recursive: true });
  writeFileSync(join(unrelated, 'README.txt'), 'not a backup\n');
  writeFileSync(join(unrelated, 'other-ns/notes.txt'), 'notes\n');
  writeFileSync(join(unrelated, 'other-ns/app/file.bin'), Buffer.alloc(4096, 9));
  writeFileSync(join(unrelated, 'other-ns/legacy/old.tar'), Buffer.alloc(2048, 3));
  await rclone(['copy', unrelated, `S3:${BUCKET}`]);
});

afterAll(async () => {
  await s3.stop();
});

describe('the shared bucket before the runs', () => {
  it("holds the other PVC's backup, three timestamped runs, the mirror and the unrelated objects", async () => {
    const paths = [...(await snapshot()).keys()];
    const runs = (root: string) =>
      [...new Set(paths.filter((p) => p.startsWith(`${root}/`)).map((p) => p.split('/')[2]))].sort();
    expect(LATEST_FOLDER).toMatch(/^2026-01-01-030000-[0-9a-f]{8}$/);
    expect(runs('ns/data')).toEqual([
      '.datamover.json',
      '2026-01-01-010000',
      '2026-01-01-020000',
      LATEST_FOLDER,
      'mirror',
    ]);
    expect(runs('ns/other')).toEqual(['.datamover.json', 'mirror']);
    expect(paths).toEqual(
      expect.arrayContaining([
        'README.txt',
        'other-ns/notes.txt',
        'other-ns/app/file.bin',
        'other-ns/legacy/old.tar',
      ]),
    );
    const marker = (await rclone(['cat', `S3:${BUCKET}/ns/data/2026-01-01-020000/.datamover.json`])).stdout;
    expect(parseMarker(marker)).toMatchObject({
      kind: 'Backup',
      namespace: 'ns',
      pvc: 'data',
      run: '2026-01-01-020000',
      state: 'Complete',
      files: 9,
    });
  });
});

type Spec = Parameters<typeof dm>[0];

const allowed: Array<[string, Spec, Date?]> = [
  ['a plain run of the same PVC (replaces its mirror)', {}],
  ['a timestamped run of the same PVC', { addTimestampPrefix: true }],
  ["an explicit path equal to the PVC's own root", { destinationPath: 'ns/data' }],
  [
    "an explicit path equal to the PVC's own root, timestamped",
    { destinationPath: '/ns/data/', addTimestampPrefix: true },
    hour(5),
  ],
  ['a new root beside the others', { destinationPath: 'ns/fresh' }],
  ['a new root at the top of the bucket', { sourcePvc: 'top', destinationPath: 'top' }],
  [
    'a folder of unrelated objects, adopted explicitly',
    { sourcePvc: 'legacy', destinationPath: 'other-ns/legacy', adoptExistingDestination: true },
  ],
];

describe('a run that may go ahead', () => {
  it.each(allowed)('%s changes only its own run folder', async (_what, spec, start = NOW) => {
    const d = dataMover(spec);
    const root = backupRoot(d);
    const folder = `${root}/${runFolder(d, start)}/`;
    const before = await snapshot();
    const run = await backUp(d, start);
    expect(run.code, run.output).toBe(0);
    expect(parseMoverResult(run.termination)?.destination).toBe(`${BUCKET}/${folder}`);
    const after = await snapshot();
    for (const [path, state] of before) {
      if (path.startsWith(folder)) continue;
      expect(after.get(path), `${path} outside ${folder}`).toEqual(state);
    }
    const created = [...after.keys()].filter((p) => !before.has(p) && !p.startsWith(folder));
    // The one object a run may add outside its folder: the marker of a root it is the first to use.
    expect(created).toEqual(before.has(`${root}/.datamover.json`) ? [] : [`${root}/.datamover.json`]);
    expect(after.get(`${folder}.datamover.json`)).toBeDefined();
    expect(after.get(`${folder}data/README.md`)).toBeDefined();
  });
});

describe('two DataMovers of one PVC started in the same second', () => {
  it('both complete, each into its own run folder, and nothing else in the bucket changes', async () => {
    const start = new Date(Date.UTC(2026, 0, 3, 0, 0, 0));
    // Two schedules firing at midnight, or a manual trigger during a fire: one PVC, one second.
    const first = dataMover({ addTimestampPrefix: true });
    const second = dataMover({ addTimestampPrefix: true });
    const folders = [first, second].map((d) => `ns/data/${runFolder(d, start)}/`);
    expect(folders[0]).toMatch(/^ns\/data\/2026-01-03-000000-[0-9a-f]{8}\/$/);
    expect(folders[1]).toMatch(/^ns\/data\/2026-01-03-000000-[0-9a-f]{8}\/$/);
    expect(folders[0]).not.toBe(folders[1]);
    // The volume holds a file named like a marker: the second run's look at the root must skip the
    // first run's data folder, as it skips an older operator's and the mirror's.
    const volume = tempDir('dm-src-marker-');
    makeTree(volume);
    mkdirSync(join(volume, 'nested'));
    writeFileSync(join(volume, 'nested/.datamover.json'), '{"not":"ours"}\n');

    const before = await snapshot();
    for (const [i, d] of [first, second].entries()) {
      const run = await backUp(d, start, {}, volume);
      expect(run.code, run.output).toBe(0);
      expect(parseMoverResult(run.termination)?.destination).toBe(`${BUCKET}/${folders[i]}`);
    }
    const after = await snapshot();
    for (const [path, state] of before) expect(after.get(path), `${path} untouched`).toEqual(state);
    const created = [...after.keys()].filter((p) => !before.has(p));
    expect(created.filter((p) => !folders.some((f) => p.startsWith(f)))).toEqual([]);
    for (const [i, d] of [first, second].entries()) {
      const folder = folders[i]!;
      const marker = parseMarker((await rclone(['cat', `S3:${BUCKET}/${folder}.datamover.json`])).stdout);
      expect(marker).toMatchObject({
        kind: 'Backup',
        run: folder.split('/')[2],
        state: 'Complete',
        dataMover: { name: d.metadata.name, uid: d.metadata.uid },
        files: 10,
      });
      expect(after.get(`${folder}data/nested/.datamover.json`)).toBeDefined();
    }

    // A retry of the first DataMover (the same UID, the same second) carries on in its own folder.
    const retry = await backUp(first, new Date(start.getTime() + 700), {}, volume);
    expect(retry.code, retry.output).toBe(0);
    expect(parseMoverResult(retry.termination)?.destination).toBe(`${BUCKET}/${folders[0]}`);
    const afterRetry = await snapshot();
    for (const [path, state] of after)
      if (!path.startsWith(folders[0]!)) expect(afterRetry.get(path), `${path} untouched`).toEqual(state);
    expect([...afterRetry.keys()].filter((p) => !after.has(p))).toEqual([]);
  });
});

const refused: Array<[string, Spec, RegExp, Date?, Record<string, string>?]> = [
  [
    'the bucket root',
    { destinationPath: '/' },
    /DATAMOVER_BACKUP_ROOT is refused: it is empty: a backup never syncs into the bucket root/,
  ],
  ["another PVC's root", { destinationPath: 'ns/other' }, /holds the backups of PVC ns\/other/],
  [
    'the same root for another PVC',
    { sourcePvc: 'other', destinationPath: 'ns/data' },
    /holds the backups of PVC ns\/data/,
  ],
  [
    'a parent of both roots',
    { destinationPath: 'ns' },
    /another backup lies below destination ns\/: ns\/data\/\.datamover\.json marks the backups of PVC ns\/data/,
  ],
  [
    'a parent of both roots, timestamped',
    { destinationPath: 'ns', addTimestampPrefix: true },
    /another backup lies below/,
  ],
  [
    'a path equal to a timestamped run',
    { destinationPath: 'ns/data/2026-01-01-020000' },
    /lies inside another backup: ns\/data\/\.datamover\.json/,
  ],
  [
    'a path inside a timestamped run',
    { destinationPath: 'ns/data/2026-01-01-020000/data/db' },
    /lies inside another backup/,
  ],
  ['a path equal to the mirror', { destinationPath: 'ns/data/mirror' }, /lies inside another backup/],
  ['a path inside the mirror', { destinationPath: 'ns/data/mirror/data' }, /lies inside another backup/],
  ['a new folder inside a root', { destinationPath: 'ns/data/extra' }, /lies inside another backup/],
  [
    "a path inside the other PVC's root",
    { sourcePvc: 'other', destinationPath: 'ns/other/x' },
    /lies inside another backup: ns\/other\/\.datamover\.json marks the backups of PVC ns\/other/,
  ],
  [
    "another namespace's prefix holding unrelated objects",
    { destinationPath: 'other-ns' },
    // The adopted folder beside it is a backup root now, and is named first.
    /another backup lies below destination other-ns\/: other-ns\/legacy\/\.datamover\.json marks the backups of PVC ns\/legacy/,
  ],
  [
    'a folder of unrelated objects',
    { destinationPath: 'other-ns/app' },
    /holds objects that no DataMover wrote \(other-ns\/app\/file\.bin\)/,
  ],
  [
    'a folder holding backups, even with adoption',
    { destinationPath: 'ns', adoptExistingDestination: true },
    /another backup lies below/,
  ],
  [
    "a run folder another DataMover wrote, named by the same second (an older operator's name)",
    { addTimestampPrefix: true },
    /run folder ns\/data\/2026-01-01-020000\/ already holds the backup 2026-01-01-020000 of PVC ns\/data by DataMover run-3/,
    hour(2),
    olderOperator(hour(2)),
  ],
  [
    "another DataMover's run folder of a new name (the UID check is the last line of defence)",
    { addTimestampPrefix: true },
    new RegExp(
      `run folder ns/data/${LATEST_FOLDER}/ already holds the backup ${LATEST_FOLDER} of PVC ns/data by DataMover latest-run`,
    ),
    hour(3),
    { DATAMOVER_RUN_FOLDER: LATEST_FOLDER },
  ],
];

describe('a run that would touch another backup', () => {
  it.each(refused)(
    'into %s is refused and changes nothing',
    async (_what, spec, message, start = NOW, env = {}) => {
      const d = dataMover(spec);
      const before = await snapshot();
      const run = await backUp(d, start, env);
      const report = parseMoverResult(run.termination)!;
      expect(report.error, run.output).toMatch(message);
      expect(await snapshot()).toEqual(before);
      if (run.code === MoverExit.ConfigError) return; // the operator's CRD refuses these first
      expect(run.code, run.output).toBe(MoverExit.DestinationConflict);
      const status = statusFor(run.code, run.termination);
      expect(status.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('DestinationConflict');
      expect(status.message).toMatch(message);
    },
  );
});
