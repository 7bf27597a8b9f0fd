import { describe, expect, it } from 'vitest';
import { UNREADABLE, runMarker, timestampFolder, type MarkerContent, type RunMarker } from './layout.js';
import {
  invalidKeepPolicy,
  isoWeek,
  parseKeepPolicy,
  parseLiveRuns,
  planAbandoned,
  planPrune,
  selectRetention,
  timeOfRun,
  type Backup,
  type KeepPolicy,
} from './retention.js';

const DAY = 86_400_000;
const backupAt = (t: Date): Backup => ({ run: timestampFolder(t), time: t });
const daily = (from: string, days: number) =>
  Array.from({ length: days }, (_, i) => backupAt(new Date(new Date(from).getTime() + i * DAY)));
const kept = (backups: Backup[], keep: KeepPolicy) => selectRetention(backups, keep).keep.map((k) => k.run);

describe('selectRetention', () => {
  it("keeps the last four of twelve Sunday backups with daily 4 (restic's documented example)", () => {
    const sundays = Array.from({ length: 12 }, (_, i) =>
      backupAt(new Date(Date.UTC(2019, 8, 1 + 7 * i, 11, 0, 0))),
    );
    const out = selectRetention(sundays, { daily: 4 });
    expect(out.keep).toEqual(
      ['2019-11-17-110000', '2019-11-10-110000', '2019-11-03-110000', '2019-10-27-110000'].map((run) => ({
        run,
        reasons: ['daily'],
      })),
    );
    expect(out.remove).toHaveLength(8);
    expect(out.remove.at(-1)).toBe('2019-09-01-110000');
  });

  it('keeps 7 dailies, 4 more weeklies and the month ends of daily backups with daily 7, weekly 5, monthly 12 (restic: the dailies already hold a weekly)', () => {
    // Daily backups for two years, the newest on Sunday 2025-12-28: the 7 dailies are exactly one
    // ISO week, so weekly adds 4; the month ends of December and November are kept already.
    const backups = daily('2024-01-01T02:00:00Z', 728);
    expect(backups.at(-1)!.run).toBe('2025-12-28-020000');
    const out = selectRetention(backups, { daily: 7, weekly: 5, monthly: 12 });
    const by = (rule: string) =>
      out.keep.filter((k) => k.reasons.includes(rule)).map((k) => k.run.slice(0, 10));
    expect(by('daily')).toEqual([
      '2025-12-28',
      '2025-12-27',
      '2025-12-26',
      '2025-12-25',
      '2025-12-24',
      '2025-12-23',
      '2025-12-22',
    ]);
    expect(by('weekly')).toEqual(['2025-12-28', '2025-12-21', '2025-12-14', '2025-12-07', '2025-11-30']);
    expect(by('monthly')).toEqual([
      '2025-12-28',
      '2025-11-30',
      '2025-10-31',
      '2025-09-30',
      '2025-08-31',
      '2025-07-31',
      '2025-06-30',
      '2025-05-31',
      '2025-04-30',
      '2025-03-31',
      '2025-02-28',
      '2025-01-31',
    ]);
    expect(out.keep).toHaveLength(7 + 4 + 10);
    expect(out.keep.length + out.remove.length).toBe(728);
  });

  it('keeps what any one rule keeps, and nothing else', () => {
    const backups = [...daily('2026-01-01T00:00:00Z', 40), ...daily('2026-01-01T12:30:00Z', 40)];
    const policy = { last: 3, hourly: 5, daily: 4, weekly: 3, monthly: 2 };
    const union = new Set(
      Object.entries(policy).flatMap(([rule, n]) => kept(backups, { [rule]: n } as KeepPolicy)),
    );
    expect(new Set(kept(backups, policy))).toEqual(union);
  });

  it('keeps the N newest with last, whatever their periods', () => {
    const backups = daily('2026-03-01T00:00:00Z', 5);
    expect(kept(backups, { last: 2 })).toEqual(['2026-03-05-000000', '2026-03-04-000000']);
    expect(kept(backups, { last: 9 })).toHaveLength(5);
  });

  it('keeps the newest backup of each hour, skipping hours without one', () => {
    const at = (h: number, m: number) => backupAt(new Date(Date.UTC(2026, 0, 1, h, m)));
    const backups = [at(1, 0), at(1, 30), at(3, 0), at(3, 45), at(4, 10)];
    expect(kept(backups, { hourly: 2 })).toEqual(['2026-01-01-041000', '2026-01-01-034500']);
    expect(kept(backups, { hourly: 3 })).toContain('2026-01-01-013000');
  });

  it('counts days and weeks in UTC, weeks from Monday', () => {
    // 23:30 UTC on Sunday and 00:30 UTC on Monday: two days, two ISO weeks.
    const sunday = backupAt(new Date('2026-01-04T23:30:00Z'));
    const monday = backupAt(new Date('2026-01-05T00:30:00Z'));
    expect(kept([sunday, monday], { daily: 2 })).toEqual([monday.run, sunday.run]);
    expect(kept([sunday, monday], { weekly: 2 })).toEqual([monday.run, sunday.run]);
    expect(kept([monday, backupAt(new Date('2026-01-11T23:59:59Z'))], { weekly: 1 })).toEqual([
      '2026-01-11-235959',
    ]);
  });

  it.each([
    ['2026-01-05T00:00:00Z', '2026-W02'],
    ['2026-01-04T23:59:59Z', '2026-W01'],
    ['2025-12-29T00:00:00Z', '2026-W01'],
    ['2021-01-03T12:00:00Z', '2020-W53'],
    ['2024-12-30T12:00:00Z', '2025-W01'],
  ])('puts %s in ISO week %s', (t, week) => {
    expect(isoWeek(new Date(t))).toBe(week);
  });

  it('keeps fewer than N when fewer periods have a backup, and no oldest one besides', () => {
    const backups = daily('2026-01-01T00:00:00Z', 10);
    const out = selectRetention(backups, { monthly: 6 });
    expect(out.keep).toEqual([{ run: '2026-01-10-000000', reasons: ['monthly'] }]);
    expect(out.remove).toHaveLength(9);
  });

  it('names every rule that keeps a backup', () => {
    const out = selectRetention(daily('2026-01-01T00:00:00Z', 3), {
      last: 1,
      daily: 2,
      weekly: 1,
      monthly: 1,
    });
    expect(out.keep).toEqual([
      { run: '2026-01-03-000000', reasons: ['last', 'daily', 'weekly', 'monthly'] },
      { run: '2026-01-02-000000', reasons: ['daily'] },
    ]);
  });

  it('gives the same answer for any order of its input', () => {
    const backups = [...daily('2026-01-01T00:00:00Z', 20), ...daily('2026-01-01T06:00:00Z', 20)];
    const policy = { last: 2, daily: 5, weekly: 2 };
    const expected = selectRetention(backups, policy);
    for (const shuffled of [[...backups].reverse(), [...backups].sort(() => 0.5 - Math.random())])
      expect(selectRetention(shuffled, policy)).toEqual(expected);
  });
});

