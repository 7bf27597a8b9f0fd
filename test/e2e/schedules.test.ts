// Backups that run themselves, through the real apiserver: a DataMoverSchedule fires on its cron
// expression (seconds-level here: the operator runs with the test-only --allow-seconds-in-schedules),
// catches up once after downtime and counts what it missed, keeps to its concurrency policy, runs once
// on a manual trigger, picks up PVCs labelled later, prunes its history without leaving a clone or a
// Job behind, and keeps each PVC's recovery point after its DataMovers are gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import type { DataMoverSchedule } from '../../src/api/v1alpha1/schedule.js';
import { createsIn } from '../support/audit.js';
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

const SECONDS = ['--allow-seconds-in-schedules'];
let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('dm-sched');
  await sourceAndSecret(ns, 'db');
  operator = new OperatorProcess([ns], SECONDS);
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
    // Each schedule its own root: runs of two schedules with one root would wait for each other.
    spec: {
      sourcePvc: 'db',
      ...spec,
      template: { secretName: 'bucket', destinationPath: `${ns}/${name}`, ...(spec.template as object) },
    },
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

/** Deletes a schedule and, through the garbage collector, its runs (hanging ones too). */
async function remove(name: string): Promise<void> {
  await kubectlOk(['delete', 'dms', name, '-n', ns, '--wait=false']);
}

