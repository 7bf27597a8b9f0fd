// A backup deletes the PVC's abandoned runs, and nothing else. A run replaced (concurrencyPolicy:
// Replace) or deleted mid-sync leaves its folder InProgress; the operator tells each mover which
// DataMovers still exist and back up to its root (DATAMOVER_LIVE_RUNS), and after its own sync the
// mover deletes the PVC's InProgress runs of any other DataMover: first marked Abandoned, then
// Deleting, then purged. One bucket is filled once by the real mover: runs cut short by the S3 server
// (InProgress) of DataMovers that are gone, an older operator's among them, and of one that still
// exists; Complete runs of DataMovers that are gone; an InProgress mirror; a folder without a marker,
// one with an unreadable marker and one with another PVC's; another PVC's root with an InProgress
// run; objects outside. Each case runs against a copy of it, the whole bucket listed with a SHA-256
// of every object before and after.
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
import { liveRunsOf } from '../../src/controller/datamover/destination-lock.js';
import { dm } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { runFolder } from '../../src/jobs/destination.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3FaultProxy, S3Server, rcloneOn, snapshotBucket, type ObjectState } from '../support/s3.js';
import { makeTree, tempDir } from '../support/tree.js';

const s3 = new S3Server();
const proxy = new S3FaultProxy();
const TEMPLATE = 'template';
const BUCKETS = ['older-operator', 'live', 'halfway'];
const ROOT = 'ns/data';
let source: string;

const utc = (text: string) => new Date(`${text}Z`);

const scheduleRef = (name: string) => ({
  apiVersion: 'datamover.io/v1alpha1',
  kind: 'DataMoverSchedule',
  name,
  uid: `uid-${name}`,
  controller: true,
  blockOwnerDeletion: true,
});

function dataMover(name: string, spec: Partial<DataMoverSpec> = {}, schedule?: string): DataMover {
  const d = dm({ addTimestampPrefix: true, ...spec }, undefined, name);
  if (schedule) d.metadata.ownerReferences = [scheduleRef(schedule)];
  return d;
}

interface Run {
  d: DataMover;
  start: Date;
  env: Record<string, string>;
  run: string;
}

function runOf(d: DataMover, start: string, older = false): Run {
  const t = utc(start);
  const env: Record<string, string> = older ? { DATAMOVER_RUN_FOLDER: timestampFolder(t) } : {};
  return { d, start: t, env, run: older ? timestampFolder(t) : runFolder(d, t) };
}

// Cut short: their DataMovers are gone (replaced, or deleted mid-sync), one named by an older operator.
const GONE = [
  runOf(dataMover('gone-1'), '2026-03-01T01:00:00'),
  runOf(dataMover('gone-older'), '2026-03-01T02:00:00', true),
  runOf(dataMover('nightly-replaced', {}, 'nightly'), '2026-03-01T03:00:00'),
];
// Cut short too, but its DataMover still exists (its mover failed; its retry, or its status, says so).
const LIVE = runOf(dataMover('live'), '2026-03-01T04:00:00');
// Complete, their DataMovers gone (ttlSecondsAfterFinished).
const COMPLETE = [
  runOf(dataMover('done-1'), '2026-02-28T00:00:00'),
  runOf(dataMover('done-2'), '2026-03-01T05:00:00'),
];
// The mirror, cut short by a DataMover that is gone: the next plain run replaces it.
const MIRROR = runOf(dataMover('mirror-gone', { addTimestampPrefix: false }), '2026-03-01T06:00:00');
// Another PVC's root beside this one: an InProgress run of a DataMover that is gone.
const OTHER_PVC = runOf(dataMover('other-gone', { sourcePvc: 'other' }), '2026-03-01T01:00:00');
const NO_MARKER = '2026-02-01-000000';
const BAD_MARKER = '2026-02-02-000000-0a1b2c3d';
const FOREIGN = '2026-02-03-000000-0b1c2d3e';

function backUp(bucket: string, r: Run, opts: { live?: readonly string[]; port?: number } = {}) {
  const env = { ...moverEnvFor(r.d, s3.secretEnv(bucket), source, r.start, opts.live), ...r.env };
  if (opts.port) env.BUCKET_PORT = String(opts.port);
  return runMover(env);
}

async function put(path: string, content: string): Promise<void> {
  const file = join(tempDir('dm-put-'), 'object');
  writeFileSync(file, content);
  await rcloneOn(s3, ['copyto', file, `S3:${TEMPLATE}/${path}`]);
}

async function markerIn(bucket: string, run: string, root = ROOT): Promise<RunMarker | undefined> {
  const text = (await rcloneOn(s3, ['cat', `S3:${bucket}/${root}/${run}/${MARKER}`])).stdout;
  const marker = parseMarker(text);
  return marker?.kind === 'Backup' ? marker : undefined;
}

const folderOf = (path: string) => path.split('/').slice(0, 3).join('/');
const runFolders = (snapshot: Map<string, ObjectState>, root = ROOT): string[] =>
  [
    ...new Set(
      [...snapshot.keys()].filter((p) => p.startsWith(`${root}/`)).map((p) => p.split('/')[2] ?? ''),
    ),
  ].sort();

