// A scheduled run prunes exactly what its keep policy names, and nothing else. One bucket is filled
// once, by the real mover where a DataMover would have written it: schedule nightly's 12 complete
// backups of PVC ns/data spread over hours, days, weeks and months, schedule hourly's backups of the
// same PVC in the same root, a manual DataMover's backups, the mirror (written by a nightly
// DataMover), another PVC's root (also nightly's), and beside them an InProgress run of nightly, a
// run folder without a marker, one with an unreadable marker, an object in the root and unrelated
// objects at the bucket root. Each policy runs against a copy of it: the whole bucket is listed with
// a SHA-256 of every object before and after, and exactly the folders the policy names are gone.
// Then a prune that the S3 server refuses halfway: the backup succeeds, the report says why, no
// folder looks Complete without its data, and the next run finishes it. Last, two schedules of one
// PVC that fire in the same seconds: each prune deletes only its own schedule's runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMover, DataMoverSpec } from '../../src/api/v1alpha1/schema.js';
import {
  MARKER,
  parseMarker,
  runMarker,
  timestampFolder,
  type RunMarker,
} from '../../src/contract/layout.js';
import { parseMoverResult } from '../../src/contract/result.js';
import type { KeepPolicy } from '../../src/contract/retention.js';
import { dm } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { runFolder } from '../../src/jobs/destination.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3FaultProxy, S3Server, rcloneOn, snapshotBucket, type ObjectState } from '../support/s3.js';
import { makeTree, tempDir } from '../support/tree.js';

const s3 = new S3Server();
const TEMPLATE = 'template';
const BUCKETS = ['last', 'daily-weekly', 'all', 'halfway', 'two-schedules'];
const ROOT = 'ns/data';
let source: string;

const utc = (text: string) => new Date(`${text}Z`);
/** Schedule nightly's complete backups, oldest first (ISO weeks and months in the comments). */
const NIGHTLY_TIMES = [
  '2025-12-01T01:00:00', //  1  Mon, 2025-W49, December
  '2025-12-29T01:00:00', //  2  Mon, 2026-W01, December
  '2026-01-04T01:00:00', //  3  Sun, 2026-W01
  '2026-01-12T01:00:00', //  4  Mon, 2026-W03
  '2026-01-18T23:00:00', //  5  Sun, 2026-W03
  '2026-01-26T01:00:00', //  6  Mon, 2026-W05
  '2026-01-31T10:00:00', //  7  Sat, 2026-W05, January's last
  '2026-02-01T01:00:00', //  8  Sun, 2026-W05
  '2026-02-01T02:00:00', //  9  Sun, 2026-W05
  '2026-02-01T02:30:00', // 10  Sun, 2026-W05, the same hour as 9
  '2026-02-02T01:00:00', // 11  Mon, 2026-W06
  '2026-02-02T01:30:00', // 12  Mon, 2026-W06, the same hour as 11
].map(utc);
/** The first three were written by an older operator, whose run folders are named by the second alone. */
const OLDER_OPERATOR = 3;
/** The scheduled run under test: Monday 2026-02-02 12:00, 2026-W06. */
const NOW = utc('2026-02-02T12:00:00');

const IN_PROGRESS = '2025-11-15-000000';
const NO_MARKER = '2025-10-01-000000';
const BAD_MARKER = '2025-10-02-000000';

const scheduleRef = (name: string) => ({
  apiVersion: 'datamover.io/v1alpha1',
  kind: 'DataMoverSchedule',
  name,
  uid: `uid-${name}`,
  controller: true,
  blockOwnerDeletion: true,
});

let serial = 0;
/** A DataMover, made by schedule `schedule` (its controller ownerReference and label) when given. */
function dataMover(spec: Partial<DataMoverSpec>, schedule?: string): DataMover {
  const d = dm(spec, undefined, `${schedule ?? 'manual'}-${++serial}`);
  if (schedule) {
    d.metadata.ownerReferences = [scheduleRef(schedule)];
    d.metadata.labels = { 'datamover.io/schedule': schedule };
  }
  return d;
}

function backUp(d: DataMover, bucket: string, start: Date, env: Record<string, string> = {}) {
  return runMover({ ...moverEnvFor(d, s3.secretEnv(bucket), source, start), ...env });
}

