// Deleting a DataMover mid-run takes its Job, the Job's pods and the clone with it, through
// ownerReferences and the garbage collector: no finalizer, nothing orphaned.
import { describe, expect, it } from 'vitest';
import {
  apply,
  dataMover,
  getJson,
  kubectl,
  kubectlOk,
  sourceAndSecret,
  waitFor,
  waitGone,
} from '../support/cluster.js';
import { withOperator } from '../support/operator.js';

const env = withOperator('dm-del');

describe('deleting a DataMover while its mover runs', () => {
  it('garbage-collects the Job, its pods and the clone', async () => {
    await sourceAndSecret(env.ns, 'src');
    await apply(
      env.ns,
      dataMover('midrun', { sourcePvc: 'src', secretName: 'bucket', podLabels: { simulate: 'hang' } }),
    );
    await waitFor(
      async () =>
        (
          await kubectl([
            'get',
            'pods',
            '-n',
            env.ns,
            '-l',
            'datamover.io/datamover=midrun',
            '-o',
            'jsonpath={.items[*].status.phase}',
          ])
        ).stdout === 'Running',
      { what: 'mover pod running' },
    );
    const dm = await getJson<{ metadata: { finalizers?: string[] } }>(['get', 'dm', 'midrun', '-n', env.ns]);
    expect(dm?.metadata.finalizers ?? []).toEqual([]);

    await kubectlOk(['delete', 'dm', 'midrun', '-n', env.ns, '--wait=true', '--timeout=30s']);
    await waitGone('job', 'midrun-mover', env.ns);
    await waitFor(
      async () =>
        (
          await kubectl(['get', 'pods', '-n', env.ns, '-l', 'datamover.io/datamover=midrun', '-o', 'name'])
        ).stdout.trim() === '',
      { what: 'pods collected' },
    );
    await waitGone('pvc', 'midrun-clone', env.ns);
    expect(
      (await getJson<{ status: { phase: string } }>(['get', 'pvc', 'src', '-n', env.ns]))?.status.phase,
    ).toBe('Bound');
  });
});
