// Leader failover with 50 DataMovers in flight. SIGKILL: the follower takes over within the lease
// and every DataMover completes with no child created twice. SIGTERM: the leader finishes its
// in-flight reconciles, releases the Lease and exits 0, and a standby takes over at once. The
// apiserver's audit log counts the creates of every child, whichever replica made them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, createsIn } from '../support/audit.js';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getJson,
  kubectlOk,
  sourceAndSecret,
  uniqueName,
  waitFor,
} from '../support/cluster.js';
import { OperatorProcess, sample } from '../support/operator.js';

let ns: string;
const replicas: OperatorProcess[] = [];
const LEASE_SECONDS = 4;
const IN_FLIGHT = 50;

beforeAll(async () => {
  ns = await createNamespace('dm-failover');
  await sourceAndSecret(ns, 'src');
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await deleteNamespace(ns);
});

async function replica(lease: string): Promise<OperatorProcess> {
  const r = new OperatorProcess(
    [ns],
    [
      '--leader-elect',
      `--leader-election-namespace=${ns}`,
      `--leader-election-id=${lease}`,
      `--lease-duration=${LEASE_SECONDS}s`,
      '--renew-deadline=3s',
      '--retry-period=500ms',
      '--shutdown-timeout=10s',
    ],
  );
  replicas.push(r);
  await r.start();
  return r;
}

const isLeader = async (r: OperatorProcess) => sample(await r.scrape(), 'datamover_leader') === 1;

async function leaderOf(pool: OperatorProcess[]): Promise<OperatorProcess> {
  return waitFor(
    async () => {
      const flags = await Promise.all(pool.map(isLeader));
      return flags.filter(Boolean).length === 1 ? pool[flags.indexOf(true)] : undefined;
    },
    { timeoutMs: 20_000, what: 'exactly one leader' },
  );
}

interface Phases {
  items: Array<{ metadata: { name: string }; status?: { phase?: string } }>;
}

async function phases(prefix: string): Promise<Record<string, number>> {
  const list = await getJson<Phases>(['get', 'datamovers', '-n', ns]);
  const out: Record<string, number> = {};
  for (const dm of list?.items ?? []) {
    if (!dm.metadata.name.startsWith(prefix)) continue;
    const phase = dm.status?.phase ?? 'New';
    out[phase] = (out[phase] ?? 0) + 1;
  }
  return out;
}

/** 50 DataMovers whose movers run 3 s; every other one deletes its clone after the backup. */
async function launch(prefix: string): Promise<void> {
  const objects = Array.from({ length: IN_FLIGHT }, (_, i) =>
    dataMover(`${prefix}-${i}`, {
      sourcePvc: 'src',
      secretName: 'bucket',
      destinationPath: `${ns}/${prefix}/${i}`,
      deletePvcAfterBackup: i % 2 === 0,
      podLabels: { simulate: 'slow' },
    }),
  );
  await apply(ns, ...objects);
}

/** Waits until many are mid-run (clones or Jobs created, not finished) and most are not done. */
async function inFlight(prefix: string): Promise<Record<string, number>> {
  return waitFor(
    async () => {
      const p = await phases(prefix);
      const running = (p.CreatingClonedPVC ?? 0) + (p.CreatingPod ?? 0) + (p.CleaningUp ?? 0);
      return running >= 10 && (p.Completed ?? 0) < IN_FLIGHT / 2 ? p : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `${prefix}: movers running` },
  );
}

async function allCompleted(prefix: string): Promise<void> {
  await waitFor(async () => (await phases(prefix)).Completed === IN_FLIGHT, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `all ${IN_FLIGHT} ${prefix} DataMovers Completed`,
  });
}

/**
 * Every clone and every mover Job of the batch was created exactly once: one answered create, or,
 * for a create the killed leader had in flight, one the apiserver could not answer (audited 504, its
 * object committed: the run completed with it) and no answered create after it.
 */
function expectEachChildCreatedOnce(prefix: string, since: Date): void {
  const { created, unanswered, conflicts } = createsIn(ns, since);
  const ofBatch = ([key]: [string, number]) =>
    /^(jobs|persistentvolumeclaims)\//.test(key) && key.includes(`/${prefix}-`);
  const children = [...created].filter(ofBatch);
  const twice = children.filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  // Named, so a failure says which child the audit log has no create of, and what it has of it.
  const expected = Array.from({ length: IN_FLIGHT }, (_, i) => [
    `jobs/${prefix}-${i}-mover`,
    `persistentvolumeclaims/${prefix}-${i}-clone`,
  ]).flat();
  const missing = expected.filter((key) => !created.has(key) && !unanswered.has(key));
  for (const key of missing)
    console.log(`no create of ${key} since ${since.toISOString()}:`, auditTrail(ns, key));
  expect(missing).toEqual([]);
  const lost = [...unanswered].filter(ofBatch).map(([key]) => key);
  console.log(
    `${prefix}: ${children.length} children created once each, ${lost.length} by a create the killed leader did not see answered${lost.length ? ` (${lost.join(', ')})` : ''}; ${conflicts} create(s) answered 409`,
  );
}

describe('two replicas with 50 DataMovers in flight', () => {
  const lease = uniqueName('failover');
  let survivor: OperatorProcess;

  it('SIGKILL of the leader: the follower takes over and every DataMover completes, no child created twice', async () => {
    const pool = [await replica(lease), await replica(lease)];
    const leader = await leaderOf(pool);
    survivor = pool.find((r) => r !== leader)!;
    const since = new Date();
    await launch('kill');
    const before = await inFlight('kill');
    console.log(`SIGKILL with ${JSON.stringify(before)}`);

    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    await waitFor(() => isLeader(survivor), { timeoutMs: 20_000, what: 'the follower to take over' });
    console.log(`follower leads after ${Date.now() - killedAt} ms`);
    await allCompleted('kill');
    expectEachChildCreatedOnce('kill', since);
    // Clones of the DataMovers that asked for it are gone; the others kept.
    const clones = await kubectlOk(['get', 'pvc', '-n', ns, '-o', 'name']);
    expect(clones.split('\n').filter((l) => /kill-\d+-clone/.test(l))).toHaveLength(IN_FLIGHT / 2);
  });

  it('SIGTERM of the leader: it drains, releases the Lease and exits 0; a standby takes over at once', async () => {
    const standby = await replica(lease);
    expect(await isLeader(survivor)).toBe(true);
    const since = new Date();
    await launch('term');
    await inFlight('term');

    const stoppedAt = Date.now();
    const code = await survivor.stop('SIGTERM');
    const stopMs = Date.now() - stoppedAt;
    expect(code).toBe(0);
    expect(survivor.logs).toContain('leader election: released the lease');
    expect(survivor.logs).not.toContain('in-flight reconciles did not finish');
    await waitFor(() => isLeader(standby), { timeoutMs: 20_000, what: 'the standby to take over' });
    const handover = Date.now() - stoppedAt;
    console.log(`SIGTERM: exited after ${stopMs} ms, standby leads after ${handover} ms`);
    // Released, not expired: well inside one lease duration.
    expect(handover).toBeLessThan(LEASE_SECONDS * 1000);
    await allCompleted('term');
    expectEachChildCreatedOnce('term', since);
  });
});
