// Retention: ttlSecondsAfterFinished deletes a finished DataMover, and the garbage collector its
// children.
import { describe, it } from 'vitest';
import { apply, dataMover, getDataMover, getJson, sourceAndSecret, waitFor } from '../support/cluster.js';
import { withOperator } from '../support/operator.js';

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
});
