// A backup's verification against its manifest, as the DataMover shows it: status.verification from
// the mover's report, and a mismatch failing the run with its own reason.
import { describe, expect, it } from 'vitest';
import {
  at,
  config,
  dm,
  inPhase,
  job,
  observed,
  terminatedPod,
  moverReport,
} from './fixtures.test-helpers.js';
import { decide } from './machine.js';

describe("a backup's verification", () => {
  it('records the verification of the bucket against the manifest', () => {
    const d = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(5), {
        job: job({ type: 'Complete' }),
        pods: [
          terminatedPod(
            0,
            moverReport({ bytes: 2048, files: 2, verify: { verified: 3, mismatches: 0, mismatched: [] } }),
          ),
        ],
      }),
      config,
    );
    expect(d.status.verification).toEqual({ verified: 3, mismatches: 0 });
  });

  it('fails a backup the bucket does not match with BackupVerificationFailed, naming the files', () => {
    const report = {
      error: '1 file differs',
      verify: { verified: 2, mismatches: 1, mismatched: ['a.txt: content'] },
    };
    const d = decide(
      dm({}, inPhase('CreatingPod', { jobName: 'backup-mover' })),
      observed(at(5), {
        job: job({ type: 'Failed', reason: 'PodFailurePolicy' }),
        pods: [terminatedPod(9, JSON.stringify(report))],
      }),
      config,
    );
    expect(d.status.phase).toBe('Failed');
    expect(d.status.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('BackupVerificationFailed');
    expect(d.status.verification).toEqual({
      verified: 2,
      mismatches: 1,
      mismatchedFiles: ['a.txt: content'],
    });
  });
});