/** Every object of `before` is as it was, except in the folders `gone`, which are gone. */
function expectOnly(before: Map<string, ObjectState>, after: Map<string, ObjectState>, gone: string[]) {
  const goneFolders = new Set(gone.map((r) => `${ROOT}/${r}`));
  for (const [path, state] of before) {
    if (goneFolders.has(folderOf(path))) expect(after.has(path), `${path} deleted`).toBe(false);
    else expect(after.get(path), `${path} untouched`).toEqual(state);
  }
}

/** The objects created, outside the run folder the backup writes. */
const createdOutside = (before: Map<string, ObjectState>, after: Map<string, ObjectState>, run: string) =>
  [...after.keys()].filter((p) => !before.has(p) && folderOf(p) !== `${ROOT}/${run}`);

beforeAll(async () => {
  await s3.start(TEMPLATE, ...BUCKETS);
  await proxy.start(s3.port);
  source = tempDir('dm-src-');
  makeTree(source);
  for (const r of COMPLETE) {
    const result = await backUp(TEMPLATE, r);
    expect(result.code, result.output).toBe(0);
  }
  // The S3 server refuses the manifest: the data is there, the marker stays InProgress.
  proxy.refuse = (method, path) => method === 'PUT' && path.endsWith('/manifest.jsonl');
  for (const r of [...GONE, LIVE, MIRROR, OTHER_PVC]) {
    const result = await backUp(TEMPLATE, r, { port: proxy.port });
    expect(result.code, result.output).not.toBe(0);
  }
  proxy.refuse = () => false;
  await put(`${ROOT}/${NO_MARKER}/data/orphan.bin`, 'written by hand\n');
  await put(`${ROOT}/${BAD_MARKER}/${MARKER}`, '{"format":1,"kind":"Backup",');
  await put(`${ROOT}/${BAD_MARKER}/data/file.bin`, 'marker torn\n');
  const foreign = runMarker(
    { namespace: 'ns', pvc: 'other', dataMover: { name: 'x', uid: 'uid-x' } },
    FOREIGN,
    utc('2026-02-03T00:00:00'),
  );
  await put(`${ROOT}/${FOREIGN}/${MARKER}`, `${JSON.stringify(foreign)}\n`);
  await put(`${ROOT}/${FOREIGN}/data/file.bin`, "another PVC's\n");
  await put('README.txt', 'not a backup\n');
  for (const bucket of BUCKETS) await rcloneOn(s3, ['copy', '--metadata', `S3:${TEMPLATE}`, `S3:${bucket}`]);
});

afterAll(async () => {
  await proxy.stop();
  await s3.stop();
});

describe('the bucket', () => {
  it('holds runs cut short, Complete runs, the mirror, folders that are not the PVC’s, and another root', async () => {
    const before = await snapshotBucket(s3, TEMPLATE);
    expect(runFolders(before)).toEqual(
      [
        ...GONE.map((r) => r.run),
        LIVE.run,
        ...COMPLETE.map((r) => r.run),
        'mirror',
        NO_MARKER,
        BAD_MARKER,
        FOREIGN,
        MARKER,
      ].sort(),
    );
    expect(GONE[1]!.run).toBe('2026-03-01-020000');
    for (const r of [...GONE, LIVE, MIRROR]) {
      expect(await markerIn(TEMPLATE, r.run), r.run).toMatchObject({ state: 'InProgress' });
      expect(before.get(`${ROOT}/${r.run}/data/README.md`), r.run).toBeDefined();
    }
    expect(await markerIn(TEMPLATE, OTHER_PVC.run, 'ns/other')).toMatchObject({ state: 'InProgress' });
    for (const r of COMPLETE) expect(await markerIn(TEMPLATE, r.run)).toMatchObject({ state: 'Complete' });
  });
});

describe('a backup', () => {
  it('from an older operator (no DATAMOVER_LIVE_RUNS) deletes nothing', async () => {
    const bucket = 'older-operator';
    const current = runOf(dataMover('current-older'), '2026-03-02T00:00:00');
    const before = await snapshotBucket(s3, bucket);
    const result = await backUp(bucket, current);
    expect(result.code, result.output).toBe(0);
    expect(parseMoverResult(result.termination)).not.toHaveProperty('abandoned');
    const after = await snapshotBucket(s3, bucket);
    expectOnly(before, after, []);
    expect(createdOutside(before, after, current.run)).toEqual([]);
  });

  it("deletes the PVC's runs cut short by DataMovers that are gone, and changes nothing else", async () => {
    const bucket = 'live';
    const current = runOf(dataMover('current-live'), '2026-03-02T00:00:00');
    // What the operator passes: the DataMovers of the same root that exist, this one included.
    const live = liveRunsOf(current.d, [current.d, LIVE.d, OTHER_PVC.d]);
    expect(live).toEqual(['uid-current-live', 'uid-live']);
    const before = await snapshotBucket(s3, bucket);
    const result = await backUp(bucket, current, { live });
    expect(result.code, result.output).toBe(0);
    const removed = GONE.map((r) => r.run);
    expect(parseMoverResult(result.termination)?.abandoned).toEqual({ removed, removedCount: 3 });
    expect(result.output).toContain(`deleted 3 abandoned run(s) of PVC ns/data (${removed.join(', ')})`);
    const after = await snapshotBucket(s3, bucket);
    expectOnly(before, after, removed);
    expect(createdOutside(before, after, current.run)).toEqual([]);
    expect(await markerIn(bucket, current.run)).toMatchObject({ state: 'Complete' });
    expect(runFolders(after)).toEqual(
      runFolders(before)
        .filter((r) => !removed.includes(r))
        .concat(current.run)
        .sort(),
    );
  });
});

