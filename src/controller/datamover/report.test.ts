// A backup is Completed only with the mover's report for that very run (src/contract/result.ts):
// a Job that succeeded without one, with one of another run or of another protocol, fails.
import { describe, expect, it } from 'vitest';
import { findCondition } from '../conditions.js';
import {
  at,
  config,
  dm,
  inPhase,
  job,
  moverReport,
  observed,
  terminatedPod,
} from './fixtures.test-helpers.js';
import { decide } from './machine.js';

describe("the mover's report", () => {
  it('fills bytes and files transferred on success', () => {
    const d = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(5), {
        job: job({ type: 'Complete' }),
        pods: [terminatedPod(0, moverReport({ bytes: 2048, files: 2 }))],
      }),
      config,
    );
    expect(d.status).toMatchObject({ phase: 'Completed', bytesTransferred: 2048, filesTransferred: 2 });
    expect(d.status.bytesUploaded).toBeUndefined();
  });

  it('shows how much an incremental run uploaded, and the run it copied the rest from', () => {
    const report = moverReport({ bytes: 2048, uploaded: 48, base: '2026-01-01-000000-0123abcd', files: 2 });
    const d = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(5), { job: job({ type: 'Complete' }), pods: [terminatedPod(0, report)] }),
      config,
    );
    expect(d.status).toMatchObject({
      bytesTransferred: 2048,
      bytesUploaded: 48,
      incrementalFrom: '2026-01-01-000000-0123abcd',
    });
  });

  it("puts the mover's one-line error in the failure message", () => {
    const d = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(5), {
        job: job({ type: 'Failed', reason: 'BackoffLimitExceeded' }),
        pods: [terminatedPod(1, '{"error":"bucket backups does not exist"}')],
      }),
      config,
    );
    expect(d.status.message).toContain('bucket backups does not exist');
  });
});

describe('a Job that succeeded without a report proving its run', () => {
  const creating = () => dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' }));
  const failedWith = (d: ReturnType<typeof decide>) => findCondition(d.status.conditions, 'Failed');

  it('fails NoMoverReport, with the exit code, what the container left and its last log lines', () => {
    const d = decide(
      creating(),
      observed(at(5), {
        job: job({ type: 'Complete' }),
        pods: [terminatedPod(0, '')],
        moverLogTail: 'injected code ran\nexit 0',
      }),
      config,
    );
    expect(d.status.phase).toBe('Failed');
    expect(failedWith(d)?.reason).toBe('NoMoverReport');
    expect(d.status.message).toContain('succeeded (exit code 0) without a report proving this run');
    expect(d.status.message).toContain("the container's termination message: (empty)");
    expect(d.status.message).toContain('injected code ran');
    expect(d.status.bytesTransferred).toBeUndefined();
    expect(d.status.completionTime).toBeDefined();
  });

  it('fails a report of an older mover (no protocol), or one that lacks the verification', () => {
    for (const report of ['{"bytes":2048,"files":2}', moverReport({ verify: undefined })]) {
      const d = decide(
        creating(),
        observed(at(5), { job: job({ type: 'Complete' }), pods: [terminatedPod(0, report)] }),
        config,
      );
      expect(failedWith(d)?.reason, report).toBe('NoMoverReport');
    }
  });

  it('fails a report of another run: another DataMover, root or run folder', () => {
    for (const [extra, words] of [
      [{ uid: 'uid-other' }, /uid "uid-other", not this run's "uid-backup"/],
      [{ root: 'ns/elsewhere' }, /root "ns\/elsewhere"/],
      [{ run: '2026-01-02-030405' }, /run folder "2026-01-02-030405", not this run's "mirror"/],
      [{ command: 'restore' }, /command "restore"/],
    ] as const) {
      const d = decide(
        creating(),
        observed(at(5), { job: job({ type: 'Complete' }), pods: [terminatedPod(0, moverReport(extra))] }),
        config,
      );
      expect(failedWith(d)?.reason).toBe('NoMoverReport');
      expect(d.status.message).toMatch(words);
    }
  });

  it('fails MoverProtocolMismatch, naming both versions, for a report of another protocol', () => {
    const d = decide(
      creating(),
      observed(at(5), {
        job: job({ type: 'Complete' }),
        pods: [terminatedPod(0, moverReport({ protocol: 2 }))],
      }),
      config,
    );
    expect(failedWith(d)?.reason).toBe('MoverProtocolMismatch');
    expect(d.status.message).toContain('protocol version 2, and this operator reads version 1');
  });

  it("waits for the pod's exit to reach the cache, then fails when no pod shows it", () => {
    const done = { ...job({ type: 'Complete' }) };
    done.status = { ...done.status, completionTime: at(5) };
    const early = decide(creating(), observed(at(6), { job: done, pods: [] }), config);
    expect(early.status.phase).toBe('CreatingPod');
    expect(early.requeueAfterMs).toBeGreaterThan(0);
    expect(early.requeueAfterMs).toBeLessThanOrEqual(29_000);
    const late = decide(creating(), observed(at(36), { job: done, pods: [] }), config);
    expect(failedWith(late)?.reason).toBe('NoMoverReport');
    expect(late.status.message).toContain('no pod of the Job shows its exit');
  });
});
