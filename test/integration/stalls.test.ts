// Stalls and timeouts: what a user sees when the source PVC, the clone or the mover pod is not there.
import { describe, expect, it } from 'vitest';
import {
  apply,
  condition,
  dataMover,
  getDataMover,
  getJson,
  kubectl,
  pvc,
  sourceAndSecret,
  waitFor,
  waitForPhase,
  waitForStalled,
  waitGone,
} from '../support/cluster.js';
import { sample, withOperator } from '../support/operator.js';

const env = withOperator('dm-stall', [
  '--source-pvc-grace-period=8s',
  '--pod-start-timeout=4s',
  '--clone-stall-after=1s',
  '--clone-provision-timeout=4s',
]);

const stalledWith = (name: string, reason: string) => waitForStalled(env.ns, name, reason);

describe('a missing source PVC', () => {
  it('is Stalled at first and Failed with SourcePVCNotFound after the grace period', async () => {
    await apply(env.ns, dataMover('nosrc', { sourcePvc: 'does-not-exist', secretName: 'bucket' }));
    const stalled = await stalledWith('nosrc', 'SourcePVCNotFound');
    expect(stalled.status?.phase).toBe('CreatingClonedPVC');
    expect(condition(stalled, 'Reconciling')?.status).toBe('True');
    const failed = await waitForPhase(env.ns, 'nosrc', 'Failed', 30_000);
    expect(condition(failed, 'Failed')?.reason).toBe('SourcePVCNotFound');
    const waited =
      new Date(failed.status!.completionTime!).getTime() - new Date(failed.status!.startTime!).getTime();
    expect(waited).toBeGreaterThanOrEqual(8_000);
    expect(await getJson(['get', 'pvc', 'nosrc-clone', '-n', env.ns])).toBeUndefined();
  });

  it('lets the same DataMover succeed when the PVC appears within the grace period', async () => {
    await apply(env.ns, dataMover('latesrc', { sourcePvc: 'late', secretName: 'bucket' }));
    await stalledWith('latesrc', 'SourcePVCNotFound');
    await sourceAndSecret(env.ns, 'late');
    const done = await waitForPhase(env.ns, 'latesrc', 'Completed');
    expect(condition(done, 'Stalled')?.status).toBe('False');
  });
});

describe('a source PVC that cannot be backed up', () => {
  it('refuses a Block-mode source at once with a clear reason', async () => {
    await sourceAndSecret(env.ns, 'block-src', { volumeMode: 'Block' });
    await apply(env.ns, dataMover('block', { sourcePvc: 'block-src', secretName: 'bucket' }));
    const dm = await waitForPhase(env.ns, 'block', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('SourcePVCBlockMode');
    expect(dm.status?.message).toContain('Block');
  });
});

describe('a clone that never provisions', () => {
  it("is Stalled with the provisioner's message, then Failed after the timeout", async () => {
    await sourceAndSecret(env.ns, 'broken-src');
    await apply(
      env.ns,
      dataMover('broken', { sourcePvc: 'broken-src', secretName: 'bucket', storageClassName: 'test-broken' }),
    );
    // The provisioner's warning may come after the stall began: the stall then says it on a later look.
    const stalled = await waitForStalled(env.ns, 'broken', 'CloneNotProvisioned', 'no capacity left');
    expect(condition(stalled, 'Stalled')?.message).toContain('no capacity left');
    const failed = await waitForPhase(env.ns, 'broken', 'Failed');
    expect(condition(failed, 'Failed')?.reason).toBe('CloneProvisioningTimeout');
    expect(failed.status?.message).toContain('ProvisioningFailed');
  });
});

describe('a mover pod that cannot start', () => {
  it('is Stalled with the scheduler reason at once, then Failed after the timeout, and its Job is removed', async () => {
    await sourceAndSecret(env.ns, 'unsched-src');
    await apply(
      env.ns,
      dataMover('unsched', {
        sourcePvc: 'unsched-src',
        secretName: 'bucket',
        nodeSelector: { 'no-such-node': 'true' },
      }),
    );
    const stalled = await stalledWith('unsched', 'MoverPodNotStarting');
    expect(condition(stalled, 'Stalled')?.message).toContain('Unschedulable');
    const failed = await waitForPhase(env.ns, 'unsched', 'Failed');
    expect(condition(failed, 'Failed')?.reason).toBe('MoverPodStartTimeout');
    await waitGone('job', 'unsched-mover', env.ns);
    await waitFor(
      async () =>
        (
          await kubectl(['get', 'pods', '-n', env.ns, '-l', 'datamover.io/datamover=unsched', '-o', 'name'])
        ).stdout.trim() === '',
      {
        what: 'pods removed with the Job',
      },
    );
  });
});

describe('a mover Job the apiserver refuses', () => {
  it('fails with JobCreationFailed and the apiserver message, counted as a pod creation failure', async () => {
    await sourceAndSecret(env.ns, 'badjob-src');
    const failures = async () =>
      sample(await env.operator.scrape(), 'datamover_pod_creation_operations_total', {
        status: 'failure',
        namespace: env.ns,
      }) ?? 0;
    const before = await failures();
    await apply(
      env.ns,
      dataMover('badjob', {
        sourcePvc: 'badjob-src',
        secretName: 'bucket',
        resources: { requests: { cpu: 'plenty' } },
      }),
    );
    const dm = await waitForPhase(env.ns, 'badjob', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('JobCreationFailed');
    expect(dm.status?.message).toMatch(/quantities must match the regular expression|plenty/);
    expect(await failures()).toBe(before + 1);
  });
});

describe('the privileged reader', () => {
  it('is refused in a namespace that did not opt in', async () => {
    await sourceAndSecret(env.ns, 'priv-src');
    await apply(
      env.ns,
      dataMover('priv', { sourcePvc: 'priv-src', secretName: 'bucket', privilegedReader: true }),
    );
    const dm = await waitForPhase(env.ns, 'priv', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('PrivilegedMoverNotAllowed');
  });

  it("runs as root with CAP_DAC_READ_SEARCH once opted in, and a pod the namespace's Pod Security refuses stalls, then fails", async () => {
    await kubectl(['annotate', 'namespace', env.ns, 'datamover.io/privileged-movers=true', '--overwrite']);
    await apply(
      env.ns,
      dataMover('priv-ok', {
        sourcePvc: 'priv-src',
        secretName: 'bucket',
        destinationPath: `${env.ns}/priv`,
        privilegedReader: true,
      }),
    );
    const stalled = await waitFor(
      async () => {
        const dm = await getDataMover(env.ns, 'priv-ok');
        const s = condition(dm, 'Stalled');
        return s?.status === 'True' && s.reason === 'MoverPodNotStarting' ? dm : undefined;
      },
      { timeoutMs: 30_000, what: 'priv-ok Stalled: the restricted namespace refuses the root pod' },
    );
    expect(stalled.status?.message).toContain('the Job created no pod');
    expect(stalled.status?.message).toContain('PodSecurity');
    const job = await getJson<{
      spec: {
        template: { spec: { containers: Array<{ securityContext: { capabilities: { add: string[] } } }> } };
      };
    }>(['get', 'job', 'priv-ok-mover', '-n', env.ns]);
    expect(job?.spec.template.spec.containers[0]?.securityContext.capabilities.add).toEqual([
      'DAC_READ_SEARCH',
    ]);
    await waitForPhase(env.ns, 'priv-ok', 'Failed');
  });
});

export { pvc };
