// Retention: ttlSecondsAfterFinished deletes a finished DataMover, and the garbage collector its
// children.
import { describe, it } from 'vitest';
import { expect } from 'vitest';
import {
  apply,
  dataMover,
  getDataMover,
  getJson,
  sourceAndSecret,
  waitFor,
  waitForPhase,
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
    await waitFor(async () => (await getDataMover(env.ns, 'ttl')) === undefined, {
      what: 'DataMover deleted after its TTL',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await getJson(['get', 'pvc', 'ttl-clone', '-n', env.ns])) === undefined, {
      what: 'clone collected',
    });
    await waitFor(async () => (await getJson(['get', 'job', 'ttl-mover', '-n', env.ns])) === undefined, {
      what: 'mover Job collected',
    });
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
    await waitFor(async () => (await getDataMover(env.ns, 'second')) === undefined, {
      what: 'the one-second DataMover deleted',
      timeoutMs: 30_000,
    });
    expect(await passes()).toBeLessThan(before + 40);
    expect(env.operator.logs).not.toContain('tight loop');
    expect((await getDataMover(env.ns, 'month'))?.status?.phase).toBe('Completed');
  });
});
