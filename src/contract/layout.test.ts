import { describe, expect, it } from 'vitest';
import {
  UNREADABLE,
  ancestorsOf,
  checkDestination,
  invalidRoot,
  isRunFolderName,
  markersToRead,
  parseMarker,
  rootMarker,
  runMarker,
  runFolderName,
  runSuffix,
  timestampFolder,
  type DestinationFacts,
  type Identity,
} from './layout.js';

const me: Identity = { namespace: 'ns', pvc: 'db', dataMover: { name: 'backup', uid: 'uid-1' } };
const T0 = new Date('2026-01-02T03:04:05Z');
const mine = rootMarker(me, T0);
const otherPvc = rootMarker({ ...me, pvc: 'other' }, T0);
const earlierRun = runMarker({ ...me, dataMover: { name: 'old', uid: 'uid-0' } }, '2026-01-01-000000', T0);

function facts(over: Partial<DestinationFacts> = {}): DestinationFacts {
  return {
    root: 'ns/db',
    run: '2026-01-02-030405',
    markersAbove: [],
    entries: [],
    markersBelow: [],
    contents: {},
    adopt: false,
    ...over,
  };
}

const refused = (f: DestinationFacts) => {
  const v = checkDestination(f, me);
  if (v.ok) throw new Error('expected a refusal');
  return v;
};