describe('a deletion of abandoned runs cut short', () => {
  const bucket = 'halfway';
  const [first, second, third] = GONE as [Run, Run, Run];
  const live = (r: Run) => liveRunsOf(r.d, [r.d, LIVE.d]);
  let start: Map<string, ObjectState>;
  const currents: Run[] = [];

  beforeAll(async () => {
    start = await snapshotBucket(s3, bucket);
  });

  it('keeps the backup, says why, and leaves the run it stopped at marked Deleting', async () => {
    const current = runOf(dataMover('current-halfway-1'), '2026-03-02T00:00:00');
    currents.push(current);
    proxy.refuse = (method, path) =>
      method === 'DELETE' && path === `/${bucket}/${ROOT}/${first.run}/data/db/data.db`;
    const before = await snapshotBucket(s3, bucket);
    const result = await backUp(bucket, current, { live: live(current), port: proxy.port });
    expect(result.code, result.output).toBe(0);
    const report = parseMoverResult(result.termination)?.abandoned;
    expect(report).toMatchObject({ removed: [], removedCount: 0 });
    expect(report?.error).toMatch(
      new RegExp(
        `cannot delete ${ROOT}/${first.run}/data/: .*; its \\.datamover\\.json says Deleting, and the next backup of this PVC finishes it`,
      ),
    );
    const marker = await markerIn(bucket, first.run);
    expect(marker).toMatchObject({ state: 'Deleting', dataMover: { uid: 'uid-gone-1' } });
    expect(marker?.abandoned).toBeDefined();
    const after = await snapshotBucket(s3, bucket);
    // Only the first run changed; the others are not reached.
    for (const [path, state] of before)
      if (folderOf(path) !== `${ROOT}/${first.run}`) expect(after.get(path), path).toEqual(state);
    expect(createdOutside(before, after, current.run)).toEqual([]);
    for (const r of [second, third])
      expect(await markerIn(bucket, r.run)).toMatchObject({ state: 'InProgress' });
  });

  it('is finished by the next backup, which may itself stop with a run marked Abandoned', async () => {
    const current = runOf(dataMover('current-halfway-2'), '2026-03-02T01:00:00');
    currents.push(current);
    // The Abandoned marker is written; the Deleting one is refused.
    let puts = 0;
    const markerOfSecond = `/${bucket}/${ROOT}/${second.run}/${MARKER}`;
    proxy.refuse = (method, path) => method === 'PUT' && path === markerOfSecond && puts++ >= 1;
    const before = await snapshotBucket(s3, bucket);
    const result = await backUp(bucket, current, { live: live(current), port: proxy.port });
    expect(result.code, result.output).toBe(0);
    const report = parseMoverResult(result.termination)?.abandoned;
    expect(report).toMatchObject({ removed: [first.run], removedCount: 1 });
    expect(report?.error).toMatch(
      new RegExp(
        `cannot mark ${ROOT}/${second.run}/ Deleting .*; it is intact, its \\.datamover\\.json says Abandoned, and the next backup of this PVC finishes it`,
      ),
    );
    expect(await markerIn(bucket, second.run)).toMatchObject({ state: 'Abandoned' });
    expect(await markerIn(bucket, third.run)).toMatchObject({ state: 'InProgress' });
    const after = await snapshotBucket(s3, bucket);
    for (const [path, state] of before) {
      if (folderOf(path) === `${ROOT}/${first.run}`) expect(after.has(path), path).toBe(false);
      else if (path !== `${ROOT}/${second.run}/${MARKER}`) expect(after.get(path), path).toEqual(state);
    }
  });

  it('leaves, after one more backup, the bucket as it was less the abandoned runs', async () => {
    const current = runOf(dataMover('current-halfway-3'), '2026-03-02T02:00:00');
    currents.push(current);
    proxy.refuse = () => false;
    const result = await backUp(bucket, current, { live: live(current) });
    expect(result.code, result.output).toBe(0);
    expect(parseMoverResult(result.termination)?.abandoned).toEqual({
      removed: [second.run, third.run],
      removedCount: 2,
    });
    const after = await snapshotBucket(s3, bucket);
    expectOnly(
      start,
      after,
      GONE.map((r) => r.run),
    );
    const created = [...after.keys()].filter((p) => !start.has(p));
    expect(created.filter((p) => !currents.some((c) => folderOf(p) === `${ROOT}/${c.run}`))).toEqual([]);
    for (const c of currents) expect(await markerIn(bucket, c.run)).toMatchObject({ state: 'Complete' });
  });
});
