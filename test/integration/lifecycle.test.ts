// Journeys of single DataMovers through the state machine, on the real control plane: the apiserver,
// the Job, garbage and PV controllers of kube-controller-manager, the scheduler and kwok's pods.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply,
  condition,
  createNamespace,
  dataMover,
  deleteNamespace,
  getJson,
  kubectl,
  sourceAndSecret,
  waitFor,
  waitForPhase,
  waitGone,
} from '../support/cluster.js';
import { OperatorProcess, namespaceCounters } from '../support/operator.js';

let ns: string;
let nsFail: string;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('dm-life');
  nsFail = await createNamespace('dm-firstfail');
  operator = new OperatorProcess([ns, nsFail]);
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await Promise.all([deleteNamespace(ns), deleteNamespace(nsFail)]);
});

interface Obj {
  metadata: {
    name: string;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

describe('a DataMover that backs up a PVC', () => {
  it('completes and keeps its clone, owned by the DataMover, when deletePvcAfterBackup is false', async () => {
    await sourceAndSecret(ns, 'keep-src', { size: '2Gi' });
    await apply(ns, dataMover('keep', { sourcePvc: 'keep-src', secretName: 'bucket' }));
    const wait = await kubectl(['wait', '-n', ns, '--for=condition=Complete', '--timeout=60s', 'dm/keep']);
    expect(wait.code, wait.stderr).toBe(0);

    const dm = await waitForPhase(ns, 'keep', 'Completed');
    expect(dm.status?.restoredPvcName).toBe('keep-clone');
    expect(dm.status?.jobName).toBe('keep-mover');
    expect(dm.status?.destination).toBe(`bucket:${ns}/keep-src/mirror/`);
    // What the (simulated) mover reported in its termination message.
    expect(dm.status?.bytesTransferred).toBe(1048576);
    expect(dm.status?.filesTransferred).toBe(3);
    expect(condition(dm, 'Ready')?.status).toBe('True');
    expect(condition(dm, 'Reconciling')?.status).toBe('False');
    expect(condition(dm, 'Stalled')?.status).toBe('False');
    expect(condition(dm, 'Ready')?.observedGeneration).toBe(1);
    expect(new Date(dm.status!.completionTime!).getTime()).toBeGreaterThanOrEqual(
      new Date(dm.status!.startTime!).getTime(),
    );

    const clone = await getJson<Obj>(['get', 'pvc', 'keep-clone', '-n', ns]);
    expect(clone?.spec?.dataSource).toMatchObject({ kind: 'PersistentVolumeClaim', name: 'keep-src' });
    expect((clone?.spec?.resources as { requests: { storage: string } }).requests.storage).toBe('2Gi');
    expect(clone?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DataMover', name: 'keep', controller: true }),
    ]);
    expect(clone?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'datamover-operator',
      'datamover.io/datamover': 'keep',
    });
    const job = await getJson<Obj>(['get', 'job', 'keep-mover', '-n', ns]);
    expect(job?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'DataMover',
      name: 'keep',
      controller: true,
    });

    const events = await kubectl([
      'get',
      'events',
      '-n',
      ns,
      '--field-selector',
      'involvedObject.name=keep',
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    // A run that goes well tells its story in one event, its end: its start and phases are in its status.
    expect(events.stdout.split(' ')).toEqual(['Completed']);
  });

  it('deletes the clone and the finished Job when deletePvcAfterBackup is true', async () => {
    await sourceAndSecret(ns, 'del-src');
    await apply(
      ns,
      dataMover('del', {
        sourcePvc: 'del-src',
        secretName: 'bucket',
        deletePvcAfterBackup: true,
        addTimestampPrefix: true,
      }),
    );
    const dm = await waitForPhase(ns, 'del', 'Completed');
    expect(condition(dm, 'CleanedUp')).toMatchObject({ status: 'True', reason: 'CloneDeleted' });
    // The run's start second, then the first 8 hex digits of the DataMover's UID.
    const suffix = dm.metadata.uid!.replace(/-/g, '').slice(0, 8);
    expect(dm.status?.destination).toMatch(
      new RegExp(`^bucket:${ns}/del-src/\\d{4}-\\d{2}-\\d{2}-\\d{6}-${suffix}/$`),
    );
    await waitGone('pvc', 'del-clone', ns);
    await waitGone('job', 'del-mover', ns);
    const source = await getJson<Obj>(['get', 'pvc', 'del-src', '-n', ns]);
    expect(source?.status?.phase).toBe('Bound');
  });

  it('shows a CLONE in `kubectl get dm` only while the clone exists', async () => {
    await apply(
      ns,
      dataMover('refused', {
        sourcePvc: 'keep-src',
        secretName: 'bucket',
        image: { repository: 'evil/mover' },
      }),
    );
    await waitForPhase(ns, 'refused', 'Failed');
    /** The CLONE column of each row, read at the header's offsets (an empty cell is blank). */
    const cloneColumn = async () => {
      const [header, ...rows] = (await kubectl(['get', 'dm', 'keep', 'del', 'refused', '-n', ns])).stdout
        .trimEnd()
        .split('\n');
      const cell = /CLONE\s+/.exec(header!)!;
      return Object.fromEntries(
        rows.map((row) => [row.split(/\s+/)[0], row.slice(cell.index, cell.index + cell[0].length).trim()]),
      );
    };
    // Kept clone: named. Clone deleted after the backup, or never made (refused): none.
    expect(await cloneColumn()).toEqual({ keep: 'keep-clone', del: '', refused: '' });
    // A kept clone deleted by hand is no longer named (at once: kwok's finished pod keeps the PVC
    // Terminating, as a real node's can).
    await kubectl(['delete', 'pvc', 'keep-clone', '-n', ns, '--wait=false']);
    await waitFor(async () => ((await cloneColumn()).keep === '' ? true : undefined), {
      what: 'the CLONE column of dm/keep to clear once its clone is gone',
    });
    expect((await getJson<Obj>(['get', 'dm', 'keep', '-n', ns]))?.status?.phase).toBe('Completed');
  });

  it('fails once the mover Job has spent its backoff limit, and says why', async () => {
    await sourceAndSecret(ns, 'fail-src');
    await apply(
      ns,
      dataMover('fail', {
        sourcePvc: 'fail-src',
        secretName: 'bucket',
        backoffLimit: 1,
        podLabels: { simulate: 'fail' },
      }),
    );
    const dm = await waitForPhase(ns, 'fail', 'Failed', 60_000);
    expect(condition(dm, 'Failed')).toMatchObject({ status: 'True', reason: 'MoverJobFailed' });
    expect(condition(dm, 'Stalled')?.status).toBe('True');
    expect(condition(dm, 'Ready')?.status).toBe('False');
    expect(dm.status?.attempts).toBe(2);
    expect(dm.status?.message).toContain('BackoffLimitExceeded');
    expect(dm.status?.message).toContain('simulated transfer failure');
    const wait = await kubectl(['wait', '-n', ns, '--for=condition=Failed', '--timeout=5s', 'dm/fail']);
    expect(wait.code).toBe(0);
  });

  it('fails at once, without retries, when the mover reports a configuration error', async () => {
    await sourceAndSecret(ns, 'cfg-src');
    await apply(
      ns,
      dataMover('cfg', {
        sourcePvc: 'cfg-src',
        secretName: 'bucket',
        backoffLimit: 5,
        podLabels: { simulate: 'config-error' },
      }),
    );
    const dm = await waitForPhase(ns, 'cfg', 'Failed', 60_000);
    expect(condition(dm, 'Failed')?.reason).toBe('MoverConfigError');
    expect(dm.status?.attempts).toBe(1);
  });

  it('handles a 60-character source PVC and a 63-character DataMover name with bounded child names', async () => {
    const source = 's'.repeat(50) + '-volume-01';
    const name = 'backup-of-a-volume-with-a-very-long-name-that-reaches-the-limit';
    expect(source).toHaveLength(60);
    expect(name).toHaveLength(63);
    await sourceAndSecret(ns, source);
    await apply(ns, dataMover(name, { sourcePvc: source, secretName: 'bucket' }));
    const dm = await waitForPhase(ns, name, 'Completed');
    const clone = dm.status!.restoredPvcName!;
    const job = dm.status!.jobName!;
    expect(clone.length).toBeLessThanOrEqual(63);
    expect(job.length).toBeLessThanOrEqual(63);
    expect(clone).toMatch(/-[0-9a-f]{8}-clone$/);
    const pvc = await getJson<Obj>(['get', 'pvc', clone, '-n', ns]);
    expect(pvc?.metadata.labels?.['datamover.io/datamover']).toHaveLength(63);
  });

  it('moves on at once when the clone binds WaitForFirstConsumer, and the mover pod provisions it', async () => {
    await sourceAndSecret(ns, 'wffc-src');
    await apply(
      ns,
      dataMover('wffc', { sourcePvc: 'wffc-src', secretName: 'bucket', storageClassName: 'test-wffc' }),
    );
    const dm = await waitForPhase(ns, 'wffc', 'Completed');
    const clone = await getJson<Obj>(['get', 'pvc', dm.status!.restoredPvcName!, '-n', ns]);
    expect(clone?.spec?.storageClassName).toBe('test-wffc');
    expect(clone?.status?.phase).toBe('Bound');
  });

  it('runs its mover in a namespace that enforces Pod Security restricted', async () => {
    const labels = await kubectl(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels}']);
    expect(JSON.parse(labels.stdout)).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const pods = await kubectl([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      'datamover.io/datamover=keep',
      '-o',
      'jsonpath={.items[*].status.phase}',
    ]);
    expect(pods.stdout).toBe('Succeeded');
  });
});

describe('metrics', () => {
  it('counts every transition of a known sequence of runs exactly once', async () => {
    const text = await operator.scrape();
    const c = namespaceCounters(text, ns);
    // Runs in this namespace so far: keep, del, refused (its image), fail, cfg, long name and wffc.
    expect(c).toMatchObject({
      'datamover_operations_total{phase="CreatingClonedPVC",status="started"}': 7,
      'datamover_operations_total{phase="CreatingClonedPVC",status="success"}': 6,
      'datamover_operations_total{phase="CreatingClonedPVC",status="failure"}': 1,
      'datamover_operations_total{phase="CreatingPod",status="started"}': 6,
      'datamover_operations_total{phase="CreatingPod",status="success"}': 4,
      'datamover_operations_total{phase="CreatingPod",status="failure"}': 2,
      'datamover_operations_total{phase="CleaningUp",status="started"}': 1,
      'datamover_operations_total{phase="CleaningUp",status="success"}': 1,
      'datamover_operations_total{phase="CleaningUp",status="failure"}': 0,
      'datamover_pod_creation_operations_total{status="started"}': 6,
      'datamover_pod_creation_operations_total{status="success"}': 4,
      'datamover_pod_creation_operations_total{status="failure"}': 2,
      'datamover_data_sync_operations_total{status="success"}': 4,
      'datamover_data_sync_operations_total{status="failure"}': 1,
      'datamover_cleanup_operations_total{status="success"}': 1,
      'datamover_cleanup_operations_total{status="failure"}': 0,
      // One per DataMover: what a failure rate of runs divides (a phase count would triple successes).
      'datamover_runs_total{result="completed"}': 4,
      'datamover_runs_total{result="failed"}': 3,
    });
    expect(text).toMatch(
      new RegExp(`datamover_phase_duration_seconds_count\\{phase="CreatingPod",namespace="${ns}"\\} 6`),
    );
  });

  it('shows the first failure in a namespace as an increase from 0', async () => {
    await apply(
      nsFail,
      dataMover('first', {
        sourcePvc: 'late-src',
        secretName: 'bucket',
        backoffLimit: 0,
        podLabels: { simulate: 'fail' },
      }),
    );
    await waitFor(
      async () =>
        condition(
          await import('../support/cluster.js').then((m) => m.getDataMover(nsFail, 'first')),
          'Stalled',
        )?.status === 'True',
      {
        what: 'first DataMover stalled on its missing source',
      },
    );
    const before = namespaceCounters(await operator.scrape(), nsFail);
    expect(before['datamover_pod_creation_operations_total{status="failure"}']).toBe(0);
    expect(before['datamover_data_sync_operations_total{status="failure"}']).toBe(0);
    expect(before['datamover_operations_total{phase="CreatingPod",status="failure"}']).toBe(0);

    await sourceAndSecret(nsFail, 'late-src');
    await waitForPhase(nsFail, 'first', 'Failed', 60_000);
    const after = namespaceCounters(await operator.scrape(), nsFail);
    expect(after['datamover_pod_creation_operations_total{status="failure"}']).toBe(1);
    expect(after['datamover_data_sync_operations_total{status="failure"}']).toBe(1);
    expect(after['datamover_operations_total{phase="CreatingPod",status="failure"}']).toBe(1);
  });
});
