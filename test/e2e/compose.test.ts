// Schedules, triggers and restores used together, through the real apiserver: two schedules firing at
// one second on one PVC each get a run folder of their own; every change of a trigger runs (a → b → a)
// or is refused with a Warning; a PVC that leaves the selector is marked, and its gauges go after the
// grace period; a backup of a PVC a restore is writing waits for it; Allow has a bound per PVC.
// (The bytes of these journeys are proven against a real S3 server in test/mover/.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import type { DataMoverSchedule } from '../../src/api/v1alpha1/schedule.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  getJson,
  kubectlOk,
  pvc,
  sourceAndSecret,
  waitFor,
} from '../support/cluster.js';
import { OperatorProcess, sample } from '../support/operator.js';

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('dm-compose');
  await sourceAndSecret(ns, 'db');
  operator = new OperatorProcess([ns], ['--allow-seconds-in-schedules', '--unselected-pvc-grace-period=3s']);
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

function schedule(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverSchedule',
    metadata: { name },
    spec: { sourcePvc: 'db', ...spec, template: { secretName: 'bucket', ...(spec.template as object) } },
  };
}

const getSchedule = (name: string) => getJson<DataMoverSchedule>(['get', 'dms', name, '-n', ns]);

async function runsOf(name: string): Promise<DataMover[]> {
  const list = await getJson<{ items: DataMover[] }>([
    'get',
    'dm',
    '-n',
    ns,
    '-l',
    `datamover.io/schedule=${name}`,
  ]);
  return list?.items ?? [];
}

async function patchSpec(kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectlOk(['patch', kind, name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })]);
}

async function events(name: string): Promise<Array<{ reason: string; message: string; type: string }>> {
  const list = await getJson<{ items: Array<{ reason: string; message: string; type: string }> }>([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    `involvedObject.name=${name}`,
  ]);
  return list?.items ?? [];
}

describe('two schedules on one PVC', () => {
  it('firing in the same second write two run folders, and both runs complete', async () => {
    // One backup root for both: their runs wait for each other, then each writes its own folder.
    const template = { destinationPath: `${ns}/shared` };
    for (const name of ['hourly', 'daily'])
      await apply(ns, schedule(name, { schedule: '*/4 * * * * *', template }));
    const [hourly, daily] = await waitFor(
      async () => {
        const both = await Promise.all(['hourly', 'daily'].map(runsOf));
        const done = both.map((runs) => runs.find((r) => r.status?.phase === 'Completed'));
        return done.every(Boolean) ? (done as DataMover[]) : undefined;
      },
      { what: 'a Completed run of each schedule', timeoutMs: 40_000 },
    );
    for (const name of ['hourly', 'daily']) await patchSpec('dms', name, { suspend: true });
    expect(hourly!.status?.destination).not.toBe(daily!.status?.destination);
    for (const run of [hourly!, daily!])
      expect(run.status?.destination).toMatch(
        new RegExp(`^bucket:${ns}/shared/\\d{4}-\\d{2}-\\d{2}-\\d{6}-[0-9a-f]{8}/$`),
      );
    // Runs of one fire time: the same second in both folder names.
    const fired = await Promise.all(['hourly', 'daily'].map(runsOf));
    const times = fired.map(
      (runs) => new Set(runs.map((r) => r.metadata.annotations?.['datamover.io/fire-time'])),
    );
    const shared = [...times[0]!].filter((t) => times[1]!.has(t));
    expect(shared.length).toBeGreaterThan(0);
    const failed = fired.flat().filter((r) => r.status?.phase === 'Failed');
    expect(failed.map((r) => r.status?.message)).toEqual([]);
  });
});

describe('a trigger', () => {
  it('set back to a value used before (a → b → a) runs again; one that cannot run is refused with a Warning', async () => {
    await apply(
      ns,
      schedule('manual', { schedule: '0 0 1 1 *', template: { destinationPath: `${ns}/manual` } }),
    );
    await waitFor(async () => (await getSchedule('manual'))?.status?.nextScheduleTime, {
      what: 'the schedule seen',
    });
    let seen = 0;
    for (const value of ['a', 'b', 'a']) {
      await patchSpec('dms', 'manual', { trigger: value });
      seen += 1;
      await waitFor(
        async () => {
          const runs = await runsOf('manual');
          return runs.length === seen && runs.every((r) => r.status?.phase === 'Completed');
        },
        { what: `run ${seen} (trigger ${value}) Completed` },
      );
    }
    expect((await getSchedule('manual'))?.status?.lastTrigger).toBe('a');
    const triggered = (await events('manual')).filter((e) => e.reason === 'Triggered');
    expect(triggered.length).toBe(3);

    // An expression the apiserver admits but the operator cannot fire: the trigger is answered.
    await patchSpec('dms', 'manual', { schedule: '0 0 * * 8' });
    await waitFor(
      async () =>
        (await getSchedule('manual'))?.status?.conditions?.some((c) => c.reason === 'InvalidSchedule'),
      { what: 'the schedule Invalid' },
    );
    await patchSpec('dms', 'manual', { trigger: 'c' });
    const refused = await waitFor(
      async () => (await events('manual')).find((e) => e.reason === 'TriggerRefused'),
      { what: 'a TriggerRefused event' },
    );
    expect(refused.type).toBe('Warning');
    expect(refused.message).toContain('trigger "c" not run');
    expect(await runsOf('manual')).toHaveLength(3);
  });
});