async function suspend(name: string): Promise<void> {
  await kubectlOk(['patch', 'dms', name, '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
}

async function eventReasons(name: string): Promise<string[]> {
  const out = await kubectlOk([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    `involvedObject.kind=DataMoverSchedule,involvedObject.name=${name}`,
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  return out.split(' ').filter(Boolean);
}

/** A seconds field naming the three seconds 3, 6 and 9 s from now: then 51 s without a fire. */
function threeFiresSoon(): { expression: string; fires: Date[] } {
  const now = Date.now();
  const fires = [3, 6, 9].map((s) => new Date(Math.floor(now / 1000 + s) * 1000));
  return { expression: `${fires.map((f) => f.getUTCSeconds()).join(',')} * * * * *`, fires };
}

describe('a DataMoverSchedule', () => {
  it('after the operator was down across three fire times makes one catch-up run and counts two missed', async () => {
    await operator.stop();
    const { expression, fires } = threeFiresSoon();
    const since = new Date();
    await apply(ns, schedule('downtime', { schedule: expression }));
    await waitFor(async () => Date.now() > fires[2]!.getTime() + 500, {
      what: 'the third fire time to pass',
    });
    await operator.start();

    const done = await waitFor(
      async () => {
        const s = await getSchedule('downtime');
        return s?.status?.lastScheduleTime ? s : undefined;
      },
      { what: 'the catch-up run' },
    );
    expect(done.status?.missedRuns).toBe(2);
    expect(done.status?.lastScheduleTime).toBe(fires[2]!.toISOString());
    const runs = await runsOf('downtime');
    expect(runs.map((r) => r.metadata.annotations?.['datamover.io/fire-time'])).toEqual([
      fires[2]!.toISOString(),
    ]);
    const created = [...createsIn(ns, since).created.keys()].filter((k) => k.startsWith('datamovers/'));
    expect(created).toEqual([`datamovers/${runs[0]!.metadata.name}`]);
    expect(
      sample(await operator.scrape(), 'datamover_schedule_missed_runs_total', {
        namespace: ns,
        schedule: 'downtime',
      }),
    ).toBe(2);
    await waitFor(async () => (await eventReasons('downtime')).includes('MissedRuns'), {
      what: 'a MissedRuns event',
    });
    await suspend('downtime');
  });

  it('Forbid skips fire times while a run hangs, and counts them missed', async () => {
    await apply(
      ns,
      schedule('forbid', { schedule: '*/2 * * * * *', template: { podLabels: { simulate: 'hang' } } }),
    );
    const s = await waitFor(
      async () => {
        const got = await getSchedule('forbid');
        return (got?.status?.missedRuns ?? 0) >= 2 ? got : undefined;
      },
      { what: 'two skipped fire times' },
    );
    await suspend('forbid');
    expect(await runsOf('forbid')).toHaveLength(1);
    expect(s.status?.active).toHaveLength(1);
    expect(await eventReasons('forbid')).toContain('RunSkipped');
    await remove('forbid');
  });

  it('Replace deletes the hanging run at the next fire time and starts a new one', async () => {
    const since = new Date();
    await apply(
      ns,
      schedule('replace', {
        schedule: '*/3 * * * * *',
        concurrencyPolicy: 'Replace',
        template: { podLabels: { simulate: 'hang' } },
      }),
    );
    await waitFor(
      async () =>
        [...createsIn(ns, since).created.keys()].filter((k) => k.startsWith('datamovers/replace-')).length >=
        3,
      { what: 'three runs, each replacing the one before', timeoutMs: 30_000 },
    );
    await suspend('replace');
    const created = [...createsIn(ns, since).created.keys()].filter((k) =>
      k.startsWith('datamovers/replace-'),
    );
    const left = await waitFor(
      async () => {
        const runs = (await runsOf('replace')).filter((r) => !r.metadata.deletionTimestamp);
        return runs.length === 1 ? runs : undefined;
      },
      { what: 'one run left, the newest' },
    );
    expect(`datamovers/${left[0]!.metadata.name}`).toBe(created.sort().at(-1));
    expect(await eventReasons('replace')).toContain('RunReplaced');
    await remove('replace');
  });

  it('Allow lets slow runs overlap, and every one completes', async () => {
    await apply(
      ns,
      schedule('allow', {
        schedule: '*/2 * * * * *',
        concurrencyPolicy: 'Allow',
        successfulRunsHistoryLimit: 10,
        template: { podLabels: { simulate: 'slow' } },
      }),
    );
    await waitFor(async () => ((await getSchedule('allow'))?.status?.active?.length ?? 0) >= 2, {
      what: 'two runs going at once',
      timeoutMs: 20_000,
    });
    await suspend('allow');
    await waitFor(
      async () => {
        const runs = await runsOf('allow');
        return runs.length >= 2 && runs.every((r) => r.status?.phase === 'Completed');
      },
      { what: 'every overlapping run Completed', timeoutMs: 60_000 },
    );
    expect((await getSchedule('allow'))?.status?.missedRuns ?? 0).toBe(0);
  });
});

describe('a manual trigger', () => {
  it('runs once now, and the same value again runs nothing', async () => {
    await apply(ns, schedule('manual', { schedule: '0 0 1 1 *', template: {} }));
    await waitFor(async () => (await getSchedule('manual'))?.status?.nextScheduleTime, {
      what: 'the schedule seen',
    });
    const trigger = (value: string) =>
      kubectlOk([
        'patch',
        'dms',
        'manual',
        '-n',
        ns,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { trigger: value } }),
      ]);
    await trigger('first');
    const [run] = await waitFor(
      async () => {
        const runs = await runsOf('manual');
        return runs.length === 1 && runs[0]!.status?.phase === 'Completed' ? runs : undefined;
      },
      { what: 'the triggered run Completed' },
    );
    expect(run!.metadata.annotations?.['datamover.io/fire-time']).toBe('trigger:first');
    const s = await waitFor(
      async () => {
        const got = await getSchedule('manual');
        return got?.status?.pvcs?.[0]?.lastSuccessfulTime ? got : undefined;
      },
      { what: "the PVC's recovery point recorded" },
    );
    expect(s.status?.lastTrigger).toBe('first');
    expect(s.status?.pvcs?.[0]).toMatchObject({ pvc: 'db', lastRun: run!.metadata.name });
    // Touching the schedule again (same trigger) makes no second run.
    await kubectlOk(['annotate', 'dms', 'manual', '-n', ns, 'touched=yes']);
    await trigger('first');
    await waitFor(async () => (await getSchedule('manual'))?.metadata.annotations?.touched === 'yes', {
      what: 'seen',
    });
    expect(await runsOf('manual')).toHaveLength(1);
  });
});

describe('a selector', () => {
  it('backs up a PVC labelled later at the next fire time, and keeps recovery points after TTL', async () => {
    await apply(ns, { ...pvc('web-a'), metadata: { name: 'web-a', labels: { backup: 'enabled' } } });
    await apply(
      ns,
      schedule('select', {
        sourcePvc: undefined,
        selector: { matchLabels: { backup: 'enabled' } },
        schedule: '*/3 * * * * *',
        template: { ttlSecondsAfterFinished: 0 },
      }),
    );
    await waitFor(
      async () =>
        (await getSchedule('select'))?.status?.pvcs?.some((p) => p.pvc === 'web-a' && p.lastSuccessfulTime),
      {
        what: 'web-a backed up',
        timeoutMs: 20_000,
      },
    );
    await apply(ns, { ...pvc('web-b'), metadata: { name: 'web-b', labels: { backup: 'enabled' } } });
    const s = await waitFor(
      async () => {
        const got = await getSchedule('select');
        return got?.status?.pvcs?.some((p) => p.pvc === 'web-b' && p.lastSuccessfulTime) ? got : undefined;
      },
      { what: 'web-b, labelled later, backed up', timeoutMs: 20_000 },
    );
    await suspend('select');
    expect(s.status?.pvcs?.find((p) => p.pvc === 'web-b')?.lastDestination).toMatch(
      new RegExp(`^bucket:${ns}/select/web-b/\\d{4}-\\d{2}-\\d{2}-\\d{6}-[0-9a-f]{8}/$`),
    );
    // TTL 0 deletes every run; the records and the metric remain.
    await waitFor(async () => (await runsOf('select')).length === 0, { what: 'every run deleted by TTL' });
    const scrape = await operator.scrape();
    for (const p of ['web-a', 'web-b'])
      expect(
        sample(scrape, 'datamover_schedule_pvc_last_success_timestamp_seconds', {
          namespace: ns,
          schedule: 'select',
          pvc: p,
        }),
      ).toBeGreaterThan(0);
    expect((await getSchedule('select'))?.status?.pvcs?.map((p) => p.pvc)).toEqual(['web-a', 'web-b']);
  });
});

describe('history pruning', () => {
  it('keeps the last N runs and leaves no DataMover, clone or Job of the others', async () => {
    const since = new Date();
    await apply(
      ns,
      schedule('history', {
        schedule: '*/2 * * * * *',
        successfulRunsHistoryLimit: 2,
        template: {},
      }),
    );
    const made = () =>
      [...createsIn(ns, since).created.keys()].filter((k) => k.startsWith('datamovers/history-'));
    await waitFor(async () => made().length >= 5, { what: 'five runs', timeoutMs: 30_000 });
    await suspend('history');
    const names = made().map((k) => k.slice('datamovers/'.length));
    const kept = await waitFor(
      async () => {
        const runs = (await runsOf('history')).filter((r) => !r.metadata.deletionTimestamp);
        return runs.length === 2 && runs.every((r) => r.status?.phase === 'Completed') ? runs : undefined;
      },
      { what: 'two runs kept' },
    );
    const pruned = names.filter((n) => !kept.some((k) => k.metadata.name === n));
    expect(pruned.length).toBeGreaterThanOrEqual(3);
    await waitFor(
      async () => {
        const left = await getJson<{ items: Array<{ metadata: { name: string } }> }>([
          'get',
          'pvc,job',
          '-n',
          ns,
        ]);
        const names = (left?.items ?? []).map((o) => o.metadata.name);
        return pruned.every((n) => !names.includes(`${n}-clone`) && !names.includes(`${n}-mover`));
      },
      { what: 'the pruned runs’ clones and Jobs collected' },
    );
    // Each pruned run was created once and its clone and Job once: nothing was made again.
    const creates = createsIn(ns, since).created;
    for (const n of pruned) {
      expect(creates.get(`datamovers/${n}`)).toBe(1);
      expect(creates.get(`persistentvolumeclaims/${n}-clone`)).toBe(1);
      expect(creates.get(`jobs/${n}-mover`)).toBe(1);
    }
  });
});