/** A backup the mover writes into the template, and the run folder it writes. */
interface Backup {
  d: DataMover;
  start: Date;
  env: Record<string, string>;
  run: string;
}

function backup(
  spec: Partial<DataMoverSpec>,
  schedule: string | undefined,
  start: Date,
  older = false,
): Backup {
  const d = dataMover(spec, schedule);
  const env: Record<string, string> = older ? { DATAMOVER_RUN_FOLDER: timestampFolder(start) } : {};
  return { d, start, env, run: older ? timestampFolder(start) : runFolder(d, start) };
}

async function mustBackUp(d: DataMover, bucket: string, start: Date, env: Record<string, string> = {}) {
  const result = await backUp(d, bucket, start, env);
  expect(result.code, result.output).toBe(0);
}

const timestamped = { addTimestampPrefix: true };
const NIGHTLY_BACKUPS = NIGHTLY_TIMES.map((t, i) => backup(timestamped, 'nightly', t, i < OLDER_OPERATOR));
const NIGHTLY = NIGHTLY_BACKUPS.map((b) => b.run);
const run = (n: number) => NIGHTLY[n - 1]!;
const HOURLY_BACKUPS = ['2025-11-20T00:00:00', '2026-01-20T00:00:00'].map((t) =>
  backup(timestamped, 'hourly', utc(t)),
);
const HOURLY_SCHEDULE = HOURLY_BACKUPS.map((b) => b.run);
const MANUAL_BACKUPS = ['2025-11-01T00:00:00', '2026-01-25T00:00:00'].map((t) =>
  backup(timestamped, undefined, utc(t)),
);
const MANUAL = MANUAL_BACKUPS.map((b) => b.run);
/** The mirror and another PVC's root, both written by nightly's DataMovers. */
const MIRROR = backup({}, 'nightly', utc('2025-12-15T00:00:00'));
const OTHER_PVC = backup({ ...timestamped, sourcePvc: 'other' }, 'nightly', utc('2025-12-02T01:00:00'));

/** Writes one object into the template bucket, as some other writer would. */
async function put(path: string, content: string): Promise<void> {
  const file = join(tempDir('dm-put-'), 'object');
  writeFileSync(file, content);
  await rcloneOn(s3, ['copyto', file, `S3:${TEMPLATE}/${path}`]);
}

const folderOf = (path: string) => path.split('/').slice(0, 3).join('/');
/** The names directly in a root: its run folders, its marker and whatever else lies there. */
const runFolders = (snapshot: Map<string, ObjectState>, root = ROOT): string[] =>
  [
    ...new Set(
      [...snapshot.keys()].filter((p) => p.startsWith(`${root}/`)).map((p) => p.split('/')[2] ?? ''),
    ),
  ].sort();

async function markerIn(bucket: string, runName: string): Promise<RunMarker | undefined> {
  const text = (await rcloneOn(s3, ['cat', `S3:${bucket}/${ROOT}/${runName}/${MARKER}`])).stdout;
  const marker = parseMarker(text);
  return marker?.kind === 'Backup' ? marker : undefined;
}

beforeAll(async () => {
  await s3.start(TEMPLATE, ...BUCKETS);
  source = tempDir('dm-src-');
  makeTree(source);
  for (const b of [...NIGHTLY_BACKUPS, ...HOURLY_BACKUPS, ...MANUAL_BACKUPS, MIRROR, OTHER_PVC])
    await mustBackUp(b.d, TEMPLATE, b.start, b.env);
  // What a run of nightly still being written (or cut short) leaves, a folder no DataMover marked,
  // and one whose marker cannot be read: all older than anything, none of them the prune's.
  const inProgress = runMarker(
    {
      namespace: 'ns',
      pvc: 'data',
      dataMover: { name: 'nightly-0', uid: 'uid-nightly-0' },
      schedule: 'nightly',
    },
    IN_PROGRESS,
    utc('2025-11-15T00:00:00'),
  );
  await put(`${ROOT}/${IN_PROGRESS}/${MARKER}`, `${JSON.stringify(inProgress)}\n`);
  await put(`${ROOT}/${IN_PROGRESS}/data/half.bin`, 'half a backup\n');
  await put(`${ROOT}/${NO_MARKER}/data/orphan.bin`, 'written by hand\n');
  await put(`${ROOT}/${BAD_MARKER}/${MARKER}`, '{"format":1,"kind":"Backup",');
  await put(`${ROOT}/${BAD_MARKER}/data/file.bin`, 'marker torn\n');
  await put(`${ROOT}/notes.txt`, 'an object in the root\n');
  await put('README.txt', 'not a backup\n');
  await put('other-ns/app/file.bin', 'another namespace\n');
  for (const bucket of BUCKETS) await rcloneOn(s3, ['copy', '--metadata', `S3:${TEMPLATE}`, `S3:${bucket}`]);
});

