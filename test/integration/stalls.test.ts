// Stalls and timeouts: what a user sees when the source PVC, the clone or the mover pod is not there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  condition,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  getJson,
  kubectl,
  pvc,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('dm-stall');
  operator = new OperatorProcess(
    [ns],
    [
      '--source-pvc-grace-period=8s',
      '--pod-start-timeout=4s',
      '--clone-stall-after=1s',
      '--clone-provision-timeout=4s',
    ],
  );
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

const stalledWith = (name: string, reason: string) =>
  waitFor(
    async () => {
      const dm = await getDataMover(ns, name);
      const stalled = condition(dm, 'Stalled');
      return stalled?.status === 'True' && stalled.reason === reason ? dm : undefined;
    },
    { what: `${name} Stalled with ${reason}` },
  );

describe('a missing source PVC', () => {
  it('is Stalled at first and Failed with SourcePVCNotFound after the grace period', async () => {
    await apply(ns, dataMover('nosrc', { sourcePvc: 'does-not-exist', secretName: 'bucket' }));
    const stalled = await stalledWith('nosrc', 'SourcePVCNotFound');
    expect(stalled.status?.phase).toBe('CreatingClonedPVC');
    expect(condition(stalled, 'Reconciling')?.status).toBe('True');
    const failed = await waitForPhase(ns, 'nosrc', 'Failed', 30_000);
    expect(condition(failed, 'Failed')?.reason).toBe('SourcePVCNotFound');
    const waited =
      new Date(failed.status!.completionTime!).getTime() - new Date(failed.status!.startTime!).getTime();
    expect(waited).toBeGreaterThanOrEqual(8_000);
    expect(await getJson(['get', 'pvc', 'nosrc-clone', '-n', ns])).toBeUndefined();
  });

  it('lets the same DataMover succeed when the PVC appears within the grace period', async () => {
    await apply(ns, dataMover('latesrc', { sourcePvc: 'late', secretName: 'bucket' }));
    await stalledWith('latesrc', 'SourcePVCNotFound');
    await sourceAndSecret(ns, 'late');
    const done = await waitForPhase(ns, 'latesrc', 'Completed');
    expect(condition(done, 'Stalled')?.status).toBe('False');
  });
});

describe('a source PVC that cannot be backed up', () => {
  it('refuses a Block-mode source at once with a clear reason', async () => {
    await sourceAndSecret(ns, 'block-src', { volumeMode: 'Block' });
    await apply(ns, dataMover('block', { sourcePvc: 'block-src', secretName: 'bucket' }));
    const dm = await waitForPhase(ns, 'block', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('SourcePVCBlockMode');
    expect(dm.status?.message).toContain('Block');
  });
});

describe('a clone that never provisions', () => {
  it("is Stalled with the provisioner's message, then Failed after the timeout", async () => {
    await sourceAndSecret(ns, 'broken-src');
    await apply(
      ns,
      dataMover('broken', { sourcePvc: 'broken-src', secretName: 'bucket', storageClassName: 'test-broken' }),
    );
    const stalled = await stalledWith('broken', 'CloneNotProvisioned');
    expect(condition(stalled, 'Stalled')?.message).toContain('no capacity left');
    const failed = await waitForPhase(ns, 'broken', 'Failed');
    expect(condition(failed, 'Failed')?.reason).toBe('CloneProvisioningTimeout');
    expect(failed.status?.message).toContain('ProvisioningFailed');
  });
});

describe('a mover pod that cannot start', () => {
  it('is Stalled with the scheduler reason at once, then Failed after the timeout, and its Job is removed', async () => {
    await sourceAndSecret(ns, 'unsched-src');
    await apply(
      ns,
      dataMover('unsched', {
        sourcePvc: 'unsched-src',
        secretName: 'bucket',
        nodeSelector: { 'no-such-node': 'true' },
      }),
    );
    const stalled = await stalledWith('unsched', 'MoverPodNotStarting');
    expect(condition(stalled, 'Stalled')?.message).toContain('Unschedulable');
    const failed = await waitForPhase(ns, 'unsched', 'Failed');
    expect(condition(failed, 'Failed')?.reason).toBe('MoverPodStartTimeout');
    await waitFor(async () => (await getJson(['get', 'job', 'unsched-mover', '-n', ns])) === undefined, {
      what: 'job removed',
    });
    await waitFor(
      async () =>
        (
          await kubectl(['get', 'pods', '-n', ns, '-l', 'datamover.io/datamover=unsched', '-o', 'name'])
        ).stdout.trim() === '',
      {
        what: 'pods removed with the Job',
      },
    );
  });
});

describe('policy', () => {
  it('refuses a mover image outside the allowlist before cloning anything', async () => {
    await sourceAndSecret(ns, 'img-src');
    await apply(
      ns,
      dataMover('img', {
        sourcePvc: 'img-src',
        secretName: 'bucket',
        image: { repository: 'evil.example/miner', tag: 'latest' },
      }),
    );
    const dm = await waitForPhase(ns, 'img', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('ImageNotAllowed');
    expect(dm.status?.message).toContain('evil.example/miner:latest');
    expect(await getJson(['get', 'pvc', 'img-clone', '-n', ns])).toBeUndefined();
  });

  it('refuses serviceAccountName unless the operator allows it', async () => {
    await apply(
      ns,
      dataMover('sa', { sourcePvc: 'img-src', secretName: 'bucket', serviceAccountName: 'powerful' }),
    );
    const dm = await waitForPhase(ns, 'sa', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('ServiceAccountNotAllowed');
  });
});

describe('retention', () => {
  it('deletes a finished DataMover and its children after ttlSecondsAfterFinished', async () => {
    await sourceAndSecret(ns, 'ttl-src');
    await apply(
      ns,
      dataMover('ttl', { sourcePvc: 'ttl-src', secretName: 'bucket', ttlSecondsAfterFinished: 1 }),
    );
    await waitFor(async () => (await getDataMover(ns, 'ttl')) === undefined, {
      what: 'DataMover deleted after its TTL',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await getJson(['get', 'pvc', 'ttl-clone', '-n', ns])) === undefined, {
      what: 'clone collected',
    });
  });
});

export { pvc };
