// A concurrent writer: while DataMovers run, another client keeps changing them (labels bump the
// resourceVersion) about every 20 ms each, so the operator's status writes meet 409 Conflicts.
// Each is retried; every run completes and each transition is still counted exactly once.
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/v1alpha1/schema.js';
import { apply, dataMover, sourceAndSecret, waitForPhase } from '../support/cluster.js';
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
          destinationPath: `${env.ns}/${n}`,
          podLabels: { simulate: 'slow' },
        }),
      ),
    );
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const custom = kc.makeApiClient(CustomObjectsApi);
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    let writing = true;
    let edits = 0;
    const writers = NAMES.map(async (name) => {
      while (writing) {
        const body = { metadata: { labels: { touched: String(edits++) } } };
        await custom.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace: env.ns, name, body },
          mergePatch,
        );
        await delay(20); // pacing of the writer, not a wait for the system under test
      }
    });
    try {
      for (const n of NAMES) await waitForPhase(env.ns, n, 'Completed', 60_000);
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    const text = await env.operator.scrape();
    expect(edits).toBeGreaterThan(50);
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