afterAll(async () => {
  await s3.stop();
});

describe('the bucket a schedule prunes', () => {
  it('holds all of it, markers written by the mover', async () => {
    const before = await snapshotBucket(s3, TEMPLATE);
    expect(runFolders(before)).toEqual(
      [
        ...NIGHTLY,
        ...HOURLY_SCHEDULE,
        ...MANUAL,
        IN_PROGRESS,
        NO_MARKER,
        BAD_MARKER,
        'mirror',
        MARKER,
        'notes.txt',
      ].sort(),
    );
    expect(runFolders(before, 'ns/other')).toEqual([MARKER, OTHER_PVC.run]);
    // Run folders of an older operator and of this one, side by side.
    expect(run(OLDER_OPERATOR)).toBe('2026-01-04-010000');
    expect(run(OLDER_OPERATOR + 1)).toMatch(/^2026-01-12-010000-[0-9a-f]{8}$/);
    expect(await markerIn(TEMPLATE, run(5))).toMatchObject({
      schedule: 'nightly',
      state: 'Complete',
      files: 9,
    });
    expect(await markerIn(TEMPLATE, 'mirror')).toMatchObject({ schedule: 'nightly', state: 'Complete' });
    expect(await markerIn(TEMPLATE, HOURLY_SCHEDULE[0]!)).toMatchObject({ schedule: 'hourly' });
    expect(await markerIn(TEMPLATE, MANUAL[0]!)).not.toHaveProperty('schedule');
  });
});

