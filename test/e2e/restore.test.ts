// Restores through the real apiserver: a DataMoverRestore of a DataMover's backup or a schedule's
// creates the target PVC, runs a restore Job (simulated by kwok, which writes the mover's report) and
// ends Completed with what was restored; the restored PVC is the user's and outlives the restore; a
// PVC a running pod mounts is refused, naming the pod; a failed verification names the files. Then
// generated specs (fast-check): refused with a message, or Completed or Failed with a reason, while
// the operator neither crashes nor spins.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apply,
  backup,
  getJson,
  kubectl,
  kubectlOk,
  pvc,
  sourceAndSecret,
  uniqueName,
  waitFor,
  waitForPhase,
  waitGone,
} from '../support/cluster.js';
import { sample, withOperator } from '../support/operator.js';
import { appPod, reasonOf, restore, restoreHelpers, TERMINAL, type Pvc } from '../support/restores.js';

const env = withOperator('dm-restore', [
  '--source-pvc-grace-period=2s',
  '--pod-start-timeout=4s',
  '--clone-stall-after=1s',
  '--clone-provision-timeout=4s',
]);

const { getRestore, waitForRestore, restorePod, endPod } = restoreHelpers(env);

describe('a DataMoverRestore', () => {
  it("restores a DataMover's newest backup into a new PVC sized like the source, which outlives the restore", async () => {
    await sourceAndSecret(env.ns, 'db', { size: '2Gi' });
    await backup(env.ns, 'db-backup', { sourcePvc: 'db', secretName: 'bucket' });
    await waitForPhase(env.ns, 'db-backup', 'Completed');
    await apply(
      env.ns,
      restore('db-back', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'db' } },
        target: { newPvc: { name: 'db-restored' } },
      }),
    );
    const done = await waitForRestore('db-back');
    expect(done.status?.message).toContain('restored');
    expect(done.status).toMatchObject({
      phase: 'Completed',
      source: `bucket:${env.ns}/db/`,
      targetPvc: 'db-restored',
      bytesRestored: 1048576,
      filesRestored: 3,
      // The simulated restore pod reports what latest resolved to and what it verified.
      run: '2026-01-02-030405',
      filesVerified: 4,
      mismatches: 0,
    });
    expect(reasonOf(done, 'Complete')).toBe('Succeeded');
    const columns = await kubectlOk(['get', 'dmr', 'db-back', '-n', env.ns]);
    expect(columns).toMatch(/PHASE\s+SOURCE\s+RUN\s+TARGET\s+AGE/);
    expect(columns).toContain('db-restored');

    const restored = (await getJson<Pvc>(['get', 'pvc', 'db-restored', '-n', env.ns]))!;
    expect(restored.spec.resources.requests.storage).toBe('2Gi');
    expect(restored.metadata.labels).toEqual({ 'datamover.io/restored-by': 'db-back' });
    expect(restored.metadata.ownerReferences).toBeUndefined();
    // The finished Job goes, so nothing but the user's pods holds the PVC.
    await waitGone('job', 'db-back-restore', env.ns);

    await kubectlOk(['delete', 'dmr', 'db-back', '-n', env.ns]);
    await waitGone('dmr', 'db-back', env.ns);
    expect((await getJson<Pvc>(['get', 'pvc', 'db-restored', '-n', env.ns]))?.status?.phase).toBe('Bound');
  });

  it("restores a schedule's backup of one PVC from the schedule's Secret and root", async () => {
    await sourceAndSecret(env.ns, 'web');
    await apply(env.ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverSchedule',
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 3 * * *',
        selector: { matchLabels: { backup: 'nightly' } },
        template: { secretName: 'bucket', destinationPath: `${env.ns}/nightly` },
      },
    });
    await apply(
      env.ns,
      restore('web-back', {
        source: { schedule: { name: 'nightly', pvc: 'web' } },
        run: '2026-01-02-030405',
        target: { newPvc: { name: 'web-restored', size: '1Gi' } },
      }),
    );
    const done = await waitForRestore('web-back');
    expect(done.status).toMatchObject({ phase: 'Completed', source: `bucket:${env.ns}/nightly/web/` });
  });

  it('shows the run that latest resolved to and how many entries were verified', async () => {
    await apply(
      env.ns,
      restore('resolved', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'db' } },
        target: { newPvc: { name: 'resolved-pvc', size: '1Gi' } },
        podLabels: { simulate: 'hang' },
      }),
    );
    await endPod(await restorePod('resolved'), 0, {
      bytes: 10,
      files: 2,
      restore: { run: '2026-03-04-050607', bytes: 10, files: 2, verified: 5, mismatches: 0, mismatched: [] },
    });
    const done = await waitForRestore('resolved');
    expect(done.status).toMatchObject({
      phase: 'Completed',
      run: '2026-03-04-050607',
      bytesRestored: 10,
      filesRestored: 2,
      filesVerified: 5,
      mismatches: 0,
    });
  });

  it('fails RestoreVerificationFailed naming the files that differ, and counts it', async () => {
    await apply(
      env.ns,
      restore('differs', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'db' } },
        target: { newPvc: { name: 'differs-pvc', size: '1Gi' } },
        podLabels: { simulate: 'hang' },
      }),
    );
    await endPod(await restorePod('differs'), 9, {
      error: 'the restored volume differs from the backup',
      restore: {
        run: '2026-03-04-050607',
        bytes: 10,
        files: 2,
        verified: 5,
        mismatches: 2,
        mismatched: ['a.txt (content)', 'b (missing)'],
      },
    });
    const failed = await waitForRestore('differs');
    expect(failed.status?.phase).toBe('Failed');
    expect(reasonOf(failed, 'Failed')).toBe('RestoreVerificationFailed');
    expect(failed.status).toMatchObject({
      mismatches: 2,
      mismatchedFiles: ['a.txt (content)', 'b (missing)'],
    });
    expect(failed.status?.message).toContain('a.txt (content)');
    const text = await env.operator.scrape();
    expect(sample(text, 'datamover_restore_verification_failures_total', { namespace: env.ns })).toBe(1);
    expect(
      sample(text, 'datamover_restore_operations_total', {
        namespace: env.ns,
        phase: 'Restoring',
        status: 'failure',
      }),
    ).toBe(1);
  });

  it('refuses an existing PVC that a running pod mounts, naming the pod, and starts no Job', async () => {
    await apply(env.ns, pvc('app-data'), appPod('app', 'app-data'));
    await waitFor(
      async () =>
        (await getJson<{ status?: { phase?: string } }>(['get', 'pod', 'app', '-n', env.ns]))?.status
          ?.phase === 'Running',
      { what: 'the application pod to run' },
    );
    await apply(
      env.ns,
      restore('busy', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'db' } },
        target: { existingPvc: 'app-data' },
      }),
    );
    const failed = await waitForRestore('busy');
    expect(reasonOf(failed, 'Failed')).toBe('TargetPVCInUse');
    expect(failed.status?.message).toContain('pod(s) app');
    expect(await getJson(['get', 'job', 'busy-restore', '-n', env.ns])).toBeUndefined();
  });

  it('asks for a size when the PVC the backup came from is gone', async () => {
    await apply(
      env.ns,
      restore('nosize', {
        source: { backup: { secretName: 'bucket', sourcePvc: 'gone' } },
        target: { newPvc: { name: 'nosize-pvc' } },
      }),
    );
    const failed = await waitForRestore('nosize');
    expect(reasonOf(failed, 'Failed')).toBe('TargetSizeUnknown');
    expect(failed.status?.message).toContain('target.newPvc.size');
    expect(await getJson(['get', 'pvc', 'nosize-pvc', '-n', env.ns])).toBeUndefined();
  });
});
const wild = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', ' ', '..', '/', 'a'.repeat(300), 'null', '../../etc'),
  fc.integer(),
  fc.boolean(),
);
const often = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 80 }, { arbitrary: wild as fc.Arbitrary<unknown>, weight: 1 });
const dnsName = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
/** A good value most of the time, a bad one (refused by the CRD or by the operator) now and then. */
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: bad as fc.Arbitrary<unknown>, weight: 1 });

