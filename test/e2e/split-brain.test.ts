// Split brain: the leader is paused (SIGSTOP) past its lease, the other replica takes over and
// works, and the paused process, resumed with SIGCONT, makes no write: it may no longer hold the
// lease, so every write is fenced, and its elector then sees the new holder and exits. The replicas
// run as two ServiceAccounts so the apiserver's audit log tells their requests apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  kubectlOk,
  sourceAndSecret,
  uniqueName,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { requestsBy, tokenKubeconfig } from '../support/audit.js';
import { OperatorProcess, sample } from '../support/operator.js';

let ns: string;
const replicas: OperatorProcess[] = [];
const LEASE_SECONDS = 4;

beforeAll(async () => {
  ns = await createNamespace('dm-split');
  await sourceAndSecret(ns, 'src');
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'config/rbac/role.yaml']);
  await kubectlOk([
    'create',
    'role',
    'leases',
    '-n',
    ns,
    '--verb=get,create,update',
    '--resource=leases.coordination.k8s.io',
  ]);
  for (const sa of ['replica-a', 'replica-b']) {
    await kubectlOk(['create', 'serviceaccount', sa, '-n', ns]);
    await kubectlOk(['create', 'rolebinding', sa, '-n', ns, '--role=leases', `--serviceaccount=${ns}:${sa}`]);
    await kubectlOk([
      'create',
      'rolebinding',
      `${sa}-manager`,
      '-n',
      ns,
      '--clusterrole=datamover-operator-manager-role',
      `--serviceaccount=${ns}:${sa}`,
    ]);
  }
});

afterAll(async () => {
  for (const r of replicas) {
    r.signal('SIGCONT');
    await r.stop('SIGKILL');
  }
  await deleteNamespace(ns);
});

async function replica(sa: string, lease: string): Promise<OperatorProcess> {
  const r = new OperatorProcess(
    [ns],
    [
      `--kubeconfig=${await tokenKubeconfig(sa, ns)}`,
      '--leader-elect',
      `--leader-election-namespace=${ns}`,
      `--leader-election-id=${lease}`,
      `--lease-duration=${LEASE_SECONDS}s`,
      '--renew-deadline=3s',
      '--retry-period=500ms',
      '--source-pvc-grace-period=3s',
    ],
  );
  replicas.push(r);
  await r.start();
  return r;
}

const isLeader = async (r: OperatorProcess) => sample(await r.scrape(), 'datamover_leader') === 1;
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

describe('a leader paused past its lease', () => {
  it('makes no write when it resumes after another replica took over', async () => {
    const started = new Date();
    const lease = uniqueName('split');
    const a = await replica('replica-a', lease);
    await waitFor(() => isLeader(a), { timeoutMs: 20_000, what: 'replica-a to lead' });
    const b = await replica('replica-b', lease);
    await apply(
      ns,
      dataMover('before', { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${ns}/before` }),
    );
    await waitForPhase(ns, 'before', 'Completed');
    // Work the paused leader still has queued when it resumes: the re-check of a missing source,
    // due at once, against a cache that no longer matches the cluster.
    await apply(
      ns,
      dataMover('stalled', { sourcePvc: 'missing', secretName: 'bucket', destinationPath: `${ns}/stalled` }),
    );
    await waitFor(
      async () =>
        (await getDataMover(ns, 'stalled'))?.status?.conditions?.some(
          (c) => c.type === 'Stalled' && c.status === 'True',
        ),
      { what: 'stalled DataMover' },
    );

    a.signal('SIGSTOP');
    await waitFor(() => isLeader(b), { timeoutMs: 30_000, what: 'replica-b to take over' });
    await apply(
      ns,
      ...['alpha', 'beta', 'gamma'].map((n) =>
        dataMover(`after-${n}`, { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${ns}/${n}` }),
      ),
    );
    for (const n of ['alpha', 'beta', 'gamma']) await waitForPhase(ns, `after-${n}`, 'Completed');
    await waitForPhase(ns, 'stalled', 'Failed');

    const resumedAt = new Date();
    a.signal('SIGCONT');
    await waitFor(async () => a.exited, {
      timeoutMs: 20_000,
      what: 'the resumed replica to give up and exit',
    });
    expect(a.exitCode).toBe(1);
    expect(a.logs).toContain('lost the leader lease');

    const writes = requestsBy(`system:serviceaccount:${ns}:replica-a`, resumedAt).filter((r) =>
      WRITES.has(r.permission.split(':')[1]!),
    );
    expect(writes).toEqual([]);
    // replica-a did write before it was paused, so the audit query can see it.
    expect(
      requestsBy(`system:serviceaccount:${ns}:replica-a`, started).some((r) =>
        r.permission.endsWith(':update'),
      ),
    ).toBe(true);
    expect(await isLeader(b)).toBe(true);
  });
});
