// The operator killed mid-run: the run completes under a new process, no transition is counted
// twice, and the phase duration spans the restart because phase start times are persisted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { OperatorProcess, namespaceCounters, sample } from '../support/operator.js';

let ns: string;
const processes: OperatorProcess[] = [];

beforeAll(async () => {
  ns = await createNamespace('dm-restart');
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await deleteNamespace(ns);
});

const ONE_RUN = {
  'datamover_operations_total{phase="CreatingClonedPVC",status="started"}': 1,
  'datamover_operations_total{phase="CreatingClonedPVC",status="success"}': 1,
  'datamover_operations_total{phase="CreatingPod",status="started"}': 1,
  'datamover_operations_total{phase="CreatingPod",status="success"}': 1,
  'datamover_pod_creation_operations_total{status="started"}': 1,
  'datamover_pod_creation_operations_total{status="success"}': 1,
  'datamover_data_sync_operations_total{status="success"}': 1,
  'datamover_sync_verified_total{result="verified"}': 1,
  'datamover_runs_total{result="completed"}': 1,
};

describe('an operator killed with SIGKILL while the mover runs', () => {
  it('completes the run after a restart and counts each transition once across both processes', async () => {
    const first = new OperatorProcess([ns]);
    processes.push(first);
    await first.start();
    await sourceAndSecret(ns, 'src');
    await apply(
      ns,
      dataMover('survivor', { sourcePvc: 'src', secretName: 'bucket', podLabels: { simulate: 'slow' } }),
    );
    const running = await waitFor(
      async () => {
        const dm = await getDataMover(ns, 'survivor');
        return dm?.status?.phase === 'CreatingPod' && dm.status.jobName ? dm : undefined;
      },
      { what: 'mover Job created' },
    );
    const before = namespaceCounters(await first.scrape(), ns);
    await first.stop('SIGKILL');
    const restartedAt = Date.now();

    const second = new OperatorProcess([ns]);
    processes.push(second);
    await second.start();
    const done = await waitForPhase(ns, 'survivor', 'Completed', 60_000);
    expect(done.status?.startTime).toBe(running.status?.startTime);
    const afterText = await second.scrape();
    const after = namespaceCounters(afterText, ns);

    const total: Record<string, number> = {};
    for (const [k, v] of [...Object.entries(before), ...Object.entries(after)])
      total[k] = (total[k] ?? 0) + v;
    expect(total).toMatchObject(ONE_RUN);
    for (const [series, value] of Object.entries(total)) {
      if (!(series in ONE_RUN)) expect(value, series).toBe(0);
    }
    // The restarted process did not count the clone phase again.
    expect(after['datamover_operations_total{phase="CreatingClonedPVC",status="started"}']).toBe(0);

    const creatingPodSince = new Date(running.status!.phaseStartTime!).getTime();
    const observed = sample(afterText, 'datamover_phase_duration_seconds_sum', {
      phase: 'CreatingPod',
      namespace: ns,
    });
    expect(observed).toBeGreaterThanOrEqual((restartedAt - creatingPodSince) / 1000);
  });
});
