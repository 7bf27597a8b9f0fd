// Owners on restore through the real apiserver: restoreOwners is refused in a namespace an
// administrator did not open to privileged movers (before anything is created); once opted in, the
// restore Job runs as root with only CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_OVERRIDE, which Pod
// Security baseline admits. A restore whose mover (simulated by kwok: the report is patched into its
// pod) could not apply owners is Completed with the count and the first paths in status, the
// OwnersRestored condition False and a Warning event: never a silent Completed.
import { beforeAll, describe, expect, it } from 'vitest';
import { apply, getJson, kubectlOk, sourceAndSecret } from '../support/cluster.js';
import { withOperator } from '../support/operator.js';
import { reasonOf, restore, restoreHelpers } from '../support/restores.js';

const env = withOperator('dm-owners', ['--source-pvc-grace-period=2s', '--pod-start-timeout=4s']);
const { getPvc, waitForRestore, restorePod, endPod, eventsOf } = restoreHelpers(env);

const from = { backup: { secretName: 'bucket', sourcePvc: 'db' } };
const REPORT = {
  run: '2026-01-02-030405',
  bytes: 300,
  files: 3,
  verified: 208,
  mismatches: 0,
  mismatched: [],
};
const NAMED = Array.from({ length: 10 }, (_, i) => `pgdata/base/${i}: owner (65534:65534, not 999:999)`);

interface PodSpec {
  spec: {
    securityContext: { runAsUser?: number; runAsNonRoot?: boolean };
    containers: Array<{
      env?: Array<{ name: string; value?: string }>;
      securityContext: {
        capabilities: { add?: string[]; drop: string[] };
        readOnlyRootFilesystem: boolean;
        allowPrivilegeEscalation: boolean;
      };
    }>;
  };
}

beforeAll(async () => {
  await sourceAndSecret(env.ns, 'db');
});

describe('restoreOwners', () => {
  it('is refused in a namespace that did not opt in to privileged movers, before the PVC is created', async () => {
    await apply(
      env.ns,
      restore('refused', { source: from, target: { newPvc: { name: 'refused-pvc' } }, restoreOwners: true }),
    );
    const failed = await waitForRestore('refused');
    expect(failed.status?.phase).toBe('Failed');
    expect(reasonOf(failed, 'Failed')).toBe('PrivilegedMoverNotAllowed');
    expect(failed.status?.message).toContain('datamover.io/privileged-movers=true');
    expect(await getPvc('refused-pvc')).toBeUndefined();
    expect(await getJson(['get', 'job', 'refused-restore', '-n', env.ns])).toBeUndefined();
  });

  it('runs the restore as root with only the capabilities that set owners, admitted by Pod Security baseline', async () => {
    await kubectlOk(['annotate', 'namespace', env.ns, 'datamover.io/privileged-movers=true', '--overwrite']);
    await kubectlOk([
      'label',
      'namespace',
      env.ns,
      'pod-security.kubernetes.io/enforce=baseline',
      '--overwrite',
    ]);
    await apply(
      env.ns,
      restore('owners', {
        source: from,
        target: { newPvc: { name: 'owners-pvc' } },
        restoreOwners: true,
        podLabels: { simulate: 'hang' },
      }),
    );
    const pod = await restorePod('owners');
    const spec = (await getJson<PodSpec>(['get', 'pod', pod, '-n', env.ns]))!.spec;
    expect(spec.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(spec.containers[0]!.securityContext).toMatchObject({
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'FOWNER', 'FSETID', 'DAC_OVERRIDE'] },
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(spec.containers[0]!.env).toContainEqual({ name: 'DATAMOVER_RESTORE_OWNERS', value: 'true' });

    await endPod(pod, 0, { restore: REPORT });
    const done = await waitForRestore('owners');
    expect(done.status).toMatchObject({ phase: 'Completed', ownersNotApplied: 0 });
    expect(reasonOf(done, 'OwnersRestored')).toBe('OwnersApplied');
  });
});

describe('a restore that could not apply owners', () => {
  it('is Completed with the count and the first paths in status, a condition and a Warning event', async () => {
    await apply(
      env.ns,
      restore('unowned', {
        source: from,
        target: { newPvc: { name: 'unowned-pvc' } },
        podLabels: { simulate: 'hang' },
      }),
    );
    await endPod(await restorePod('unowned'), 0, {
      restore: { ...REPORT, notApplied: { count: 208, named: NAMED } },
    });
    const done = await waitForRestore('unowned');
    expect(done.status).toMatchObject({
      phase: 'Completed',
      ownersNotApplied: 208,
      ownersNotAppliedFiles: NAMED,
    });
    const owners = done.status?.conditions?.find((c) => c.type === 'OwnersRestored');
    expect(owners).toMatchObject({ status: 'False', reason: 'OwnersNotApplied' });
    expect(done.status?.message).toContain('could not apply the owner of 208 entries');
    const [warning] = await eventsOf('unowned', 'OwnersNotApplied');
    expect(warning).toContain('could not apply the owner of 208 entries');
    expect(warning).toContain('pgdata/base/0: owner (65534:65534, not 999:999)');
    const events = await kubectlOk([
      'get',
      'events',
      '-n',
      env.ns,
      '--field-selector',
      'reason=OwnersNotApplied',
    ]);
    expect(events).toMatch(/Warning\s+OwnersNotApplied/);
  });
});