describe('the backup layout', () => {
  it("names runs by UTC start time and the DataMover's UID, or mirror, and knows no other run folder", () => {
    const uid = '0A1B2C3D-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    expect(timestampFolder(T0)).toBe('2026-01-02-030405');
    expect(runFolderName(true, T0, uid)).toBe('2026-01-02-030405-0a1b2c3d');
    expect(runFolderName(false, T0, uid)).toBe('mirror');
    // The same on every retry; another DataMover of the same second gets another folder.
    expect(runFolderName(true, T0, uid)).toBe(runFolderName(true, new Date(T0.getTime() + 999), uid));
    expect(runFolderName(true, T0, 'ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBe(
      '2026-01-02-030405-ffffffff',
    );
    // A UID that is not a UUID is hashed: still 8 hex digits, still its own.
    expect(runSuffix('uid-backup')).toMatch(/^[0-9a-f]{8}$/);
    expect(runSuffix('uid-backup')).toBe(runSuffix('uid-backup'));
    expect(runSuffix('uid-run-1')).not.toBe(runSuffix('uid-run-10'));
    // Run folders of older operators have no suffix and stay run folders.
    for (const name of ['2026-01-02-030405', '2026-01-02-030405-0a1b2c3d', 'mirror'])
      expect(isRunFolderName(name), name).toBe(true);
    for (const name of [
      '2026-01-02',
      'data',
      '2026-01-02-030405-0A1B2C3D',
      '2026-01-02-030405-0a1b2c3',
      '2026-01-02-030405-',
    ])
      expect(isRunFolderName(name), name).toBe(false);
  });

  it('lists the folders above a root, the bucket root first', () => {
    expect(ancestorsOf('a/b/c')).toEqual(['', 'a', 'a/b']);
    expect(ancestorsOf('a')).toEqual(['']);
  });

  it.each([
    ['', /empty/],
    ['a//b', /empty or blank/],
    ['a/ /b', /empty or blank/],
    ['a/../b', /'\.' or '\.\.'/],
    ['a/\u0007', /control character/],
  ])('refuses the root %j', (root, message) => {
    expect(invalidRoot(root)).toMatch(message);
  });

  it('reads only markers of its own format', () => {
    expect(parseMarker(JSON.stringify(mine))).toEqual(mine);
    expect(parseMarker(JSON.stringify(earlierRun))).toEqual(earlierRun);
    expect(parseMarker('{"format":1,"kind":"Backup","namespace":"ns","pvc":"db"}')).toBeUndefined();
    expect(parseMarker('not json')).toBeUndefined();
  });

  it('records the schedule of a scheduled run in its marker, and reads markers with or without one', () => {
    const scheduled = runMarker({ ...me, schedule: 'nightly' }, '2026-01-01-000000', T0);
    expect(scheduled.schedule).toBe('nightly');
    expect(parseMarker(JSON.stringify(scheduled))).toEqual(scheduled);
    expect(earlierRun).not.toHaveProperty('schedule');
    expect(parseMarker(JSON.stringify({ ...earlierRun, schedule: 7 }))).toEqual(earlierRun);
    expect(parseMarker(JSON.stringify({ ...scheduled, state: 'Deleting' }))).toMatchObject({
      state: 'Deleting',
      schedule: 'nightly',
    });
  });
});

describe('a run marker of an abandoned run', () => {
  it('reads state Abandoned and the time it was found so, and drops an abandoned field that is no time', () => {
    const abandoned = { ...earlierRun, state: 'Abandoned' as const, abandoned: T0.toISOString() };
    expect(parseMarker(JSON.stringify(abandoned))).toEqual(abandoned);
    const deleting = { ...abandoned, state: 'Deleting' as const };
    expect(parseMarker(JSON.stringify(deleting))).toEqual(deleting);
    expect(parseMarker(JSON.stringify({ ...earlierRun, abandoned: 1 }))).toEqual(earlierRun);
  });
});

describe('checkDestination', () => {
  it('takes an empty root and marks it', () => {
    expect(checkDestination(facts(), me)).toEqual({ ok: true, writeRootMarker: true });
  });

  it("adds a run to its own PVC's root beside the earlier runs (old and new names) and the mirror", () => {
    const f = facts({
      run: '2026-01-02-030405-0a1b2c3d',
      entries: ['.datamover.json', '2026-01-01-000000', '2026-01-02-030405-ffffffff', 'mirror'],
      markersBelow: [
        '.datamover.json',
        '2026-01-01-000000/.datamover.json',
        '2026-01-02-030405-ffffffff/.datamover.json',
        'mirror/.datamover.json',
      ],
      contents: { 'ns/db/.datamover.json': mine },
    });
    expect(checkDestination(f, me)).toEqual({ ok: true, writeRootMarker: false });
  });

  it('refuses a root inside another backup, naming its marker and owner', () => {
    const v = refused(
      facts({ markersAbove: ['ns/.datamover.json'], contents: { 'ns/.datamover.json': otherPvc } }),
    );
    expect(v.object).toBe('ns/.datamover.json');
    expect(v.message).toMatch(
      /lies inside another backup: ns\/\.datamover\.json marks the backups of PVC ns\/other/,
    );
  });

  it('refuses a root inside a run folder even when the marker cannot be read', () => {
    const v = refused(facts({ markersAbove: ['ns/db/mirror/.datamover.json'], contents: {} }));
    expect(v.message).toMatch(/its marker cannot be read/);
  });

  it("refuses another PVC's root", () => {
    const f = facts({
      entries: ['.datamover.json'],
      markersBelow: ['.datamover.json'],
      contents: { 'ns/db/.datamover.json': otherPvc },
    });
    expect(refused(f).message).toMatch(/holds the backups of PVC ns\/other/);
  });

  it('refuses a root holding another backup below it', () => {
    const f = facts({
      root: 'ns',
      entries: ['db'],
      markersBelow: ['db/.datamover.json', 'db/mirror/.datamover.json'],
      contents: { 'ns/db/.datamover.json': mine },
    });
    const v = refused(f);
    expect(v.object).toBe('ns/db/.datamover.json');
    expect(v.message).toMatch(/another backup lies below destination ns\//);
  });

  it('refuses a marker below a managed root that is not one of its runs', () => {
    const f = facts({
      entries: ['.datamover.json', 'x'],
      markersBelow: ['.datamover.json', 'x/y/.datamover.json'],
      contents: { 'ns/db/.datamover.json': mine, 'ns/db/x/y/.datamover.json': otherPvc },
    });
    expect(refused(f).object).toBe('ns/db/x/y/.datamover.json');
  });

  it('refuses a folder holding objects no DataMover wrote, unless asked to adopt it', () => {
    const f = facts({ entries: ['old-backup.tar'] });
    expect(refused(f).message).toMatch(/holds objects that no DataMover wrote \(ns\/db\/old-backup\.tar\)/);
    expect(checkDestination({ ...f, adopt: true }, me)).toEqual({ ok: true, writeRootMarker: true });
  });

  it('never adopts a folder holding markers of its own', () => {
    const f = facts({
      entries: ['2026-01-01-000000'],
      markersBelow: ['2026-01-01-000000/.datamover.json'],
      adopt: true,
    });
    expect(refused(f).object).toBe('ns/db/2026-01-01-000000/.datamover.json');
  });

  it('never overwrites a run folder of the same name by another DataMover (an older operator names runs by the second)', () => {
    const run = '2026-01-02-030405';
    const f = facts({
      entries: ['.datamover.json', run],
      markersBelow: ['.datamover.json', `${run}/.datamover.json`],
      contents: { 'ns/db/.datamover.json': mine, [`ns/db/${run}/.datamover.json`]: { ...earlierRun, run } },
    });
    expect(refused(f).message).toMatch(
      /already holds the backup 2026-01-02-030405 of PVC ns\/db by DataMover old/,
    );
    // The same DataMover's retry carries on.
    const retry = {
      ...f,
      contents: { ...f.contents, [`ns/db/${run}/.datamover.json`]: runMarker(me, run, T0) },
    };
    expect(checkDestination(retry, me).ok).toBe(true);
  });

  it("replaces its PVC's mirror, whichever DataMover wrote it", () => {
    const f = facts({
      run: 'mirror',
      entries: ['.datamover.json', 'mirror'],
      markersBelow: ['.datamover.json', 'mirror/.datamover.json'],
      contents: {
        'ns/db/.datamover.json': mine,
        'ns/db/mirror/.datamover.json': { ...earlierRun, run: 'mirror' },
      },
    });
    expect(checkDestination(f, me)).toEqual({ ok: true, writeRootMarker: false });
    const unreadable = { ...f, contents: { ...f.contents, 'ns/db/mirror/.datamover.json': UNREADABLE } };
    expect(refused(unreadable).message).toMatch(/marker that cannot be read/);
  });

  it('reads at most the markers that decide: above, its own root and run, and the first foreign one', () => {
    const f = facts({
      markersAbove: ['.datamover.json', 'ns/.datamover.json'],
      markersBelow: [
        '.datamover.json',
        '2026-01-01-000000/.datamover.json',
        'x/.datamover.json',
        'y/.datamover.json',
      ],
    });
    expect(markersToRead(f)).toEqual(['.datamover.json', 'ns/db/.datamover.json', 'ns/db/x/.datamover.json']);
  });
});

describe('a run marker with a manifest', () => {
  it('keeps the manifest and encryption it records, and drops ones it cannot read', () => {
    const manifest = { entries: 3, bytes: 400, sha256: 'c'.repeat(64) };
    const marker = { ...earlierRun, state: 'Complete', manifest, encrypted: true };
    expect(parseMarker(JSON.stringify(marker))).toMatchObject({ manifest, encrypted: true });
    const bad = parseMarker(JSON.stringify({ ...marker, manifest: { entries: -1 }, encrypted: 'yes' }));
    expect(bad).not.toHaveProperty('manifest');
    expect(bad).not.toHaveProperty('encrypted');
  });
});