describe('invalidKeepPolicy', () => {
  it.each([
    [{ last: 1 }, undefined],
    [{ daily: 0, weekly: 2 }, undefined],
    [{ last: 1, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, undefined],
    [{}, /keeps nothing/],
    [{ last: 0, daily: 0 }, /keeps nothing/],
    [{ last: -1 }, /keep\.last must be a non-negative integer, not -1/],
    [{ daily: 1.5 }, /keep\.daily must be a non-negative integer, not 1\.5/],
    [{ weekly: '3' }, /keep\.weekly must be a non-negative integer, not "3"/],
    [{ yearly: 1 }, /unknown rules yearly/],
    [null, /must be an object/],
    [[1], /must be an object/],
  ])('judges %j: %s', (keep, expected) => {
    const problem = invalidKeepPolicy(keep);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });

  it('reads a policy from JSON, or says what is wrong with it', () => {
    expect(parseKeepPolicy('{"daily":7,"weekly":4}')).toEqual({ keep: { daily: 7, weekly: 4 } });
    expect(parseKeepPolicy('{daily: 7}')).toEqual({ error: 'the keep policy is not JSON' });
    expect(parseKeepPolicy('{"last":0}')).toMatchObject({ error: expect.stringMatching(/keeps nothing/) });
  });
});

describe('timeOfRun', () => {
  it('reads the UTC time a run folder names, and nothing else', () => {
    expect(timeOfRun('2026-01-02-030405')).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(timeOfRun('2026-01-02-030405-0a1b2c3d')).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(timeOfRun('2026-01-02-030405-0a1b2c3')).toBeUndefined();
    expect(timeOfRun('2026-02-30-000000-0a1b2c3d')).toBeUndefined();
    expect(timeOfRun('mirror')).toBeUndefined();
    expect(timeOfRun('2026-02-30-000000')).toBeUndefined();
    expect(timeOfRun('2026-01-02-250000')).toBeUndefined();
  });
});

describe('planPrune', () => {
  const scope = { namespace: 'ns', pvc: 'db', schedule: 'nightly', current: '2026-01-10-000000' };
  const marker = (run: string, over: Partial<RunMarker> = {}): RunMarker => ({
    ...runMarker(
      {
        namespace: 'ns',
        pvc: 'db',
        dataMover: { name: `nightly-${run}`, uid: `u-${run}` },
        schedule: 'nightly',
      },
      run,
      timeOfRun(run) ?? new Date(0),
    ),
    state: 'Complete',
    ...over,
  });
  const runs = (day: number) => `2026-01-${String(day).padStart(2, '0')}-000000`;

  it('weighs only Complete runs of this schedule, PVC and namespace, and touches nothing else', () => {
    const markers = new Map<string, MarkerContent | undefined>([
      [runs(1), marker(runs(1))],
      [runs(2), marker(runs(2))],
      [runs(3), marker(runs(3), { schedule: 'hourly' })],
      [runs(4), (({ schedule: _s, ...manual }) => manual)(marker(runs(4)))],
      [runs(5), marker(runs(5), { state: 'InProgress' })],
      [runs(6), undefined],
      [runs(7), UNREADABLE],
      [runs(8), marker(runs(8), { pvc: 'other' })],
      [runs(9), marker(runs(9), { namespace: 'other' })],
      ['2026-01-09-120000', marker(runs(2))], // a marker copied from another folder
      ['mirror', marker('mirror')],
      [scope.current, marker(scope.current)],
    ]);
    const plan = planPrune(markers, scope, { last: 2 });
    expect(plan).toEqual({
      keep: [
        { run: scope.current, reasons: ['last'] },
        { run: runs(2), reasons: ['last'] },
      ],
      remove: [runs(1)],
      finish: [],
    });
  });

  it('never removes the run just written, and counts it even when its marker cannot be read', () => {
    const markers = new Map<string, MarkerContent | undefined>([
      [runs(11), marker(runs(11))],
      [runs(12), marker(runs(12))],
      [scope.current, UNREADABLE],
    ]);
    expect(planPrune(markers, scope, { last: 1 })).toEqual({
      keep: [
        { run: runs(12), reasons: ['last'] },
        { run: scope.current, reasons: ['current'] },
      ],
      remove: [runs(11)],
      finish: [],
    });
    expect(planPrune(markers, scope, { last: 2 }).remove).toEqual([]);
  });

  it('removes the oldest first, and finishes first what an interrupted prune left Deleting', () => {
    const markers = new Map<string, MarkerContent | undefined>([
      [runs(1), marker(runs(1))],
      [runs(2), marker(runs(2), { state: 'Deleting' })],
      [runs(3), marker(runs(3))],
      [runs(4), marker(runs(4), { state: 'Deleting', schedule: 'hourly' })],
      [scope.current, marker(scope.current)],
    ]);
    const plan = planPrune(markers, scope, { last: 1 });
    expect(plan.finish).toEqual([runs(2)]);
    expect(plan.remove).toEqual([runs(1), runs(3)]);
  });
});

describe('planPrune with run folders of old and new names', () => {
  const marker = (run: string, schedule: string): RunMarker => ({
    ...runMarker(
      { namespace: 'ns', pvc: 'db', dataMover: { name: `${schedule}-${run}`, uid: `u-${run}` }, schedule },
      run,
      timeOfRun(run)!,
    ),
    state: 'Complete',
  });

  it("weighs an older operator's names and new ones by their time, and each schedule only its own", () => {
    // Schedules a and b fire in the same seconds; an older operator wrote the first day's runs.
    const current = '2026-01-03-000000-aaaaaaa3';
    const markers = new Map<string, MarkerContent | undefined>([
      ['2026-01-01-000000', marker('2026-01-01-000000', 'a')],
      ['2026-01-02-000000-aaaaaaa2', marker('2026-01-02-000000-aaaaaaa2', 'a')],
      ['2026-01-02-000000-bbbbbbb2', marker('2026-01-02-000000-bbbbbbb2', 'b')],
      ['2026-01-03-000000-bbbbbbb3', marker('2026-01-03-000000-bbbbbbb3', 'b')],
      [current, marker(current, 'a')],
    ]);
    const scope = { namespace: 'ns', pvc: 'db', schedule: 'a', current };
    expect(planPrune(markers, scope, { last: 1 })).toEqual({
      keep: [{ run: current, reasons: ['last'] }],
      remove: ['2026-01-01-000000', '2026-01-02-000000-aaaaaaa2'],
      finish: [],
    });
    expect(planPrune(markers, scope, { last: 2 }).keep.map((k) => k.run)).toEqual([
      current,
      '2026-01-02-000000-aaaaaaa2',
    ]);
    expect(planPrune(markers, { ...scope, schedule: 'b' }, { daily: 1 }).remove).toEqual([
      '2026-01-02-000000-bbbbbbb2',
    ]);
  });

  it('orders two runs of one second by name, and keeps the one just written whatever its name', () => {
    const markers = new Map<string, MarkerContent | undefined>([
      ['2026-01-02-000000', marker('2026-01-02-000000', 'a')],
      ['2026-01-02-000000-ffffffff', marker('2026-01-02-000000-ffffffff', 'a')],
    ]);
    const scope = { namespace: 'ns', pvc: 'db', schedule: 'a', current: '2026-01-02-000000-00000000' };
    expect(planPrune(markers, scope, { last: 1 })).toEqual({
      keep: [
        { run: '2026-01-02-000000-ffffffff', reasons: ['last'] },
        { run: scope.current, reasons: ['current'] },
      ],
      remove: ['2026-01-02-000000'],
      finish: [],
    });
  });
});

describe('planAbandoned', () => {
  const current = '2026-01-10-000000-cccccccc';
  const scope = { namespace: 'ns', pvc: 'db', current, uid: 'u-me', live: new Set(['u-me', 'u-live']) };
  const marker = (run: string, uid: string, over: Partial<RunMarker> = {}): RunMarker => ({
    ...runMarker({ namespace: 'ns', pvc: 'db', dataMover: { name: `dm-${uid}`, uid } }, run, new Date(0)),
    ...over,
  });
  const day = (d: number, suffix = '') => `2026-01-0${d}-000000${suffix}`;

  it('abandons only InProgress runs of the PVC whose DataMover is gone, and finishes what an earlier run began', () => {
    const markers = new Map<string, MarkerContent | undefined>([
      [day(1), marker(day(1), 'u-gone')], // an older operator's name
      [day(2, '-aaaaaaaa'), marker(day(2, '-aaaaaaaa'), 'u-gone2', { schedule: 'nightly' })],
      [day(3, '-bbbbbbbb'), marker(day(3, '-bbbbbbbb'), 'u-live')],
      [day(4, '-dddddddd'), marker(day(4, '-dddddddd'), 'u-gone', { state: 'Complete' })],
      [day(5, '-eeeeeeee'), marker(day(5, '-eeeeeeee'), 'u-gone', { state: 'Abandoned', abandoned: 'x' })],
      [day(6, '-ffffffff'), marker(day(6, '-ffffffff'), 'u-gone', { state: 'Deleting', abandoned: 'x' })],
      [day(7, '-00000000'), marker(day(7, '-00000000'), 'u-gone', { state: 'Deleting' })], // a prune's
      [day(8, '-11111111'), marker(day(8, '-11111111'), 'u-gone', { pvc: 'other' })],
      [day(9, '-22222222'), marker(day(9, '-22222222'), 'u-gone', { namespace: 'other' })],
      ['2026-01-09-000001', undefined],
      ['2026-01-09-000002', UNREADABLE],
      ['2026-01-09-000003', marker(day(1), 'u-gone')], // a marker copied from another folder
      ['2026-01-09-000004', marker('2026-01-09-000004', 'u-me')],
      ['mirror', marker('mirror', 'u-gone')],
      [current, marker(current, 'u-other')],
    ]);
    expect(planAbandoned(markers, scope)).toEqual({
      abandon: [day(1), day(2, '-aaaaaaaa')],
      finish: [day(5, '-eeeeeeee'), day(6, '-ffffffff')],
    });
    expect(
      planAbandoned(markers, { ...scope, live: new Set(['u-me', 'u-live', 'u-gone', 'u-gone2']) }),
    ).toEqual({
      abandon: [],
      finish: [],
    });
  });
});

describe('parseLiveRuns', () => {
  it('reads comma-separated UIDs, and nothing from an absent or blank variable', () => {
    expect(parseLiveRuns('a, b,,c ')).toEqual(new Set(['a', 'b', 'c']));
    expect(parseLiveRuns(undefined)).toBeUndefined();
    expect(parseLiveRuns(' , ')).toBeUndefined();
  });
});
