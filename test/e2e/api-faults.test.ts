// API faults: 429 and 5xx answers (from a fault-injecting proxy, before anything is applied) are
// retried with backoff; answers lost after the apiserver applied the request are settled; watches
// cut mid-run resume; a cache frozen several writes behind does not make the operator repeat a
// step; a restarted apiserver is reconnected to. In each case every DataMover completes, each child
// is created once, and every transition is counted exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartApiserver } from '../support/apiserver.js';
import { createsIn } from '../support/audit.js';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  getJson,
  kubectl,
  sourceAndSecret,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { OperatorProcess, cleanRuns, namespaceCounters, sample } from '../support/operator.js';

const RUNS = 20;
const namespaces: string[] = [];
const processes: OperatorProcess[] = [];
const proxy = new FaultProxy();
let proxyKubeconfig: string;

beforeAll(async () => {
  proxyKubeconfig = await proxy.start();
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await proxy.stop();
  await Promise.all(namespaces.map(deleteNamespace));
});

async function setUp(prefix: string, kubeconfig?: string) {
  const ns = await createNamespace(prefix);
  namespaces.push(ns);
  await sourceAndSecret(ns, 'src');
  const operator = new OperatorProcess([ns], kubeconfig ? [`--kubeconfig=${kubeconfig}`] : []);
  processes.push(operator);
  await operator.start();
  return { ns, operator, since: new Date() };
}

async function launch(ns: string, simulate?: string): Promise<void> {
  await apply(
    ns,
    ...Array.from({ length: RUNS }, (_, i) =>
      dataMover(`run-${i}`, {
        sourcePvc: 'src',
        secretName: 'bucket',
        destinationPath: `${ns}/runs/${i}`,
        deletePvcAfterBackup: i % 2 === 0,
        ...(simulate ? { podLabels: { simulate } } : {}),
      }),
    ),
  );
}

async function phases(ns: string): Promise<Record<string, number>> {
  const list = await getJson<{ items: Array<{ status?: { phase?: string } }> }>([
    'get',
    'datamovers',
    '-n',
    ns,
  ]);
  const out: Record<string, number> = {};
  for (const dm of list?.items ?? [])
    out[dm.status?.phase ?? 'New'] = (out[dm.status?.phase ?? 'New'] ?? 0) + 1;
  return out;
}

/**
 * No clone or Job created twice, per the audit log. A killed apiserver loses the audit events of the
 * requests it was answering, so after a restart some creates may be missing from it, never doubled.
 */
function expectEachChildCreatedOnce(ns: string, since: Date, runs: number, auditComplete = true): void {
  const { created } = createsIn(ns, since);
  const children = [...created].filter(([key]) => /^(jobs|persistentvolumeclaims)\//.test(key));
  expect(children.filter(([, n]) => n > 1)).toEqual([]);
  if (auditComplete) expect(children).toHaveLength(2 * runs);
  else console.log(`audit log: ${children.length} of ${2 * runs} creates recorded across the restart`);
}

/** What the unfinished DataMovers and their Jobs and pods show: printed when a wait times out. */
async function unfinished(ns: string): Promise<string> {
  const dms = await getJson<{
    items: Array<{
      metadata: { name: string };
      status?: { phase?: string; message?: string; jobName?: string };
    }>;
  }>(['get', 'datamovers', '-n', ns]);
  const jobs = await getJson<{
    items: Array<{ metadata: { name: string }; status?: Record<string, unknown> }>;
  }>(['get', 'jobs', '-n', ns]);
  const pods = (await kubectl(['get', 'pods', '-n', ns, '-o', 'wide'])).stdout;
  const lines = (dms?.items ?? [])
    .filter((d) => d.status?.phase !== 'Completed')
    .map((d) => {
      const job = jobs?.items.find((j) => j.metadata.name === d.status?.jobName);
      return `${d.metadata.name}: ${d.status?.phase ?? 'New'}: ${d.status?.message ?? ''}; job ${JSON.stringify(job?.status ?? null)}`;
    });
  return `${lines.join('\n')}\npods:\n${pods}`;
}

async function expectAllCompletedOnce(
  ns: string,
  operator: OperatorProcess,
  since: Date,
  auditComplete = true,
): Promise<void> {
  await waitFor(async () => (await phases(ns)).Completed === RUNS, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `all ${RUNS} DataMovers Completed`,
  }).catch(async (err: unknown) => {
    // What the operator last did goes into the failure itself: a CI run's folders may be gone.
    const tail = operator.logs.trimEnd().split('\n').slice(-40).join('\n');
    throw new Error(
      `${String(err)}; not completed:\n${await unfinished(ns)}\noperator ${operator.exited ? 'exited' : 'running'}, its last lines:\n${tail}`,
      { cause: err },
    );
  });
  const counters = namespaceCounters(await operator.scrape(), ns);
  const nonZero = Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== 0));
  expect(nonZero).toEqual(cleanRuns(RUNS));
  expectEachChildCreatedOnce(ns, since, RUNS, auditComplete);
  expect(operator.exited).toBe(false);
}

