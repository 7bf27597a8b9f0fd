// Operator replicas that elect a leader, shared by the leader e2e files (leader, failover,
// split-brain): short test timings (a 4 s lease, 3 s renew deadline, 0.5 s retry period).
import { waitFor } from './cluster.js';
import { OperatorProcess, sample } from './operator.js';

export const LEASE_SECONDS = 4;

/** A replica (not started) watching `namespace` and electing a leader on the Lease `lease` there. */
export function replica(namespace: string, lease: string, extraArgs: string[] = []): OperatorProcess {
  return new OperatorProcess(
    [namespace],
    [
      '--leader-elect',
      `--leader-election-namespace=${namespace}`,
      `--leader-election-id=${lease}`,
      `--lease-duration=${LEASE_SECONDS}s`,
      '--renew-deadline=3s',
      '--retry-period=500ms',
      ...extraArgs,
    ],
  );
}

export const isLeader = async (r: OperatorProcess) => sample(await r.scrape(), 'datamover_leader') === 1;

/** The one leader of `pool`, once exactly one replica says it leads. */
export function leaderOf(pool: OperatorProcess[]): Promise<OperatorProcess> {
  return waitFor(
    async () => {
      const flags = await Promise.all(pool.map(isLeader));
      return flags.filter(Boolean).length === 1 ? pool[flags.indexOf(true)] : undefined;
    },
    { timeoutMs: 20_000, what: 'exactly one leader' },
  );
}

/** Stops every replica, paused ones too; their logs are kept under DATAMOVER_TEST_LOGS when set. */
export async function stopReplicas(pool: OperatorProcess[]): Promise<void> {
  for (const r of pool) r.signal('SIGCONT');
  await Promise.all(pool.map((r) => r.stop('SIGKILL')));
}
