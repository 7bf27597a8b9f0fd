// A backup never touches another backup. One shared bucket holds another PVC's backup, the same
// PVC's three timestamped backups and its plain mirror, and unrelated objects at the bucket root and
// under another namespace's prefix. Every combination of plain, timestamped and explicit paths equal
// to, above and below each of them runs against it; before and after each run the whole bucket is
// listed with a SHA-256 of every object (downloaded through the S3 API), its size, time and metadata.
// A run changes nothing outside its own run folder (and creates only the marker of a new root); a
// refused run changes nothing at all, and says why with exit code 8 and reason DestinationConflict.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { dm } from '../../src/controller/fixtures.test-helpers.js';
import { backupRoot, runFolder } from '../../src/mover/destination.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { parseMarker } from '../../src/contract/layout.js';
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

function backUp(d: DataMover, start = NOW) {
  return runMover(moverEnvFor(d, s3.secretEnv(BUCKET), source, start));
}

beforeAll(async () => {
  await s3.start(BUCKET);
  source = tempDir('dm-src-');
  makeTree(source);
  // Backups made by the mover itself, so their markers are the real thing.
  const existing: Array<[DataMover, Date]> = [
    [dataMover({ sourcePvc: 'other' }), hour(1)],
    [dataMover({ addTimestampPrefix: true }), hour(1)],
    [dataMover({ addTimestampPrefix: true }), hour(2)],
    [dataMover({ addTimestampPrefix: true }), hour(3)],
    [dataMover({}), hour(4)],
  ];
  for (const [d, start] of existing) {
    const run = await backUp(d, start);
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
}, 120_000);

afterAll(async () => {
  await s3.stop();
});

describe('the shared bucket before the runs', () => {
  it("holds the other PVC's backup, three timestamped runs, the mirror and the unrelated objects", async () => {
    const paths = [...(await snapshot()).keys()];
    const runs = (root: string) =>
      [...new Set(paths.filter((p) => p.startsWith(`${root}/`)).map((p) => p.split('/')[2]))].sort();
    expect(runs('ns/data')).toEqual([
      '.datamover.json',
      '2026-01-01-010000',
      '2026-01-01-020000',
      '2026-01-01-030000',
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

const refused: Array<[string, Spec, RegExp, Date?]> = [
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
    "a timestamped run in the same second as another DataMover's",
    { addTimestampPrefix: true },
    /run folder ns\/data\/2026-01-01-020000\/ already holds the backup 2026-01-01-020000 of PVC ns\/data by DataMover run-3/,
    hour(2),
  ],
];

describe('a run that would touch another backup', () => {
  it.each(refused)('into %s is refused and changes nothing', async (_what, spec, message, start = NOW) => {
    const d = dataMover(spec);
    const before = await snapshot();
    const run = await backUp(d, start);
    const report = parseMoverResult(run.termination)!;
    expect(report.error, run.output).toMatch(message);
    expect(await snapshot()).toEqual(before);
    if (run.code === MoverExit.ConfigError) return; // the operator's CRD refuses these first
    expect(run.code, run.output).toBe(MoverExit.DestinationConflict);
    const status = statusFor(run.code, run.termination);
    expect(status.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('DestinationConflict');
    expect(status.message).toMatch(message);
  });
});
