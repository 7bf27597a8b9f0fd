// Two replicas with leader election: exactly one reconciles; a killed leader is replaced within the
// lease duration; a leader stopped with SIGTERM releases the Lease and the other takes over at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getJson,
  sourceAndSecret,
  uniqueName,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { OperatorProcess, sample } from '../support/operator.js';
import { LEASE_SECONDS, isLeader, leaderOf, replica, stopReplicas } from '../support/replicas.js';

let ns: string;
const replicas: OperatorProcess[] = [];

beforeAll(async () => {
  ns = await createNamespace('dm-leader');
  await sourceAndSecret(ns, 'src');
});

afterAll(async () => {
  await stopReplicas(replicas);
  await deleteNamespace(ns);
});

function make(lease: string): OperatorProcess {
  const r = replica(ns, lease);
  replicas.push(r);
  return r;
}

const reconciled = async (r: OperatorProcess) =>
  sample(await r.scrape(), 'datamover_operations_total', {
    phase: 'CreatingClonedPVC',
    status: 'started',
    namespace: ns,
  }) ?? 0;

/** The leader of a pair, and the other one. */
async function roles(pair: OperatorProcess[]): Promise<[OperatorProcess, OperatorProcess]> {
  const leader = await leaderOf(pair);
  return [leader, pair.find((r) => r !== leader)!];
}

describe('two replicas with --leader-elect', () => {
  it('reconcile through exactly one, and fail over when the leader is killed or stops', async () => {
    const id = uniqueName('lease');
    const a = make(id);
    const b = make(id);
    await Promise.all([a.start(), b.start()]);
    // Both are ready whatever the lease says.
    for (const r of [a, b]) expect((await fetch(`http://127.0.0.1:${r.probePort}/readyz`)).status).toBe(200);

    const [leader, follower] = await roles([a, b]);
    await apply(ns, dataMover('one', { sourcePvc: 'src', secretName: 'bucket' }));
    await waitForPhase(ns, 'one', 'Completed');
    expect(await reconciled(leader)).toBe(1);
    expect(await reconciled(follower)).toBe(0);
    const lease = await getJson<{ spec: { holderIdentity: string } }>(['get', 'lease', id, '-n', ns]);
    expect(lease?.spec.holderIdentity).toMatch(/_/);

    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    await waitFor(() => isLeader(follower), { timeoutMs: 20_000, what: 'the follower to take over' });
    const handover = Date.now() - killedAt;
    console.log(`leader killed: follower took over after ${handover} ms (lease ${LEASE_SECONDS}s)`);
    expect(handover).toBeLessThan((LEASE_SECONDS + 3) * 1000);
    await apply(ns, dataMover('two', { sourcePvc: 'src', secretName: 'bucket' }));
    await waitForPhase(ns, 'two', 'Completed');

    const standby = make(id);
    await standby.start();
    const stoppedAt = Date.now();
    expect(await follower.stop('SIGTERM')).toBe(0);
    await waitFor(() => isLeader(standby), { timeoutMs: 20_000, what: 'the standby to take over' });
    const released = Date.now() - stoppedAt;
    console.log(`leader stopped with SIGTERM: standby took over after ${released} ms`);
    expect(released).toBeLessThan(LEASE_SECONDS * 1000);
    await apply(ns, dataMover('three', { sourcePvc: 'src', secretName: 'bucket' }));
    await waitForPhase(ns, 'three', 'Completed');
  });
});
