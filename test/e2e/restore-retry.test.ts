// Retrying a restore, through the real apiserver. A failed restore deletes the new PVC it created (and
// its Job), so the same restore applied again, as GitOps does, proceeds; a PVC a restore created and
// left (kept because a pod mounted it when it failed, or its restore deleted mid-way) is restored into,
// as it is, by the next restore of that name; a PVC no restore made, and one a Completed restore
// filled, still fail TargetPVCExists and are left as they were. Then another namespace's backups:
// read with sourceNamespace from a prefix an administrator allows the namespace, refused otherwise.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  getJson,
  kubectlOk,
  pvc,
  sourceAndSecret,
  uniqueName,
  waitFor,
  waitGone,
} from '../support/cluster.js';
import { withOperator } from '../support/operator.js';
import { appPod, reasonOf, restore, restoreHelpers } from '../support/restores.js';

const env = withOperator('dm-restore-retry', ['--source-pvc-grace-period=2s', '--pod-start-timeout=4s']);

const { getPvc, waitForRestore, restorePod, endPod, eventsOf, waitRunning } = restoreHelpers(env);

// The PVC the backups are of and the bucket's Secret, which every restore here names.
beforeAll(() => sourceAndSecret(env.ns, 'db'));

describe('a retry of a failed DataMoverRestore', () => {
  const fromDb = { backup: { secretName: 'bucket', sourcePvc: 'db' } };

  it('is not blocked: the failed restore deleted the new PVC it created, and the same restore applied again completes', async () => {
    const spec = { source: fromDb, target: { newPvc: { name: 'retry-pvc', size: '1Gi' } } };
    await apply(env.ns, restore('retry', { ...spec, podLabels: { simulate: 'fail' }, backoffLimit: 0 }));
    const failed = await waitForRestore('retry');
    expect(reasonOf(failed, 'Failed')).toBe('MoverJobFailed');
    const note = 'deleted PVC retry-pvc, which it had created, so that a new restore can create it again';
    expect(failed.status?.message).toContain(note);
    expect((await eventsOf('retry', 'MoverJobFailed')).join('\n')).toContain(note);
    await waitGone('pvc', 'retry-pvc', env.ns);
    await waitGone('job', 'retry-restore', env.ns);

    // As GitOps does: the failed restore deleted, the same one applied again.
    await kubectlOk(['delete', 'dmr', 'retry', '-n', env.ns]);
    await waitGone('dmr', 'retry', env.ns);
    await apply(env.ns, restore('retry', spec));
    const done = await waitForRestore('retry');
    expect(done.status?.phase, done.status?.message).toBe('Completed');
    const restored = (await getPvc('retry-pvc'))!;
    expect(restored.metadata.labels).toEqual({ 'datamover.io/restored-by': 'retry' });
    expect(restored.metadata.annotations?.['datamover.io/restored-by-uid']).toBe(done.metadata.uid);

    // The PVC a Completed restore filled is someone's: another restore of that name fails, untouched.
    await apply(env.ns, restore('retry-over', spec));
    const refused = await waitForRestore('retry-over');
    expect(reasonOf(refused, 'Failed')).toBe('TargetPVCExists');
    expect(refused.status?.message).toContain('DataMoverRestore retry created it and restored into it');
    const after = (await getPvc('retry-pvc'))!;
    expect(after.metadata.uid).toBe(restored.metadata.uid);
    expect(after.metadata.deletionTimestamp).toBeUndefined();
  });

  it('keeps the PVC it created while another pod mounts it; once that pod is gone, the next restore restores into it', async () => {
    await apply(
      env.ns,
      restore('held', {
        source: fromDb,
        target: { newPvc: { name: 'held-pvc', size: '1Gi' } },
        podLabels: { simulate: 'hang' },
      }),
    );
    const mover = await restorePod('held');
    await apply(env.ns, appPod('held-app', 'held-pvc'));
    await waitRunning('held-app');
    await endPod(mover, 10, { error: 'no Complete backup of PVC db' });
    const failed = await waitForRestore('held');
    expect(reasonOf(failed, 'Failed')).toBe('BackupNotFound');
    expect(failed.status?.message).toContain(
      'kept PVC held-pvc, which it created, because running pod(s) held-app mount it',
    );
    const kept = (await getPvc('held-pvc'))!;
    expect(kept.metadata.deletionTimestamp).toBeUndefined();

    await kubectlOk(['delete', 'pod', 'held-app', '-n', env.ns, '--wait=false']);
    await waitGone('pod', 'held-app', env.ns);
    await apply(
      env.ns,
      restore('held-again', { source: fromDb, target: { newPvc: { name: 'held-pvc', size: '1Gi' } } }),
    );
    const done = await waitForRestore('held-again');
    expect(done.status?.phase, done.status?.message).toBe('Completed');
    expect((await eventsOf('held-again', 'Restoring')).join('\n')).toContain(
      'PVC held-pvc, which DataMoverRestore held created and left (it failed), is ready',
    );
    // The same PVC, restored into as it was: not deleted, not replaced.
    expect((await getPvc('held-pvc'))?.metadata.uid).toBe(kept.metadata.uid);
  });

  it('restores into the PVC of a restore deleted mid-way', async () => {
    await apply(
      env.ns,
      restore('dropped', {
        source: fromDb,
        target: { newPvc: { name: 'dropped-pvc', size: '1Gi' } },
        podLabels: { simulate: 'hang' },
      }),
    );
    const mover = await restorePod('dropped');
    const left = (await getPvc('dropped-pvc'))!;
    await kubectlOk(['delete', 'dmr', 'dropped', '-n', env.ns, '--wait=false']);
    await waitGone('pod', mover, env.ns);
    await apply(
      env.ns,
      restore('dropped-again', { source: fromDb, target: { newPvc: { name: 'dropped-pvc', size: '1Gi' } } }),
    );
    const done = await waitForRestore('dropped-again');
    expect(done.status?.phase, done.status?.message).toBe('Completed');
    expect((await eventsOf('dropped-again', 'Restoring')).join('\n')).toContain(
      'which DataMoverRestore dropped created and left (it is gone)',
    );
    expect((await getPvc('dropped-pvc'))?.metadata.uid).toBe(left.metadata.uid);
  });

  it('still fails TargetPVCExists on a PVC no restore made, and leaves it as it was', async () => {
    await apply(env.ns, pvc('theirs'));
    const before = await waitFor(async () => {
      const p = await getPvc('theirs');
      return p?.status?.phase === 'Bound' ? p : undefined;
    });
    await apply(
      env.ns,
      restore('onto-theirs', { source: fromDb, target: { newPvc: { name: 'theirs', size: '1Gi' } } }),
    );
    const failed = await waitForRestore('onto-theirs');
    expect(reasonOf(failed, 'Failed')).toBe('TargetPVCExists');
    expect(failed.status?.message).toContain('was not created by this restore');
    const after = (await getPvc('theirs'))!;
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.deletionTimestamp).toBeUndefined();
    expect(after.metadata.labels).toBeUndefined();
    expect(await getJson(['get', 'job', 'onto-theirs-restore', '-n', env.ns])).toBeUndefined();
  });
});

