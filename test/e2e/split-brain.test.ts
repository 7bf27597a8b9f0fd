// Split brain: the leader is paused (SIGSTOP) past its lease, the other replica takes over and
// works, and the paused process, resumed with SIGCONT, makes no write: it may no longer hold the
// lease, so every write is fenced, and its elector then sees the new holder and exits. The replicas
// run as two ServiceAccounts so the apiserver's audit log tells their requests apart. The paused
// leader talks through a proxy: its DataMover watch is frozen while it is paused (its cache stays
// stale) and the answers about the Lease are held back when it resumes, so its overdue re-check of
// a missing source is sure to reach a status write before its elector can notice the new holder:
// the test sees that write tried and refused, not merely absent.
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
import { requestsBy, serviceAccountToken, tokenKubeconfig } from '../support/audit.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { OperatorProcess } from '../support/operator.js';
import { isLeader, replica, stopReplicas } from '../support/replicas.js';

let ns: string;
const replicas: OperatorProcess[] = [];
const proxy = new FaultProxy();
const LEASES = /coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases/;

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
  await stopReplicas(replicas);
  await proxy.stop();
  await deleteNamespace(ns);
});

/** A replica running as ServiceAccount `sa`, so the audit log tells its requests apart. */
async function start(sa: string, lease: string, kubeconfig?: string): Promise<OperatorProcess> {
  const r = replica(ns, lease, [
    `--kubeconfig=${kubeconfig ?? (await tokenKubeconfig(sa, ns))}`,
    '--source-pvc-grace-period=3s',
  ]);
  replicas.push(r);
  await r.start();
  return r;
}

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

describe('a leader paused past its lease', () => {
  it('makes no write when it resumes after another replica took over', async () => {
    const started = new Date();
    const lease = uniqueName('split');
    const a = await start(
      'replica-a',
      lease,
      await proxy.start({ token: await serviceAccountToken('replica-a', ns) }),
    );
    await waitFor(() => isLeader(a), { timeoutMs: 20_000, what: 'replica-a to lead' });
    const b = await start('replica-b', lease);
    await apply(
      ns,
      dataMover('before', { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${ns}/before` }),
    );
    await waitForPhase(ns, 'before', 'Completed');
    // Work the paused leader still has queued when it resumes: the pass at a missing source's grace
    // deadline, which passes while it is paused, against a cache that no longer matches the cluster.
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

    // Its cache of DataMovers stops here: what replica-b writes reaches it only after the test.
    proxy.hold(/datamovers/);
    // It is paused waiting for a Lease answer that is held back until its resumed pass has been
    // refused. Paused between renewals instead, a renewal sent just before the pause could be
    // answered during it, and on resume that answer (another holder) would end the process before
    // the overdue pass reaches its write (seen once in CI: the refused write never came).
    proxy.holdAnswers(LEASES);
    await waitFor(async () => proxy.answersHeld(LEASES) > 0, { what: "replica-a's renewal held" });
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
    // On resume its pass at the missing source's deadline (overdue) goes on to a status write, and
    // its elector still waits for the Lease's answer, held back until the write has been refused.
    a.signal('SIGCONT');
    await waitFor(async () => a.logs.includes('not holding the leader lease; making no write'), {
      what: "replica-a's refused write",
    });
    proxy.releaseAnswers(LEASES);
    proxy.release();
    await waitFor(async () => a.exited, {
      timeoutMs: 20_000,
      what: 'the resumed replica to give up and exit',
    });
    expect(a.exitCode).toBe(1);
    expect(a.logs).toContain('lost the leader lease');

    const writes = requestsBy(`system:serviceaccount:${ns}:replica-a`, resumedAt).filter((r) =>
      WRITES.has(r.permission.split(':')[1]!),
    );
    // The renewal it was paused in the middle of may go on, from a Lease read before the pause, to
    // an update: the apiserver refuses it (409, the Lease's resourceVersion moved), so it changes
    // nothing. Nothing else is even sent.
    const leases = (w: { permission: string }) => w.permission === 'coordination.k8s.io/leases:update';
    expect(writes.filter((w) => !leases(w))).toEqual([]);
    expect(writes.filter(leases).map((w) => w.code)).toEqual(writes.filter(leases).map(() => 409));
    // replica-a did write before it was paused, so the audit query can see it.
    expect(
      requestsBy(`system:serviceaccount:${ns}:replica-a`, started).some((r) =>
        r.permission.endsWith(':update'),
      ),
    ).toBe(true);
    expect(await isLeader(b)).toBe(true);
  });
});
