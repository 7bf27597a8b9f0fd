// Two DataMovers of one source PVC that write to the same destination never sync at the same time.
import { describe, expect, it } from 'vitest';
import {
  apply,
  condition,
  dataMover,
  getDataMover,
  getJson,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { withOperator } from '../support/operator.js';

const env = withOperator('dm-dest');

interface JobJson {
  metadata: { creationTimestamp: string };
  status: { startTime?: string; completionTime?: string };
}

describe('two DataMovers with the same destination', () => {
  it('run their movers one after the other, the later one waiting with WaitingForDestination', async () => {
    await sourceAndSecret(env.ns, 'shared');
    const spec = { sourcePvc: 'shared', secretName: 'bucket', podLabels: { simulate: 'slow' } };
    await apply(env.ns, dataMover('a-first', spec), dataMover('b-second', spec));

    let sawWaiting = false;
    await waitFor(
      async () => {
        const b = await getDataMover(env.ns, 'b-second');
        if (condition(b, 'Reconciling')?.reason === 'WaitingForDestination') sawWaiting = true;
        return b?.status?.phase === 'Completed';
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'b-second to complete' },
    );
    expect(sawWaiting).toBe(true);
    await waitForPhase(env.ns, 'a-first', 'Completed');
    const a = await getDataMover(env.ns, 'a-first');
    const b = await getDataMover(env.ns, 'b-second');
    expect(a?.status?.destination).toBe(b?.status?.destination);
    const jobA = await getJson<JobJson>(['get', 'job', 'a-first-mover', '-n', env.ns]);
    const jobB = await getJson<JobJson>(['get', 'job', 'b-second-mover', '-n', env.ns]);
    // The second mover was created only after the first had finished.
    expect(new Date(jobB!.metadata.creationTimestamp).getTime()).toBeGreaterThanOrEqual(
      new Date(jobA!.status.completionTime!).getTime(),
    );
    expect(new Date(b!.status!.completionTime!).getTime()).toBeGreaterThan(
      new Date(a!.status!.completionTime!).getTime(),
    );
  });
});