function restoreSpecs(ns: string) {
  const backupSource = fc.record(
    {
      secretName: often(fc.constant('bucket')),
      sourcePvc: often(fc.constantFrom('src', 'src', 'missing')),
      backupRoot: often(
        fc.oneof(
          { arbitrary: fc.constant(`${ns}/src`), weight: 4 },
          { arbitrary: fc.constantFrom('other-team/db', '/', 'a//b', 'a/../b', 'a\nb'), weight: 1 },
        ),
      ),
    },
    { requiredKeys: ['secretName', 'sourcePvc'] },
  );
  const scheduleSource = fc.record({
    name: often(fc.constantFrom('sched', 'no-such-schedule')),
    pvc: often(fc.constantFrom('src', 'other')),
  });
  const source = fc.oneof(
    { arbitrary: fc.record({ backup: backupSource }), weight: 6 },
    { arbitrary: fc.record({ schedule: scheduleSource }), weight: 3 },
    { arbitrary: fc.record({ backup: backupSource, schedule: scheduleSource }), weight: 1 },
    { arbitrary: fc.constant({}), weight: 1 },
  );
  const target = fc.oneof(
    {
      arbitrary: fc.record({
        newPvc: fc.record(
          {
            name: dnsName.map((n) => `t-${n}`),
            size: often(mostly(fc.constantFrom('1Gi', '500Mi'), fc.constant('lots'))),
            storageClassName: often(
              mostly(fc.constantFrom('test-immediate', 'test-wffc'), fc.constant('test-broken')),
            ),
            accessModes: often(
              mostly(fc.constantFrom(['ReadWriteOnce'], ['ReadWriteMany']), fc.constant(['Sometimes'])),
            ),
          },
          { requiredKeys: ['name'] },
        ),
      }),
      weight: 6,
    },
    {
      arbitrary: fc.record({ existingPvc: often(fc.constantFrom('src', 'missing', 'busy-pvc')) }),
      weight: 3,
    },
    { arbitrary: fc.record({ newPvc: fc.record({ name: dnsName }), existingPvc: dnsName }), weight: 1 },
  );
  return fc.record(
    {
      source,
      target,
      run: often(
        mostly(
          fc.constantFrom('latest', 'mirror', '2026-01-02-030405'),
          fc.constantFrom('yesterday', '2026-1-2'),
        ),
      ),
      overwrite: often(fc.boolean()),
      image: often(
        mostly(
          fc.constant({ tag: '0.1.0' }),
          fc.constantFrom({ repository: 'docker.io/evil/miner', tag: 'latest' }, { pullPolicy: 'Sometimes' }),
        ),
      ),
      podLabels: often(fc.constantFrom({ simulate: 'fail' }, { simulate: 'config-error' }, { team: 'a' })),
      backoffLimit: often(fc.integer({ min: 0, max: 1 })),
    },
    { requiredKeys: ['source', 'target'] },
  );
}

