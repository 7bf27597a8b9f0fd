// --max-concurrent-runs on the test bed: DataMovers in three namespaces, all created before the
// operator starts (the first namespace's runs the oldest), with a cap of 3. Every clone and Job the
// operator makes is followed on two watches; replayed in the order of the apiserver's revisions (one
// etcd: resourceVersions of all resources share one counter), no more than 3 runs ever have a clone or
// a Job, even while the operator is killed and replaced halfway. Slots go round robin over the
// namespaces, and every run reaches Completed.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildLog, largestGap } from '../support/children.js';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { OperatorProcess, sample } from '../support/operator.js';

const CAP = 3;
const PER_NAMESPACE = 6;
const namespaces: string[] = [];
const processes: OperatorProcess[] = [];
const children = new ChildLog(namespaces);

beforeAll(async () => {
  for (let i = 0; i < 3; i++) namespaces.push(await createNamespace(`dm-cap${i}`));
  const kc = new KubeConfig();
  kc.loadFromDefault();
  await children.follow(kc);
});

afterAll(async () => {
  children.stop();
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  for (const ns of namespaces) await deleteNamespace(ns);
});

const runs = () =>
  namespaces.flatMap((ns) => [...Array(PER_NAMESPACE).keys()].map((i) => ({ ns, name: `r${i}` })));

describe('a cap of 3 runs under way, over three namespaces', () => {
  it('never lets more than 3 runs hold a clone or a Job, across a restart, and takes the namespaces in turn', async () => {
    for (const ns of namespaces) {
      await sourceAndSecret(ns, 'src');
      await apply(
        ns,
        ...[...Array(PER_NAMESPACE).keys()].map((i) =>
          dataMover(`r${i}`, {
            sourcePvc: 'src',
            secretName: 'bucket',
            destinationPath: `${ns}/r${i}`,
            deletePvcAfterBackup: true,
            podLabels: { simulate: 'slow' },
          }),
        ),
      );
    }
    const first = new OperatorProcess(namespaces, [`--max-concurrent-runs=${CAP}`]);
    processes.push(first);
    await first.start();

    // Those without a slot say so, with their place.
    const queued = await waitFor(
      async () => {
        const dm = await getDataMover(namespaces[0]!, `r${PER_NAMESPACE - 1}`);
        return dm?.status?.queuePosition !== undefined ? dm : undefined;
      },
      { what: 'the last run of the first namespace queued' },
    );
    const reconciling = queued.status?.conditions?.find((c) => c.type === 'Reconciling');
    expect(reconciling?.reason).toBe('Queued');
    expect(reconciling?.message).toMatch(
      /^waiting for a slot: \d+ of \d+ waiting; at most 3 backups run at once/,
    );
    await waitFor(
      async () =>
        (sample(await first.scrape(), 'datamover_runs_queued', { namespace: namespaces[0]! }) ?? 0) > 0,
      { what: 'the queued runs in datamover_runs_queued' },
    );

    // Halfway, the operator is killed; another one takes over from what the cluster shows.
    await waitFor(
      async () => {
        let done = 0;
        for (const { ns, name } of runs())
          if ((await getDataMover(ns, name))?.status?.phase === 'Completed') done++;
        return done >= (3 * PER_NAMESPACE) / 2;
      },
      { what: 'half the runs Completed', timeoutMs: 120_000 },
    );
    await first.stop('SIGKILL');
    const second = new OperatorProcess(namespaces, [`--max-concurrent-runs=${CAP}`]);
    processes.push(second);
    await second.start();
    for (const { ns, name } of runs()) await waitForPhase(ns, name, 'Completed', 120_000);
    // The last clones and Jobs go after their runs completed.
    await waitFor(async () => children.live() === 0, { what: 'every clone and Job deleted' });

    const order = children.admissions();
    console.log(`slots given, by namespace: ${order.map((ns) => namespaces.indexOf(ns)).join(' ')}`);
    expect(order).toHaveLength(3 * PER_NAMESPACE);
    expect(children.mostAtOnce()).toBe(CAP);
    // Round robin: while every namespace still has runs waiting, none is more than a turn ahead
    // (two across the restart, which starts the turns afresh from the oldest waiting run).
    expect(largestGap(order, namespaces), order.join(',')).toBeLessThanOrEqual(2);
    expect(order.slice(0, 3).sort()).toEqual([...namespaces].sort());
    // The waits that ended under the second process were counted by it.
    const text = await second.scrape();
    const waits = namespaces.map(
      (ns) => sample(text, 'datamover_run_queue_wait_seconds_count', { namespace: ns }) ?? 0,
    );
    expect(waits.reduce((a, b) => a + b)).toBeGreaterThan(0);
  });
});