describe("a DataMoverRestore of another namespace's backups", () => {
  it('reads <sourceNamespace>/<sourcePvc> when the namespace may read that prefix, and is refused otherwise', async () => {
    const teamA = uniqueName('team-a');
    const source = { backup: { secretName: 'bucket', sourcePvc: 'db', sourceNamespace: teamA } };
    await apply(
      env.ns,
      restore('not-allowed', { source, target: { newPvc: { name: 'not-allowed-pvc', size: '1Gi' } } }),
    );
    const refused = await waitForRestore('not-allowed');
    expect(reasonOf(refused, 'Failed')).toBe('DestinationNotAllowed');
    expect(refused.status?.message).toContain(`backup root ${teamA}/db (the backups of namespace ${teamA})`);
    expect(await getPvc('not-allowed-pvc')).toBeUndefined();

    const annotation = 'datamover.io/allowed-destination-prefixes';
    await kubectlOk(['annotate', 'namespace', env.ns, `${annotation}=${teamA}`, '--overwrite']);
    try {
      await apply(
        env.ns,
        restore('from-a', {
          source,
          target: { newPvc: { name: 'from-a-pvc', size: '1Gi' } },
          podLabels: { simulate: 'hang' },
        }),
      );
      const pod = await getJson<{
        spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> };
      }>(['get', 'pod', await restorePod('from-a'), '-n', env.ns]);
      // The mover checks the root's marker names the other namespace's PVC.
      expect(pod?.spec.containers[0]?.env).toEqual(
        expect.arrayContaining([
          { name: 'DATAMOVER_BACKUP_ROOT', value: `${teamA}/db` },
          { name: 'DATAMOVER_NAMESPACE', value: teamA },
          { name: 'DATAMOVER_SOURCE_PVC', value: 'db' },
        ]),
      );
      await endPod(await restorePod('from-a'), 0, {
        restore: {
          run: '2026-01-02-030405',
          bytes: 10,
          files: 1,
          verified: 2,
          mismatches: 0,
          mismatched: [],
        },
      });
      const done = await waitForRestore('from-a');
      expect(done.status).toMatchObject({ phase: 'Completed', source: `bucket:${teamA}/db/` });
    } finally {
      await kubectlOk(['annotate', 'namespace', env.ns, `${annotation}-`]);
    }
  });
});

// Mostly well-formed values, with the odd hostile one.