async function reconciles(): Promise<number> {
  const text = await env.operator.scrape();
  return ['success', 'error', 'conflict']
    .map((result) => sample(text, 'datamover_reconcile_total', { result }) ?? 0)
    .reduce((a, b) => a + b, 0);
}

describe('generated DataMoverRestore specs through the real apiserver', () => {
  it('are refused with a message, or end Completed or Failed with a reason, and the operator neither crashes nor spins', async () => {
    const SEED = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);
    console.log(`fast-check seed ${SEED}`);
    await sourceAndSecret(env.ns, 'src');
    await apply(env.ns, pvc('busy-pvc'), appPod('busy-app', 'busy-pvc'), {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverSchedule',
      metadata: { name: 'sched' },
      spec: { schedule: '0 3 * * *', sourcePvc: 'src', template: { secretName: 'bucket' } },
    });
    const before = await reconciles();
    let accepted = 0;
    let refused = 0;
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(restoreSpecs(env.ns), { minLength: 12, maxLength: 12 }), async (specs) => {
        const results = await Promise.all(
          specs.map(async (spec) => {
            const name = uniqueName('gen');
            const object = {
              ...restore(name, spec as Record<string, unknown>),
              metadata: { name, namespace: env.ns },
            };
            const r = await kubectl(['create', '-f', '-', '-o', 'name'], JSON.stringify(object));
            return r.code === 0 ? { name } : { name, refusal: r.stderr };
          }),
        );
        for (const r of results.filter((r) => r.refusal !== undefined)) {
          expect(r.refusal).toMatch(/DataMoverRestore|datamoverrestore/);
          expect(await getRestore(r.name)).toBeUndefined();
          refused++;
          if (refused <= 3) console.log(r.refusal);
        }
        for (const { name } of results.filter((r) => r.refusal === undefined)) {
          accepted++;
          const r = await waitForRestore(name, TERMINAL, 90_000);
          const phase = r.status!.phase!;
          const reason = reasonOf(r, phase === 'Failed' ? 'Failed' : 'Complete');
          expect(reason, name).toBeTruthy();
          expect(r.status?.message, name).toBeTruthy();
          outcomes[`${phase}/${reason}`] = (outcomes[`${phase}/${reason}`] ?? 0) + 1;
        }
        expect(env.operator.exited, env.operator.logs.slice(-2000)).toBe(false);
      }),
      { numRuns: 2, endOnFailure: true, seed: SEED },
    );
    console.log(
      `generated restores: ${accepted} accepted, ${refused} refused; outcomes ${JSON.stringify(outcomes)}`,
    );
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(env.operator.logs).not.toMatch(/TypeError|RangeError|ReferenceError|unhandled|uncaught/i);
    await waitFor(
      async () => sample(await env.operator.scrape(), 'datamover_restore_workqueue_depth') === 0,
      {
        what: 'the restore work queue to drain',
      },
    );
    // Bounded work: a waiting restore is looked at every 2 s at most, a finished one not at all.
    expect((await reconciles()) - before).toBeLessThan(accepted * 40);
  });
});