describe('API faults', () => {
  it('429, 500 and 503 answers on every third request are retried with backoff', async () => {
    const codes = [429, 500, 503];
    proxy.rule = (_req, n) => (n % 3 === 0 ? codes[(n / 3) % codes.length] : undefined);
    const { ns, operator, since } = await setUp('dm-faults', proxyKubeconfig);
    await launch(ns);
    await expectAllCompletedOnce(ns, operator, since);
    proxy.rule = () => undefined;
    console.log(
      `injected ${JSON.stringify(Object.fromEntries(proxy.injected))}, forwarded ${proxy.forwarded}`,
    );
    for (const code of codes) expect(proxy.injected.get(code) ?? 0, `${code} injected`).toBeGreaterThan(5);
  });

  it('answers lost after the apiserver applied the request: every transition still counted once', async () => {
    // Every other status write and child create is applied, then its connection cut before the
    // answer: the retry meets 409 (its own first attempt), and the next pass must settle it.
    proxy.lose = (req, n) =>
      n % 2 === 0 &&
      ((req.method === 'PUT' && /\/datamovers\/[^/]+\/status/.test(req.url ?? '')) ||
        (req.method === 'POST' && /\/(jobs|persistentvolumeclaims)(\?|$)/.test(req.url ?? '')));
    const lostBefore = proxy.lost;
    try {
      const { ns, operator, since } = await setUp('dm-lost', proxyKubeconfig);
      await launch(ns);
      await expectAllCompletedOnce(ns, operator, since);
      expect(operator.logs).toContain('an earlier status write was applied after all');
    } finally {
      proxy.lose = () => false;
    }
    console.log(`answers lost: ${proxy.lost - lostBefore}`);
    expect(proxy.lost - lostBefore).toBeGreaterThan(10);
  });

  it('watches cut every half second resume without missing a transition', async () => {
    const { ns, operator, since } = await setUp('dm-cuts', proxyKubeconfig);
    const cutsBefore = proxy.watchesCut;
    const cutter = setInterval(() => proxy.cutWatches(), 500);
    try {
      await launch(ns, 'slow');
      await expectAllCompletedOnce(ns, operator, since);
    } finally {
      clearInterval(cutter);
    }
    console.log(`watches cut: ${proxy.watchesCut - cutsBefore}`);
    expect(proxy.watchesCut - cutsBefore).toBeGreaterThan(10);
  });

  it('a DataMover cache frozen several writes behind: the operator works from its own writes and takes no step twice', async () => {
    const { ns, operator, since } = await setUp('dm-lag', proxyKubeconfig);
    await apply(
      ns,
      dataMover('lag', {
        sourcePvc: 'src',
        secretName: 'bucket',
        deletePvcAfterBackup: true,
        podLabels: { simulate: 'slow' },
      }),
    );
    await waitFor(
      async () => {
        const dm = await getDataMover(ns, 'lag');
        return dm?.status?.phase === 'CreatingPod' && dm.status.jobName;
      },
      { what: 'the mover Job running' },
    );
    // From here the operator's DataMover cache says CreatingPod, whatever it writes.
    proxy.hold(/datamovers/);
    try {
      await waitForPhase(ns, 'lag', 'Completed');
      // The Job's pods go after it: each deletion starts a pass against the frozen cache.
      await waitFor(
        async () =>
          (
            await kubectl(['get', 'pods', '-n', ns, '-l', 'datamover.io/datamover=lag', '-o', 'name'])
          ).stdout.trim() === '' && sample(await operator.scrape(), 'datamover_workqueue_depth') === 0,
        { what: 'the mover pods gone and the queue idle' },
      );
    } finally {
      proxy.release();
    }
    expectEachChildCreatedOnce(ns, since, 1);
    expect(await getJson(['get', 'job', 'lag-mover', '-n', ns])).toBeUndefined();
    const counters = namespaceCounters(await operator.scrape(), ns);
    expect(Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== 0))).toEqual(cleanRuns(1, 1));
  });

  it('an apiserver restart mid-run: watches resume and every run completes, counted once', async () => {
    const { ns, operator, since } = await setUp('dm-apiserver');
    await launch(ns, 'slow');
    await waitFor(async () => ((await phases(ns)).CreatingPod ?? 0) >= 5, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'movers running',
    });
    const { downMs } = await restartApiserver();
    console.log(`apiserver down for ${downMs} ms; phases then ${JSON.stringify(await phases(ns))}`);
    await expectAllCompletedOnce(ns, operator, since, false);
    // The other runs' clones and Jobs were deleted by the operator, but they go only when the
    // controller manager (restarted with the apiserver) has resynced: until then they are listed,
    // being deleted (seen once in CI: 27 names, not 20, right after the last run Completed).
    await waitFor(
      async () => {
        const children = await getJson<{ items: Array<{ metadata: { deletionTimestamp?: string } }> }>([
          'get',
          'pvc,jobs',
          '-n',
          ns,
        ]);
        return children?.items.every((o) => !o.metadata.deletionTimestamp);
      },
      { timeoutMs: 60_000, what: 'the deleted clones and Jobs gone' },
    );
    // The runs that kept their clone have it, and their Job, exactly as named.
    const kept = await kubectl(['get', 'pvc,jobs', '-n', ns, '-o', 'name']);
    const names = kept.stdout.split('\n').filter((l) => /run-\d+-(clone|mover)$/.test(l));
    expect(names).toHaveLength(RUNS);
    expect(sample(await operator.scrape(), 'datamover_leader')).toBe(1);
  });
});
