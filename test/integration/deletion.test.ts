// Deleting a DataMover mid-run takes its Job, the Job's pods and the clone with it, through
// ownerReferences and the garbage collector: no finalizer, nothing orphaned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getJson,
  kubectl,
  kubectlOk,
  sourceAndSecret,
  waitFor,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('dm-del');
  operator = new OperatorProcess([ns]);
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

describe('deleting a DataMover while its mover runs', () => {
  it('garbage-collects the Job, its pods and the clone', async () => {
    await sourceAndSecret(ns, 'src');
    await apply(
      ns,
      dataMover('midrun', { sourcePvc: 'src', secretName: 'bucket', podLabels: { simulate: 'hang' } }),
    );
    await waitFor(
      async () =>
        (
          await kubectl([
            'get',
            'pods',
            '-n',
            ns,
            '-l',
            'datamover.io/datamover=midrun',
            '-o',
            'jsonpath={.items[*].status.phase}',
          ])
        ).stdout === 'Running',
      { what: 'mover pod running' },
    );
    const dm = await getJson<{ metadata: { finalizers?: string[] } }>(['get', 'dm', 'midrun', '-n', ns]);
    expect(dm?.metadata.finalizers ?? []).toEqual([]);

    await kubectlOk(['delete', 'dm', 'midrun', '-n', ns, '--wait=true', '--timeout=30s']);
    await waitFor(async () => (await getJson(['get', 'job', 'midrun-mover', '-n', ns])) === undefined, {
      what: 'job collected',
    });
    await waitFor(
      async () =>
        (
          await kubectl(['get', 'pods', '-n', ns, '-l', 'datamover.io/datamover=midrun', '-o', 'name'])
        ).stdout.trim() === '',
      { what: 'pods collected' },
    );
    await waitFor(async () => (await getJson(['get', 'pvc', 'midrun-clone', '-n', ns])) === undefined, {
      what: 'clone collected',
    });
    expect(
      (await getJson<{ status: { phase: string } }>(['get', 'pvc', 'src', '-n', ns]))?.status.phase,
    ).toBe('Bound');
  });
});
