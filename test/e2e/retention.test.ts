// Retention: ttlSecondsAfterFinished deletes a finished DataMover, and the garbage collector its
// children.
import { describe, it } from 'vitest';
import { expect } from 'vitest';
import {
  apply,
  dataMover,
  getDataMover,
  sourceAndSecret,
  waitForPhase,
  waitGone,
} from '../support/cluster.js';
import { sample, withOperator } from '../support/operator.js';

const env = withOperator('dm-ttl');

describe('retention', () => {
  it('deletes a finished DataMover and its children after ttlSecondsAfterFinished', async () => {
    await sourceAndSecret(env.ns, 'ttl-src');
    await apply(
      env.ns,
      dataMover('ttl', { sourcePvc: 'ttl-src', secretName: 'bucket', ttlSecondsAfterFinished: 1 }),
    );
    await waitGone('datamover', 'ttl', env.ns, 30_000);
    await waitGone('pvc', 'ttl-clone', env.ns);
    await waitGone('job', 'ttl-mover', env.ns);
  });

  it('keeps a DataMover whose TTL is longer than a timer holds, without reconciling it in a loop', async () => {
    // Node fires a timer of more than 2^31-1 ms (24.8 days) after 1 ms: a 30-day TTL once made the
    // operator reconcile the finished DataMover about a thousand times a second.
    await sourceAndSecret(env.ns, 'month-src');
    const passes = async () =>
      sample(await env.operator.scrape(), 'datamover_reconcile_total', { result: 'success' }) ?? 0;
    const before = await passes();
    await apply(
      env.ns,
      dataMover('month', {
        sourcePvc: 'month-src',
        secretName: 'bucket',
        ttlSecondsAfterFinished: 2_592_000,
      }),
      dataMover('second', {
        sourcePvc: 'month-src',
        secretName: 'bucket',
        destinationPath: `${env.ns}/second`,
        ttlSecondsAfterFinished: 1,
      }),
    );
    await waitForPhase(env.ns, 'month', 'Completed');
    // The other run's one-second TTL gives the month-long one time to spin, were it to.
    await waitGone('datamover', 'second', env.ns, 30_000);
    expect(await passes()).toBeLessThan(before + 40);
    expect(env.operator.logs).not.toContain('tight loop');
    expect((await getDataMover(env.ns, 'month'))?.status?.phase).toBe('Completed');
  });
});
