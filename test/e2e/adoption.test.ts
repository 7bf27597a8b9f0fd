// Children are adopted by UID, never by name. A DataMover deleted and re-created at once under the
// same name (GitOps self-heal after ttlSecondsAfterFinished does this routinely) runs its own Job: it
// waits for the children of the earlier one to go, and never reports their Complete Job as its own
// run. A PVC it did not make, holding the clone's name, fails the run at once with NameConflict and is
// left alone.
import { describe, expect, it } from 'vitest';
import { createsIn } from '../support/audit.js';
import {
  apply,
  condition,
  dataMover,
  getDataMover,
  getJson,
  kubectlOk,
  pvc,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { withOperator } from '../support/operator.js';

const env = withOperator('dm-adopt');
const HOLD = 'test.datamover.io/hold';

interface Meta {
  metadata: { uid: string; deletionTimestamp?: string; finalizers?: string[] };
}

describe('a DataMover re-created under the same name', () => {
  it("waits for the earlier run's children to go, then runs and records its own Job", async () => {
    await sourceAndSecret(env.ns, 'src');
    const since = new Date();
    const spec = { sourcePvc: 'src', secretName: 'bucket' };
    await apply(env.ns, dataMover('again', spec));
    const first = await waitForPhase(env.ns, 'again', 'Completed');
    const firstJob = (await getJson<Meta>(['get', 'job', 'again-mover', '-n', env.ns]))!;
    // The garbage collector would take the earlier Job at once; a finalizer keeps it for the test,
    // Terminating, as a slow collector would.
    await kubectlOk([
      'patch',
      'job',
      'again-mover',
      '-n',
      env.ns,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { finalizers: [HOLD] } }),
    ]);

    await kubectlOk(['delete', 'dm', 'again', '-n', env.ns, '--wait=false']);
    await waitFor(async () => (await getDataMover(env.ns, 'again'))?.metadata.uid !== first.metadata.uid, {
      what: 'the earlier DataMover gone',
    });
    await apply(env.ns, dataMover('again', spec));
    const waiting = await waitFor(
      async () => {
        const dm = await getDataMover(env.ns, 'again');
        return condition(dm, 'Reconciling')?.reason === 'WaitingForOldChild' ? dm : undefined;
      },
      { what: 'the new DataMover waiting for the earlier children' },
    );
    expect(waiting.status?.message).toContain(`Job ${env.ns}/again-mover`);
    expect(waiting.status?.phase).not.toBe('Completed');

    await kubectlOk([
      'patch',
      'job',
      'again-mover',
      '-n',
      env.ns,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    const second = await waitForPhase(env.ns, 'again', 'Completed', 60_000);
    expect(new Date(second.status!.startTime!).getTime()).toBeGreaterThan(
      new Date(first.status!.completionTime!).getTime(),
    );
    const secondJob = (await getJson<Meta>(['get', 'job', 'again-mover', '-n', env.ns]))!;
    expect(secondJob.metadata.uid).not.toBe(firstJob.metadata.uid);
    const { created } = createsIn(env.ns, since);
    expect(created.get('jobs/again-mover')).toBe(2);
    expect(created.get('persistentvolumeclaims/again-clone')).toBe(2);
  });
});

describe('a PVC the operator did not make, holding the clone name', () => {
  it('fails the run with NameConflict within seconds and is left untouched', async () => {
    await sourceAndSecret(env.ns, 'taken-src');
    await apply(env.ns, pvc('taken-clone'));
    const foreign = (await getJson<Meta>(['get', 'pvc', 'taken-clone', '-n', env.ns]))!;
    const started = Date.now();
    await apply(env.ns, dataMover('taken', { sourcePvc: 'taken-src', secretName: 'bucket' }));
    const failed = await waitForPhase(env.ns, 'taken', 'Failed', 10_000);
    console.log(`NameConflict after ${Date.now() - started} ms`);
    expect(condition(failed, 'Failed')?.reason).toBe('NameConflict');
    expect(failed.status?.message).toContain(`PersistentVolumeClaim ${env.ns}/taken-clone already exists`);
    const after = (await getJson<Meta>(['get', 'pvc', 'taken-clone', '-n', env.ns]))!;
    expect(after.metadata.uid).toBe(foreign.metadata.uid);
    expect(after.metadata.deletionTimestamp).toBeUndefined();
    expect(await getJson(['get', 'job', 'taken-mover', '-n', env.ns])).toBeUndefined();
  });
});
