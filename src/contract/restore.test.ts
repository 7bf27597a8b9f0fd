import { describe, expect, it } from 'vitest';
import { UNREADABLE, rootMarker, runMarker, type MarkerContent, type RunMarker } from './layout.js';
import { comparePaths, manifestLine, parseManifestLine, type ManifestEntry } from './manifest.js';
import { pickRun } from './restore.js';

const file: ManifestEntry = {
  path: 'db/data.db',
  type: 'file',
  size: 3,
  sha256: 'a'.repeat(64),
  md5: 'b'.repeat(32),
  mode: 0o600,
  uid: 999,
  gid: 999,
  mtimeMs: 1_600_000_000_123.5,
};
const link: ManifestEntry = {
  path: 'current',
  type: 'symlink',
  target: '/abs/target',
  mode: 0o777,
  uid: 0,
  gid: 0,
  mtimeMs: 1,
};

describe('manifest lines', () => {
  it('read back exactly what was written, for files, folders and links', () => {
    for (const e of [
      file,
      link,
      { path: 'empty dir', type: 'dir', mode: 0o711, uid: 1, gid: 2, mtimeMs: 0 } as const,
    ]) {
      expect(parseManifestLine(manifestLine(e))).toEqual(e);
    }
  });

  it('are the same bytes for the same entry, whatever order its fields were given in', () => {
    const reordered = Object.fromEntries(Object.entries(file).reverse()) as unknown as ManifestEntry;
    expect(manifestLine(reordered)).toBe(manifestLine(file));
  });

  it('refuse paths that leave the volume and entries missing what they need', () => {
    for (const path of ['/etc/passwd', '../up', 'a/../../b', 'a//b', './a', '']) {
      expect(parseManifestLine(manifestLine({ ...file, path })), path).toBeUndefined();
    }
    expect(parseManifestLine(JSON.stringify({ ...file, sha256: 'short' }))).toBeUndefined();
    expect(parseManifestLine(JSON.stringify({ ...link, target: undefined }))).toBeUndefined();
    expect(parseManifestLine(JSON.stringify({ ...file, type: 'fifo' }))).toBeUndefined();
    expect(parseManifestLine('not json')).toBeUndefined();
  });

  it('of an older manifest without MD5 still read', () => {
    const old = { ...file };
    delete old.md5;
    expect(parseManifestLine(JSON.stringify(old))).toEqual(old);
  });
});

describe('comparePaths', () => {
  it('orders a folder right before what it holds, as a depth-first walk with sorted names does', () => {
    const walked = ['a', 'a/b', 'a/b/c', 'a/z', 'a-b', 'a.b', 'b'];
    expect([...walked].sort(comparePaths)).toEqual(['a', 'a/b', 'a/b/c', 'a/z', 'a-b', 'a.b', 'b']);
    // Plain string order would put 'a-b' between 'a' and 'a/b': not the order of a walk.
    expect([...walked].sort()).not.toEqual(walked);
  });
});

describe('pickRun', () => {
  const id = { namespace: 'ns', pvc: 'data', dataMover: { name: 'dm', uid: 'u' } };
  const scope = { namespace: 'ns', pvc: 'data' };
  const run = (name: string, state: RunMarker['state'], start = name): RunMarker => ({
    ...runMarker(id, name, new Date(`${start.slice(0, 10)}T${start.slice(11, 13)}:00:00Z`)),
    state,
  });
  const markers = (entries: Array<[string, MarkerContent | undefined]>) => new Map(entries);

  it('picks the newest Complete backup for latest, never one InProgress, Deleting, unmarked or foreign', () => {
    const m = markers([
      ['2026-01-01-000000', run('2026-01-01-000000', 'Complete')],
      ['2026-01-02-000000', run('2026-01-02-000000', 'Complete')],
      ['2026-01-03-000000', run('2026-01-03-000000', 'InProgress')],
      ['2026-01-04-000000', run('2026-01-04-000000', 'Deleting')],
      ['2026-01-05-000000', undefined],
      ['2026-01-06-000000', UNREADABLE],
      ['2026-01-07-000000', { ...run('2026-01-07-000000', 'Complete'), pvc: 'other' }],
      ['2026-01-08-000000', rootMarker(id, new Date())],
    ]);
    expect(pickRun(m, 'latest', scope, 'b/ns/data/')).toMatchObject({ run: '2026-01-02-000000' });
  });

  it("reads an older operator's names and new ones alike, and never picks an Abandoned run", () => {
    const m = markers([
      ['2026-01-01-000000', run('2026-01-01-000000', 'Complete')],
      ['2026-01-02-000000-0a1b2c3d', run('2026-01-02-000000-0a1b2c3d', 'Complete')],
      ['2026-01-02-000000-ffffffff', run('2026-01-02-000000-ffffffff', 'Complete')],
      ['2026-01-03-000000-0a1b2c3d', run('2026-01-03-000000-0a1b2c3d', 'Abandoned')],
    ]);
    // Two runs of one second: the folder name breaks the tie.
    expect(pickRun(m, 'latest', scope, 'w')).toMatchObject({ run: '2026-01-02-000000-ffffffff' });
    expect(pickRun(m, '2026-01-01-000000', scope, 'w')).toMatchObject({ run: '2026-01-01-000000' });
    expect(pickRun(m, '2026-01-02-000000-0a1b2c3d', scope, 'w')).toMatchObject({
      run: '2026-01-02-000000-0a1b2c3d',
    });
    expect(pickRun(m, '2026-01-03-000000-0a1b2c3d', scope, 'w')).toEqual({
      error: expect.stringContaining('2026-01-03-000000-0a1b2c3d (Abandoned)'),
    });
  });

  it('weighs the mirror by its start time like any run', () => {
    const m = markers([
      ['2026-01-01-000000', run('2026-01-01-000000', 'Complete')],
      ['mirror', run('mirror', 'Complete', '2026-02-01-000000')],
    ]);
    expect(pickRun(m, 'latest', scope, 'w')).toMatchObject({ run: 'mirror' });
  });

  it('finds a named run only when it is a Complete backup of the PVC', () => {
    const m = markers([
      ['2026-01-01-000000', run('2026-01-01-000000', 'Complete')],
      ['2026-01-03-000000', run('2026-01-03-000000', 'InProgress')],
    ]);
    expect(pickRun(m, '2026-01-01-000000', scope, 'w')).toMatchObject({ run: '2026-01-01-000000' });
    expect(pickRun(m, '2026-01-03-000000', scope, 'b/ns/data/')).toEqual({
      error:
        'no Complete backup 2026-01-03-000000 of PVC ns/data in b/ns/data/: it holds 2026-01-03-000000 (InProgress), 2026-01-01-000000 (Complete)',
    });
  });

  it('says so when the root holds no run, and for latest names the PVC', () => {
    expect(pickRun(new Map(), 'latest', scope, 'b/r/')).toEqual({
      error: 'no Complete backup of PVC ns/data in b/r/: it holds no run',
    });
  });
});
