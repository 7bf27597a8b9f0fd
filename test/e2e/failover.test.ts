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
import {
  OperatorProcess,
  addCounters,
  cleanRuns,
  namespaceCounters,
  subtractCounters,
} from '../support/operator.js';
import { LEASE_SECONDS, isLeader, leaderOf, replica, stopReplicas } from '../support/replicas.js';

let ns: string;
const replicas: OperatorProcess[] = [];
const IN_FLIGHT = 50;

beforeAll(async () => {
  ns = await createNamespace('dm-failover');
  await sourceAndSecret(ns, 'src');
});

afterAll(async () => {
  await stopReplicas(replicas);
  await deleteNamespace(ns);
});

async function start(lease: string): Promise<OperatorProcess> {
  const r = replica(ns, lease, ['--shutdown-timeout=10s']);
  replicas.push(r);
  await r.start();
  return r;
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
  let seen: Record<string, number> = {};
  try {
    return await waitFor(
      async () => {
        const p = await phases(prefix);
        seen = p;
        const running = (p.CreatingClonedPVC ?? 0) + (p.CreatingPod ?? 0) + (p.CleaningUp ?? 0);
        return running >= 10 && (p.Completed ?? 0) < IN_FLIGHT / 2 ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `${prefix}: movers running` },
    );
  } catch (err) {
    // What the replicas were doing (seen once in CI, 2026-12-03: the batch never got going; not
    // reproduced in 5 runs by hand): the phases last seen and each replica's last log lines.
    console.log(`${prefix}: phases last seen ${JSON.stringify(seen)}`);
    for (const r of replicas)
      console.log(`replica ${r.pid} (exit ${r.exitCode}):\n${r.logs.split('\n').slice(-40).join('\n')}`);
    throw err;
  }
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

/**
 * The counters of both replicas for one batch, summed: no transition counted twice across them. A
 * process that is killed or stops can only miss the transitions it made after its last scrape
 * (PRODUCT.md: a transition may be missed only if the process dies between the write and the
 * increment), so the sum is at most one clean run per DataMover, and every series the batch moves
 * is there.
 */
function expectCountedAtMostOnce(prefix: string, summed: Record<string, number>): void {
  const clean = cleanRuns(IN_FLIGHT);
  for (const [series, n] of Object.entries(summed)) {
    expect(n, `${prefix}: ${series}`).toBeLessThanOrEqual(clean[series] ?? 0);
  }
  for (const series of Object.keys(clean))
    expect(summed[series] ?? 0, `${prefix}: ${series}`).toBeGreaterThan(0);
  const short = Object.entries(clean).map(([series, n]) => n - (summed[series] ?? 0));
  console.log(
    `${prefix}: counters of both replicas summed, ${short.reduce((a, b) => a + b, 0)} increment(s) short of clean runs`,
  );
}

describe('two replicas with 50 DataMovers in flight', () => {
  const lease = uniqueName('failover');
  let survivor: OperatorProcess;
  let survivorAfterKill: Record<string, number>;

  it('SIGKILL of the leader: the follower takes over and every DataMover completes, no child created twice', async () => {
    const pool = [await start(lease), await start(lease)];
    const leader = await leaderOf(pool);
    survivor = pool.find((r) => r !== leader)!;
    const since = new Date();
    await launch('kill');
    const before = await inFlight('kill');
    console.log(`SIGKILL with ${JSON.stringify(before)}`);

    const atKill = namespaceCounters(await leader.scrape(), ns);
    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    await waitFor(() => isLeader(survivor), { timeoutMs: 20_000, what: 'the follower to take over' });
    console.log(`follower leads after ${Date.now() - killedAt} ms`);
    await allCompleted('kill');
    expectEachChildCreatedOnce('kill', since);
    survivorAfterKill = namespaceCounters(await survivor.scrape(), ns);
    expectCountedAtMostOnce('kill', addCounters(atKill, survivorAfterKill));
    // Clones of the DataMovers that asked for it are gone; the others kept.
    const clones = await kubectlOk(['get', 'pvc', '-n', ns, '-o', 'name']);
    expect(clones.split('\n').filter((l) => /kill-\d+-clone/.test(l))).toHaveLength(IN_FLIGHT / 2);
  });

  it('SIGTERM of the leader: it drains, releases the Lease and exits 0; a standby takes over at once', async () => {
    const standby = await start(lease);
    expect(await isLeader(survivor)).toBe(true);
    const since = new Date();
    await launch('term');
    await inFlight('term');

    const atTerm = namespaceCounters(await survivor.scrape(), ns);
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
    const standbyCounted = namespaceCounters(await standby.scrape(), ns);
    expectCountedAtMostOnce('term', addCounters(subtractCounters(atTerm, survivorAfterKill), standbyCounted));
  });
});