describe('a selector', () => {
  it('marks a PVC whose label is removed, drops its gauges after the grace period, and its record once its runs are gone', async () => {
    await apply(ns, { ...pvc('web'), metadata: { name: 'web', labels: { backup: 'nightly' } } });
    await apply(ns, { ...pvc('logs'), metadata: { name: 'logs', labels: { backup: 'nightly' } } });
    await apply(
      ns,
      schedule('select', {
        sourcePvc: undefined,
        selector: { matchLabels: { backup: 'nightly' } },
        schedule: '*/2 * * * * *',
        successfulRunsHistoryLimit: 1,
        template: { ttlSecondsAfterFinished: 0 },
      }),
    );
    const gauge = async (p: string) =>
      sample(await operator.scrape(), 'datamover_schedule_pvc_last_success_timestamp_seconds', {
        namespace: ns,
        schedule: 'select',
        pvc: p,
      });
    await waitFor(async () => (await gauge('logs')) !== undefined && (await gauge('web')) !== undefined, {
      what: 'both PVCs backed up',
      timeoutMs: 20_000,
    });
    await kubectlOk(['label', 'pvc', 'logs', '-n', ns, 'backup-']);
    const marked = await waitFor(
      async () =>
        (await getSchedule('select'))?.status?.pvcs?.find((p) => p.pvc === 'logs' && p.unselectedSince),
      { what: 'logs marked unselected' },
    );
    expect(marked.lastSuccessfulTime).toBeDefined();
    await waitFor(async () => (await events('select')).some((e) => e.reason === 'PVCsUnselected'), {
      what: 'a PVCsUnselected event',
    });
    // After the grace period (3 s here) its gauges are gone, web's stay.
    await waitFor(async () => (await gauge('logs')) === undefined, {
      what: "logs' gauge gone",
      timeoutMs: 20_000,
    });
    expect(await gauge('web')).toBeGreaterThan(0);
    // Its runs are gone (TTL 0): at a later fire its record goes too.
    await waitFor(
      async () => {
        const pvcs = (await getSchedule('select'))?.status?.pvcs?.map((p) => p.pvc);
        return pvcs && !pvcs.includes('logs') && pvcs.includes('web');
      },
      { what: "logs' record gone", timeoutMs: 20_000 },
    );
    await patchSpec('dms', 'select', { suspend: true });
  });
});

describe('Allow', () => {
  it('runs at most maxConcurrentRunsPerPvc of a PVC at once and counts the rest missed', async () => {
    await apply(
      ns,
      schedule('allow', {
        schedule: '*/2 * * * * *',
        concurrencyPolicy: 'Allow',
        maxConcurrentRunsPerPvc: 2,
        template: { destinationPath: `${ns}/allow`, podLabels: { simulate: 'hang' } },
      }),
    );
    const s = await waitFor(
      async () => {
        const got = await getSchedule('allow');
        return (got?.status?.missedRuns ?? 0) >= 2 ? got : undefined;
      },
      { what: 'two fire times skipped at the bound', timeoutMs: 30_000 },
    );
    await patchSpec('dms', 'allow', { suspend: true });
    expect(s.status?.activeCount).toBe(2);
    expect((await runsOf('allow')).filter((r) => !r.metadata.deletionTimestamp)).toHaveLength(2);
    const skipped = (await events('allow')).find((e) => e.reason === 'RunSkipped');
    expect(skipped?.message).toContain('maxConcurrentRunsPerPvc 2');
    await kubectlOk(['delete', 'dms', 'allow', '-n', ns, '--wait=false']);
  });
});

describe('a restore', () => {
  it('holds back a backup of the PVC it writes into until it is gone, and says so', async () => {
    await sourceAndSecret(ns, 'app');
    await apply(ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverRestore',
      metadata: { name: 'into-app' },
      spec: {
        source: { backup: { secretName: 'bucket', sourcePvc: 'db' } },
        target: { existingPvc: 'app' },
        podLabels: { simulate: 'hang' },
      },
    });
    await waitFor(
      async () =>
        (await getJson<{ status?: { phase?: string } }>(['get', 'dmr', 'into-app', '-n', ns]))?.status
          ?.phase === 'Restoring',
      { what: 'the restore writing' },
    );
    await apply(ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMover',
      metadata: { name: 'app-backup' },
      spec: { sourcePvc: 'app', secretName: 'bucket', destinationPath: `${ns}/app` },
    });
    const waiting = await waitFor(
      async () => {
        const dm = await getJson<DataMover>(['get', 'dm', 'app-backup', '-n', ns]);
        const c = dm?.status?.conditions?.find((x) => x.type === 'Reconciling');
        return c?.reason === 'WaitingForRestore' ? c : undefined;
      },
      { what: 'the backup waiting for the restore' },
    );
    expect(waiting.message).toContain(`DataMoverRestore ${ns}/into-app`);
    expect(await getJson(['get', 'pvc', 'app-backup-clone', '-n', ns])).toBeUndefined();
    await kubectlOk(['delete', 'dmr', 'into-app', '-n', ns, '--wait=false']);
    await waitFor(
      async () =>
        (await getJson<DataMover>(['get', 'dm', 'app-backup', '-n', ns]))?.status?.phase === 'Completed',
      { what: 'the backup Completed once the restore is gone' },
    );
  });
});
