// Two DataMovers of one source PVC that write to the same destination never sync at the same time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  condition,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  getJson,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('dm-dest');
  operator = new OperatorProcess([ns]);
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

interface JobJson {
  metadata: { creationTimestamp: string };
  status: { startTime?: string; completionTime?: string };
}

describe('two DataMovers with the same destination', () => {
  it('run their movers one after the other, the later one waiting with WaitingForDestination', async () => {
    await sourceAndSecret(ns, 'shared');
    const spec = { sourcePvc: 'shared', secretName: 'bucket', podLabels: { simulate: 'slow' } };
    await apply(ns, dataMover('a-first', spec), dataMover('b-second', spec));

    let sawWaiting = false;
    await waitFor(
      async () => {
        const b = await getDataMover(ns, 'b-second');
        if (condition(b, 'Reconciling')?.reason === 'WaitingForDestination') sawWaiting = true;
        return b?.status?.phase === 'Completed';
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'b-second to complete' },
    );
    expect(sawWaiting).toBe(true);
    await waitForPhase(ns, 'a-first', 'Completed');
    const a = await getDataMover(ns, 'a-first');
    const b = await getDataMover(ns, 'b-second');
    expect(a?.status?.destination).toBe(b?.status?.destination);
    const jobA = await getJson<JobJson>(['get', 'job', 'a-first-mover', '-n', ns]);
    const jobB = await getJson<JobJson>(['get', 'job', 'b-second-mover', '-n', ns]);
    // The second mover was created only after the first had finished.
    expect(new Date(jobB!.metadata.creationTimestamp).getTime()).toBeGreaterThanOrEqual(
      new Date(jobA!.status.completionTime!).getTime(),
    );
    expect(new Date(b!.status!.completionTime!).getTime()).toBeGreaterThan(
      new Date(a!.status!.completionTime!).getTime(),
    );
  });
});
