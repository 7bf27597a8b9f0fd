// The apiserver itself rejects bad DataMovers with a clear message, from the CRD's schema and CEL rules.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, dataMover, deleteNamespace, kubectl, kubectlOk } from '../support/cluster.js';

let ns: string;

beforeAll(async () => {
  ns = await createNamespace('dm-valid');
});

afterAll(async () => {
  await deleteNamespace(ns);
});

async function applyResult(obj: object) {
  return kubectl(['apply', '-n', ns, '-f', '-'], stringify(obj));
}

describe('kubectl apply of a DataMover', () => {
  it.each([
    ['a missing sourcePvc', { secretName: 'bucket' }, /spec.sourcePvc: Required value/],
    [
      'a malformed sourcePvc name',
      { sourcePvc: 'Not_A_Name' },
      /spec.sourcePvc: Invalid value: "Not_A_Name"/,
    ],
    [
      'a negative backoffLimit',
      { sourcePvc: 'src', backoffLimit: -1 },
      /spec.backoffLimit: Invalid value: -1: spec.backoffLimit in body should be greater than or equal to 0/,
    ],
    [
      'an unknown pull policy',
      { sourcePvc: 'src', image: { pullPolicy: 'Sometimes' } },
      /spec.image.pullPolicy: Unsupported value: "Sometimes"/,
    ],
    [
      'credentials in additionalEnv',
      { sourcePvc: 'src', additionalEnv: [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'x' }] },
      /additionalEnv AWS_SECRET_ACCESS_KEY is refused: the operator and the bucket Secret/,
    ],
    [
      'a destination override in additionalEnv',
      { sourcePvc: 'src', additionalEnv: [{ name: 'DATAMOVER_DESTINATION_PATH', value: 'elsewhere' }] },
      /additionalEnv DATAMOVER_DESTINATION_PATH is refused: the operator and the bucket Secret/,
    ],
    [
      "an rclone endpoint override in additionalEnv (rclone ranks it above the mover's remote)",
      {
        sourcePvc: 'src',
        additionalEnv: [
          { name: 'RCLONE_TRANSFERS', value: '8' },
          { name: 'RCLONE_S3_ENDPOINT', value: 'https://elsewhere' },
        ],
      },
      /additionalEnv RCLONE_S3_ENDPOINT is refused: rclone \(every RCLONE_\* is a flag/,
    ],
    [
      'a destinationPath that climbs out',
      { sourcePvc: 'src', destinationPath: 'team/../other' },
      /destinationPath may not contain/,
    ],
    [
      'a root mover UID',
      { sourcePvc: 'src', securityContext: { runAsUser: 0 } },
      /spec.securityContext.runAsUser: Invalid value: 0/,
    ],
  ])('rejects %s', async (_what, spec, message) => {
    const result = await applyResult(dataMover('bad', spec));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    ['/', /destinationPath must name a folder/],
    ['//', /destinationPath must name a folder/],
    ['   ', /destinationPath must name a folder/],
    [' / ', /destinationPath must name a folder/],
    ['team//db', /destinationPath may not contain '\/\/'/],
    ['team/./db', /destinationPath may not contain '.' or '..' segments/],
    ['team/ /db', /destinationPath may not contain a blank folder name/],
    ['team/db\u0001x', /destinationPath may not contain control characters/],
    ['team/db\nx', /destinationPath may not contain control characters/],
  ])('rejects the destinationPath %j, which could reach another backup', async (destinationPath, message) => {
    const result = await applyResult(dataMover('bad', { sourcePvc: 'src', destinationPath }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('rejects a malformed DataMover name', async () => {
    const result = await applyResult(dataMover('Bad_Name', { sourcePvc: 'src' }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/metadata.name: Invalid value: "Bad_Name"/);
  });

  it('rejects any change to spec after creation', async () => {
    await kubectlOk(['apply', '-n', ns, '-f', '-'], stringify(dataMover('fixed', { sourcePvc: 'src' })));
    const edit = await applyResult(dataMover('fixed', { sourcePvc: 'other' }));
    expect(edit.code).not.toBe(0);
    expect(edit.stderr).toMatch(/spec is immutable: a DataMover records one run/);
    const labels = await kubectl(['label', 'dm', 'fixed', '-n', ns, 'team=a']);
    expect(labels.code).toBe(0);
  });

  it('documents every field for kubectl explain', async () => {
    const explain = await kubectlOk(['explain', 'datamover.spec', '--recursive=false']);
    for (const field of [
      'sourcePvc',
      'secretName',
      'deletePvcAfterBackup',
      'destinationPath',
      'backoffLimit',
      'ttlSecondsAfterFinished',
    ]) {
      expect(explain).toContain(field);
    }
    const status = await kubectlOk(['explain', 'datamover.status.phaseStartTime']);
    expect(status).toContain('persisted so durations survive restarts');
  });
});

describe('kubectl apply of a DataMoverSchedule', () => {
  const schedule = (spec: Record<string, unknown>) => ({
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverSchedule',
    metadata: { name: 'sched' },
    spec: { schedule: '0 3 * * *', sourcePvc: 'src', template: { secretName: 'bucket' }, ...spec },
  });
  it.each([
    ['words for a schedule', { schedule: 'every night' }, /schedule must be a cron expression of 5 fields/],
    ['a schedule of 4 fields', { schedule: '0 3 * *' }, /schedule must be a cron expression of 5 fields/],
    ['an unknown time zone', { timeZone: 'Mars/Base' }, /timeZone must be an IANA time zone name/],
    [
      'an offset for a time zone',
      { timeZone: '+01:00' },
      /timeZone must be .*: not empty, no blanks, not an offset/,
    ],
    ['an empty time zone', { timeZone: '' }, /timeZone must be .*: not empty, no blanks, not an offset/],
    ['a time zone with a blank', { timeZone: 'Europe/Berlin ' }, /timeZone must be .*: not empty, no blanks/],
    [
      'Local for a time zone',
      { timeZone: 'Local' },
      /timeZone Local is refused: it means the clock of whichever machine/,
    ],
    [
      'a zoneinfo file for a time zone',
      { timeZone: 'posixrules' },
      /posixrules, Factory and the posix\/ and right\/ variants are files/,
    ],
    [
      'a zoneinfo variant for a time zone',
      { timeZone: 'posix/Europe/Berlin' },
      /are files of the zoneinfo folder/,
    ],
    [
      'February 30th',
      { schedule: '0 0 30 2 *' },
      /schedule never fires: none of its months has its day of month/,
    ],
    [
      'the 31st of February',
      { schedule: '0 3 31 FEB */2' },
      /schedule never fires: .*February has no 30th or 31st/,
    ],
    [
      'the 31st of months of 30 days',
      { schedule: '0 3 31 4,6,SEP,nov *' },
      /schedule never fires: .*April, June, September and November have no 31st/,
    ],
    [
      'both sourcePvc and a selector',
      { selector: { matchLabels: { backup: 'enabled' } } },
      /set exactly one of sourcePvc and selector/,
    ],
    ['an empty selector', { sourcePvc: undefined, selector: {} }, /an empty selector would select every PVC/],
    ['a keep policy that keeps nothing', { keep: { daily: 0 } }, /keeps nothing/],
    [
      'a keep policy for mirror runs',
      { keep: { daily: 7 }, template: { addTimestampPrefix: false } },
      /keep prunes timestamped backups/,
    ],
    ['an unknown concurrency policy', { concurrencyPolicy: 'Sometimes' }, /Unsupported value: "Sometimes"/],
  ])('refuses %s with a message', async (_what, spec, message) => {
    const r = await applyResult(schedule(spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('accepts ranges, steps, lists, names, macros and IANA zones', async () => {
    const expressions = ['*/15 * * * *', '0 2 * * MON-FRI', '0 0 1,15 * *', '@weekly', '0 0 29 2 *'];
    // Days that exist in one of the months, or a weekday that fires on its own (either field matches).
    expressions.push('0 0 30 2 MON', '0 0 31 1,2 *', '0 0 30 4 *', '0 0 31 * *');
    for (const [i, expression] of expressions.entries()) {
      const r = await applyResult({
        ...schedule({ timeZone: 'America/New_York', schedule: expression }),
        metadata: { name: `ok-${i}` },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('accepts UTC, zones with and without an area, and the examples of config/samples and the docs', async () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'EST5EDT'];
    const objects = zones.map((timeZone, i) => ({
      ...schedule({ timeZone }),
      metadata: { name: `zone-${i}` },
    }));
    const readme = ['README.md', 'docs/schedules.md'].map((f) => readFileSync(f, 'utf8')).join('\n');
    const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((text) => /^kind: DataMoverSchedule$/m.test(text));
    expect(examples.length).toBeGreaterThan(0);
    const input = [
      ...objects.map((o) => stringify(o)),
      ...examples,
      readFileSync('config/samples/schedule.yaml', 'utf8'),
    ];
    const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], input.join('\n---\n'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(input.length);
  });
});

describe('kubectl apply of a DataMoverRestore', () => {
  const backupSource = { backup: { secretName: 'bucket', sourcePvc: 'src' } };
  const restore = (spec: Record<string, unknown>, name = 'back') => ({
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverRestore',
    metadata: { name },
    spec: { source: backupSource, target: { newPvc: { name: 'src-restored' } }, ...spec },
  });
  it.each([
    [
      'both a backup and a schedule as its source',
      { source: { ...backupSource, schedule: { name: 'nightly', pvc: 'src' } } },
      /set exactly one of source.backup and source.schedule/,
    ],
    ['no source at all', { source: {} }, /set exactly one of source.backup and source.schedule/],
    [
      'a backup source without the PVC whose backups they are',
      { source: { backup: { secretName: 'bucket' } } },
      /spec.source.backup.sourcePvc: Required value/,
    ],
    [
      'a schedule source without its PVC',
      { source: { schedule: { name: 'nightly' } } },
      /spec.source.schedule.pvc: Required value/,
    ],
    [
      'both a new and an existing PVC as its target',
      { target: { newPvc: { name: 'a' }, existingPvc: 'b' } },
      /set exactly one of target.newPvc and target.existingPvc/,
    ],
    ['no target at all', { target: {} }, /set exactly one of target.newPvc and target.existingPvc/],
    [
      'a malformed PVC name',
      { target: { existingPvc: 'Not_A_Name' } },
      /spec.target.existingPvc: Invalid value/,
    ],
    [
      'a size that is not a quantity',
      { target: { newPvc: { name: 'a', size: 'lots' } } },
      /spec.target.newPvc.size/,
    ],
    ['a run that is no run folder', { run: 'yesterday' }, /spec.run: Invalid value: "yesterday"/],
    ['a run with a short timestamp', { run: '2026-1-2-3' }, /spec.run: Invalid value: "2026-1-2-3"/],
    [
      'a run with a suffix that is no UID prefix',
      { run: '2026-01-02-030405-XYZ' },
      /spec.run: Invalid value: "2026-01-02-030405-XYZ"/,
    ],
    [
      'the bucket root as its backup root',
      { source: { backup: { ...backupSource.backup, backupRoot: '/' } } },
      /backupRoot must name a folder/,
    ],
    [
      'a backup root that climbs out',
      { source: { backup: { ...backupSource.backup, backupRoot: 'ns/../other' } } },
      /backupRoot may not contain '.' or '..' segments/,
    ],
    [
      'a backup root with an empty folder name',
      { source: { backup: { ...backupSource.backup, backupRoot: 'ns//db' } } },
      /backupRoot may not contain '\/\/'/,
    ],
  ])('refuses %s with a message', async (_what, spec, message) => {
    const r = await applyResult(restore(spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('accepts latest, mirror and timestamped runs from a backup or a schedule', async () => {
    const specs = [
      {},
      { run: 'mirror', target: { existingPvc: 'data' } },
      { run: '2026-01-02-030405', source: { schedule: { name: 'nightly', pvc: 'src' } } },
      { run: '2026-01-02-030405-0a1b2c3d' },
    ];
    for (const [i, spec] of specs.entries()) {
      const r = await applyResult(restore(spec, `ok-${i}`));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('rejects any change to spec after creation', async () => {
    await kubectlOk(['apply', '-n', ns, '-f', '-'], stringify(restore({}, 'fixed')));
    const r = await applyResult(restore({ run: 'mirror' }, 'fixed'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec is immutable: a DataMoverRestore records one run/);
  });
});
