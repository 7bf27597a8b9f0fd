// Crash at any step boundary: the operator is killed with SIGKILL right after a side effect and
// before the status write that records it (a test-only fault point), then restarted. The run ends
// correctly with one clone and one Job, nothing orphaned, and no transition counted twice.
import { afterAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  kubectl,
  sourceAndSecret,
  waitFor,
  waitForPhase,
  waitGone,
} from '../support/cluster.js';
import { OperatorProcess, namespaceCounters } from '../support/operator.js';

const namespaces: string[] = [];
const processes: OperatorProcess[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(namespaces.map(deleteNamespace));
});

const series = (phase: string, status: string) =>
  `datamover_operations_total{phase="${phase}",status="${status}"}`;
const FULL_RUN: Record<string, number> = {
  [series('CreatingClonedPVC', 'started')]: 1,
  [series('CreatingClonedPVC', 'success')]: 1,
  [series('CreatingPod', 'started')]: 1,
  [series('CreatingPod', 'success')]: 1,
  'datamover_pod_creation_operations_total{status="started"}': 1,
  'datamover_pod_creation_operations_total{status="success"}': 1,
  'datamover_data_sync_operations_total{status="success"}': 1,
  'datamover_sync_verified_total{result="verified"}': 1,
  'datamover_runs_total{result="completed"}': 1,
};

/** Counters of the restarted process: exactly `expected`, every other series 0. */
function expectExactly(counters: Record<string, number>, expected: Record<string, number>) {
  const nonZero = Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== 0));
  expect(nonZero).toEqual(expected);
}

async function children(ns: string, name: string) {
  const pvcs = await kubectl(['get', 'pvc', '-n', ns, '-l', `datamover.io/datamover=${name}`, '-o', 'name']);
  const jobs = await kubectl(['get', 'jobs', '-n', ns, '-l', `datamover.io/datamover=${name}`, '-o', 'name']);
  return { pvcs: pvcs.stdout.split('\n').filter(Boolean), jobs: jobs.stdout.split('\n').filter(Boolean) };
}

async function crashThenRestart(point: string, spec: Record<string, unknown>) {
  const ns = await createNamespace('dm-crash');
  namespaces.push(ns);
  await sourceAndSecret(ns, 'src');
  const first = new OperatorProcess([ns], [`--test-fault-point=${point}`]);
  processes.push(first);
  await first.start();
  await apply(ns, dataMover('run', { sourcePvc: 'src', secretName: 'bucket', ...spec }));
  await waitFor(async () => first.exited, { what: `the operator to die at ${point}` });
  const atCrash = await getDataMover(ns, 'run');
  const second = new OperatorProcess([ns]);
  processes.push(second);
  await second.start();
  const done = await waitForPhase(ns, 'run', 'Completed', 60_000);
  return { ns, atCrash, done, counters: namespaceCounters(await second.scrape(), ns) };
}

describe('the operator killed right after a side effect, before its status write', () => {
  it('after creating the clone: the restart adopts the clone and counts the whole run once', async () => {
    const { ns, atCrash, counters } = await crashThenRestart('after-createClone', {});
    expect(atCrash?.status?.phase).toBeUndefined();
    expect(await children(ns, 'run')).toEqual({
      pvcs: ['persistentvolumeclaim/run-clone'],
      jobs: ['job.batch/run-mover'],
    });
    expectExactly(counters, FULL_RUN);
  });

  it('after creating the Job: the restart adopts the Job and does not count the clone phase start again', async () => {
    const { ns, atCrash, counters } = await crashThenRestart('after-createJob', {});
    expect(atCrash?.status?.phase).toBe('CreatingClonedPVC');
    expect(atCrash?.status?.jobName).toBeUndefined();
    expect(await children(ns, 'run')).toEqual({
      pvcs: ['persistentvolumeclaim/run-clone'],
      jobs: ['job.batch/run-mover'],
    });
    // The first process counted entering the clone phase before it died; the restart must not.
    const rest = { ...FULL_RUN };
    delete rest[series('CreatingClonedPVC', 'started')];
    expectExactly(counters, rest);
  });

  it('during cleanup: the restart finishes it, leaves nothing behind and counts the cleanup once', async () => {
    const { ns, atCrash, done, counters } = await crashThenRestart('after-deleteClone', {
      deletePvcAfterBackup: true,
    });
    expect(atCrash?.status?.phase).toBe('CleaningUp');
    expect(done.status?.conditions?.find((c) => c.type === 'CleanedUp')?.status).toBe('True');
    await waitGone('pvc', 'run-clone', ns);
    await waitFor(async () => (await children(ns, 'run')).jobs.length === 0, { what: 'job gone' });
    expectExactly(counters, {
      [series('CleaningUp', 'success')]: 1,
      'datamover_cleanup_operations_total{status="success"}': 1,
      'datamover_runs_total{result="completed"}': 1,
    });
  });
});
