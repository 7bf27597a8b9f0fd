// A concurrent writer: while DataMovers run, another client keeps changing them (labels bump the
// resourceVersion) about every 20 ms each, so the operator's status writes meet 409 Conflicts.
// Each is retried; every run completes and each transition is still counted exactly once. The
// operator talks through the fault proxy, which holds its DataMover watch back for a while: its
// cache is then sure to be older than the writer's changes, so its next status writes conflict
// (with a fresh cache, three writes per run could all miss the writer).
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/v1alpha1/schema.js';
import { afterAll, beforeAll } from 'vitest';
import {
  apply,
  dataMover,
  getDataMover,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { namespaceCounters, sample, withOperator } from '../support/operator.js';

const proxy = new FaultProxy();
let kubeconfig = '';
beforeAll(async () => {
  kubeconfig = await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
});
const env = withOperator('dm-conflict', () => [`--kubeconfig=${kubeconfig}`]);
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
    const conflicts = async () =>
      sample(await env.operator.scrape(), 'datamover_reconcile_total', { result: 'conflict' }) ?? 0;
    try {
      // Once every run is past its first write, the operator's DataMover cache stops; the movers
      // finish and their next status writes are made on versions the writer has moved past.
      await waitFor(
        async () => {
          for (const n of NAMES)
            if ((await getDataMover(env.ns, n))?.status?.phase !== 'CreatingPod') return false;
          return true;
        },
        { what: 'every mover running' },
      );
      proxy.hold(/datamovers/);
      await waitFor(async () => (await conflicts()) > 0, { what: 'a status write meeting 409' });
      proxy.release();
      for (const n of NAMES) await waitForPhase(env.ns, n, 'Completed', 60_000);
    } finally {
      proxy.release();
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
