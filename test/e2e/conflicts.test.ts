// A concurrent writer: while DataMovers run, another client keeps changing them (labels bump the
// resourceVersion), so the operator's status writes meet 409 Conflicts. Each is retried; every run
// completes and each transition is still counted exactly once.
import { describe, expect, it } from 'vitest';
import { apply, dataMover, kubectl, sourceAndSecret, waitForPhase } from '../support/cluster.js';
import { namespaceCounters, sample, withOperator } from '../support/operator.js';

const env = withOperator('dm-conflict');
const NAMES = ['one', 'two', 'three'];

describe('status writes that meet a concurrent writer', () => {
  it('are retried until every run completes, counting each transition once', async () => {
    await sourceAndSecret(env.ns, 'src');
    await apply(
      env.ns,
      ...NAMES.map((n) =>
        dataMover(n, {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: n,
          podLabels: { simulate: 'slow' },
        }),
      ),
    );
    let writing = true;
    let edits = 0;
    const writer = (async () => {
      while (writing) {
        await kubectl(['label', 'dm', ...NAMES, '-n', env.ns, `touched=${edits++}`, '--overwrite']);
      }
    })();
    try {
      for (const n of NAMES) await waitForPhase(env.ns, n, 'Completed', 60_000);
    } finally {
      writing = false;
      await writer;
    }
    const text = await env.operator.scrape();
    expect(edits).toBeGreaterThan(5);
    expect(sample(text, 'datamover_reconcile_total', { result: 'conflict' })).toBeGreaterThan(0);
    const counters = namespaceCounters(text, env.ns);
    expect(counters).toMatchObject({
      'datamover_operations_total{phase="CreatingClonedPVC",status="started"}': 3,
      'datamover_operations_total{phase="CreatingClonedPVC",status="success"}': 3,
      'datamover_operations_total{phase="CreatingPod",status="started"}': 3,
      'datamover_operations_total{phase="CreatingPod",status="success"}': 3,
      'datamover_pod_creation_operations_total{status="started"}': 3,
      'datamover_pod_creation_operations_total{status="success"}': 3,
      'datamover_data_sync_operations_total{status="success"}': 3,
    });
  });
});
