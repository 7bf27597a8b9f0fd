// A leader killed while its schedule fires: the follower takes over within the lease, catches up the
// latest fire time it missed and counts the others, and the audit log shows every run of every fire
// time created once, whichever replica made it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMoverSchedule } from '../../src/api/v1alpha1/schedule.js';
import { createsIn } from '../support/audit.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  getJson,
  kubectlOk,
  sourceAndSecret,
  uniqueName,
  waitFor,
} from '../support/cluster.js';
import type { OperatorProcess } from '../support/operator.js';
import { leaderOf, replica, stopReplicas } from '../support/replicas.js';

let ns: string;
const replicas: OperatorProcess[] = [];

beforeAll(async () => {
  ns = await createNamespace('dm-schedfo');
  await sourceAndSecret(ns, 'db');
});

afterAll(async () => {
  await stopReplicas(replicas);
  await deleteNamespace(ns);
});

/** Creates of scheduled runs since `since`: answered ones, and those a killed client left unanswered. */
function runCreates(since: Date) {
  const { created, unanswered } = createsIn(ns, since);
  const names = new Set(
    [...created.keys(), ...unanswered.keys()].filter((k) => k.startsWith('datamovers/every2s-')),
  );
  return [...names].map((k) => ({
    name: k,
    answered: created.get(k) ?? 0,
    unanswered: unanswered.get(k) ?? 0,
  }));
}

describe('a schedule firing through a leader failover', () => {
  it('creates the run of each fire time once and counts the fire times the gap missed', async () => {
    const lease = uniqueName('sched');
    for (let i = 0; i < 2; i++) {
      const r = replica(ns, lease, ['--allow-seconds-in-schedules']);
      replicas.push(r);
      await r.start();
    }
    const leader = await leaderOf(replicas);
    const since = new Date();
    await apply(ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverSchedule',
      metadata: { name: 'every2s' },
      spec: {
        schedule: '*/2 * * * * *',
        sourcePvc: 'db',
        successfulRunsHistoryLimit: 100,
        template: { secretName: 'bucket', destinationPath: `${ns}/every2s` },
      },
    });
    await waitFor(async () => runCreates(since).length >= 3, {
      what: 'three runs by the first leader',
      timeoutMs: 20_000,
    });
    // Killed just after a fire time: its create may be in flight.
    const before = runCreates(since).length;
    await waitFor(async () => runCreates(since).length > before, {
      what: 'the next fire time',
      timeoutMs: 5_000,
    });
    await leader.stop('SIGKILL');
    const follower = replicas.find((r) => r !== leader)!;
    await leaderOf([follower]);
    const takeover = runCreates(since).length;
    await waitFor(async () => runCreates(since).length >= takeover + 3, {
      what: 'three runs by the new leader',
      timeoutMs: 20_000,
    });
    await kubectlOk(['patch', 'dms', 'every2s', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);

    const creates = runCreates(since);
    // Each run answered at most once, and never both answered and left unanswered.
    expect(creates.filter((c) => c.answered > 1 || (c.answered === 1 && c.unanswered > 0))).toEqual([]);
    const s = await getJson<DataMoverSchedule>(['get', 'dms', 'every2s', '-n', ns]);
    // The lease (4 s) spans at least one fire time (2 s) that only the catch-up covers.
    expect(s?.status?.missedRuns ?? 0).toBeGreaterThanOrEqual(1);
    const fireTimes = (
      await getJson<{ items: Array<{ metadata: { annotations?: Record<string, string> } }> }>([
        'get',
        'dm',
        '-n',
        ns,
        '-l',
        'datamover.io/schedule=every2s',
      ])
    )?.items.map((d) => d.metadata.annotations?.['datamover.io/fire-time']);
    expect(new Set(fireTimes).size).toBe(fireTimes?.length);
  });
});