const policies: Array<[string, string, KeepPolicy, string[], number]> = [
  // last 3: this run, 12 and 11.
  ['last only', 'last', { last: 3 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(run), 3],
  // daily 3: this run, 10 (Feb 1), 7 (Jan 31); weekly 3: this run (W06), 10 (W05), 5 (W03, as W04 has none).
  ['daily and weekly', 'daily-weekly', { daily: 3, weekly: 3 }, [1, 2, 3, 4, 6, 8, 9, 11, 12].map(run), 4],
  // last 2: this run, 12; hourly 3: this run, 12, 10; daily 2 and weekly 2: this run, 10; monthly 3:
  // this run, 7 (January), 2 (December).
  [
    'every rule',
    'all',
    { last: 2, hourly: 3, daily: 2, weekly: 2, monthly: 3 },
    [1, 3, 4, 5, 6, 8, 9, 11].map(run),
    5,
  ],
];

describe("a scheduled run's prune", () => {
  it.each(policies)(
    'by %s deletes exactly the folders the policy names, and changes nothing else',
    async (_what, bucket, keep, removed, kept) => {
      const before = await snapshotBucket(s3, bucket);
      const started = Date.now();
      const d = dataMover({ addTimestampPrefix: true, retention: { keep } }, 'nightly');
      const CURRENT = runFolder(d, NOW);
      const result = await backUp(d, bucket, NOW);
      const seconds = (Date.now() - started) / 1000;
      expect(result.code, result.output).toBe(0);
      const report = parseMoverResult(result.termination)!;
      expect(report.destination).toBe(`${bucket}/${ROOT}/${CURRENT}/`);
      expect(report.prune).toEqual({ kept, removed, removedCount: removed.length });
      const after = await snapshotBucket(s3, bucket);
      const gone = new Set(removed.map((r) => `${ROOT}/${r}`));
      for (const [path, state] of before) {
        if (gone.has(folderOf(path))) expect(after.has(path), `${path} deleted`).toBe(false);
        else expect(after.get(path), `${path} untouched`).toEqual(state);
      }
      const created = [...after.keys()].filter((p) => !before.has(p));
      expect(created.length).toBeGreaterThan(0);
      expect(created.filter((p) => folderOf(p) !== `${ROOT}/${CURRENT}`)).toEqual([]);
      expect(runFolders(after)).toEqual(
        runFolders(before)
          .filter((r) => !removed.includes(r))
          .concat(CURRENT)
          .sort(),
      );
      console.log(
        `prune by ${JSON.stringify(keep)}: ${removed.length} run(s) removed, mover ${seconds.toFixed(1)} s`,
      );
    },
  );

  it('refuses a keep policy without a schedule, and a bad one, before writing anything', async () => {
    const before = await snapshotBucket(s3, 'last');
    const manual = await backUp(
      dataMover({ addTimestampPrefix: true, retention: { keep: { last: 1 } } }),
      'last',
      NOW,
    );
    expect(manual.code, manual.output).toBe(3);
    expect(parseMoverResult(manual.termination)?.error).toMatch(
      /retention applies only to DataMovers created by a DataMoverSchedule/,
    );
    const bad = await backUp(
      dataMover({ addTimestampPrefix: true, retention: { keep: { last: 1 } } }, 'nightly'),
      'last',
      NOW,
      {
        DATAMOVER_KEEP: '{"last":0}',
      },
    );
    expect(bad.code, bad.output).toBe(3);
    expect(parseMoverResult(bad.termination)?.error).toMatch(
      /DATAMOVER_KEEP is refused: the keep policy keeps nothing/,
    );
    expect(await snapshotBucket(s3, 'last')).toEqual(before);
  });
});

describe('a prune the S3 server refuses halfway', () => {
  const proxy = new S3FaultProxy();
  const victim = run(3);
  const keep = { last: 3 };
  const halfway = dataMover({ addTimestampPrefix: true, retention: { keep } }, 'nightly');
  const CURRENT = runFolder(halfway, NOW);

  beforeAll(async () => {
    await proxy.start(s3.port);
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it('keeps the backup, reports the error, and leaves no folder that looks Complete without its data', async () => {
    const bucket = 'halfway';
    const before = await snapshotBucket(s3, bucket);
    // One object of the third run to delete cannot be deleted: the first two runs go, the third is
    // left half-deleted, the rest are never reached.
    proxy.refuse = (method, path) =>
      method === 'DELETE' && path === `/${bucket}/${ROOT}/${victim}/data/db/data.db`;
    const result = await backUp(halfway, bucket, NOW, { BUCKET_PORT: String(proxy.port) });
    expect(result.code, result.output).toBe(0);
    // rclone tries the purge 3 times (its --retries) before it gives up.
    expect(new Set(proxy.refused)).toEqual(new Set([`DELETE /${bucket}/${ROOT}/${victim}/data/db/data.db`]));
    const report = parseMoverResult(result.termination)!;
    expect(report.destination).toBe(`${bucket}/${ROOT}/${CURRENT}/`);
    expect(report.prune).toMatchObject({ kept: 3, removed: [run(1), run(2)], removedCount: 2 });
    expect(report.prune?.error).toMatch(
      new RegExp(
        `cannot delete ${ROOT}/${victim}/data/: .*; its \\.datamover\\.json says Deleting, and the next prune finishes it`,
      ),
    );

    const after = await snapshotBucket(s3, bucket);
    expect(await markerIn(bucket, victim)).toMatchObject({ state: 'Deleting', schedule: 'nightly' });
    const victimData = (s: Map<string, ObjectState>) =>
      [...s.keys()].filter((p) => p.startsWith(`${ROOT}/${victim}/data/`));
    expect(victimData(after)).toContain(`${ROOT}/${victim}/data/db/data.db`);
    expect(victimData(after).length).toBeLessThan(victimData(before).length);
    // Every folder whose marker says Complete holds every object it held before.
    for (const folder of runFolders(after)) {
      const marker = await markerIn(bucket, folder).catch(() => undefined);
      if (marker?.state !== 'Complete' || folder === CURRENT) continue;
      for (const [path, state] of before)
        if (folderOf(path) === `${ROOT}/${folder}`)
          expect(after.get(path), `${path} of a Complete run`).toEqual(state);
    }
    for (const r of [run(1), run(2)]) expect(runFolders(after)).not.toContain(r);
  });

  it('is finished by the next scheduled run', async () => {
    const bucket = 'halfway';
    proxy.refuse = () => false;
    const next = new Date(NOW.getTime() + 3600_000);
    const before = await snapshotBucket(s3, bucket);
    const d = dataMover({ addTimestampPrefix: true, retention: { keep } }, 'nightly');
    const nextRun = runFolder(d, next);
    const result = await backUp(d, bucket, next, { BUCKET_PORT: String(proxy.port) });
    expect(result.code, result.output).toBe(0);
    // last 3: the next run, this one's predecessor (CURRENT) and 12; 4 … 11 go, the victim is finished first.
    const removed = [victim, ...[4, 5, 6, 7, 8, 9, 10, 11].map(run)];
    expect(parseMoverResult(result.termination)?.prune).toEqual({ kept: 3, removed, removedCount: 9 });
    const after = await snapshotBucket(s3, bucket);
    const gone = new Set(removed.map((r) => `${ROOT}/${r}`));
    for (const [path, state] of before) {
      if (gone.has(folderOf(path))) expect(after.has(path), `${path} deleted`).toBe(false);
      else expect(after.get(path), `${path} untouched`).toEqual(state);
    }
    expect(runFolders(after).filter((r) => NIGHTLY.includes(r) || r === CURRENT || r === nextRun)).toEqual([
      run(12),
      CURRENT,
      nextRun,
    ]);
  });
});

describe('two schedules of one PVC, firing in the same seconds', () => {
  const bucket = 'two-schedules';
  const times = ['2026-02-03T00:00:00', '2026-02-04T00:00:00', '2026-02-05T00:00:00'].map(utc);
  // Neither has a keep policy for the first two fires; at the third, alpha keeps its last run.
  const alpha = times.map((t, i) =>
    backup(i < 2 ? timestamped : { ...timestamped, retention: { keep: { last: 1 } } }, 'alpha', t),
  );
  const beta = times.map((t) => backup(timestamped, 'beta', t));

  it("each write their own run folder of the same second, and alpha's prune deletes only alpha's older runs", async () => {
    for (const x of [alpha[0]!, beta[0]!, alpha[1]!, beta[1]!]) await mustBackUp(x.d, bucket, x.start);
    // Beta fires first at the third time; then alpha, whose prune keeps its last run.
    await mustBackUp(beta[2]!.d, bucket, beta[2]!.start);
    for (let i = 0; i < 3; i++) {
      expect(alpha[i]!.run.slice(0, 17)).toBe(beta[i]!.run.slice(0, 17));
      expect(alpha[i]!.run).not.toBe(beta[i]!.run);
    }
    const before = await snapshotBucket(s3, bucket);
    for (const x of [...alpha.slice(0, 2), ...beta]) expect(runFolders(before)).toContain(x.run);

    const result = await backUp(alpha[2]!.d, bucket, alpha[2]!.start);
    expect(result.code, result.output).toBe(0);
    const removed = [alpha[0]!.run, alpha[1]!.run];
    expect(parseMoverResult(result.termination)?.prune).toEqual({ kept: 1, removed, removedCount: 2 });
    const after = await snapshotBucket(s3, bucket);
    const gone = new Set(removed.map((r) => `${ROOT}/${r}`));
    for (const [path, state] of before) {
      if (gone.has(folderOf(path))) expect(after.has(path), `${path} deleted`).toBe(false);
      else expect(after.get(path), `${path} untouched`).toEqual(state);
    }
    const created = [...after.keys()].filter((p) => !before.has(p));
    expect(created.filter((p) => folderOf(p) !== `${ROOT}/${alpha[2]!.run}`)).toEqual([]);
    expect(await markerIn(bucket, alpha[2]!.run)).toMatchObject({ schedule: 'alpha', state: 'Complete' });
    for (const b of beta)
      expect(await markerIn(bucket, b.run)).toMatchObject({ schedule: 'beta', state: 'Complete' });
  });
});
