// The policy on additionalEnv: what could replace the credentials or move the destination is
// refused before anything is created; rclone tuning passes.
import { describe, expect, it } from 'vitest';
import type { DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { findCondition } from '../conditions.js';
import { at, config, dm, source, T0 } from './fixtures.test-helpers.js';
import { decide, type Observed } from './machine.js';

const observed = (now: Date, extra: Partial<Observed> = {}): Observed => ({ now, pods: [], ...extra });
const inPhase = (phase: DataMoverStatus['phase']): DataMoverStatus => ({
  phase,
  startTime: T0.toISOString(),
  phaseStartTime: T0.toISOString(),
});
const reason = (s: DataMoverStatus, type: string) => findCondition(s.conditions, type)?.reason;

describe('additionalEnv', () => {
  it('refuses additionalEnv that would replace the credentials or the destination, and allows rclone tuning', () => {
    for (const name of [
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'DATAMOVER_DESTINATION_PATH',
      'RCLONE_CONFIG',
      'RCLONE_CONFIG_DATAMOVER_ENDPOINT',
      'RCLONE_S3_ACCESS_KEY_ID',
      // The encryption key comes from the Secret; a crypt option could store plain text.
      'RCLONE_CRYPT_PASSWORD',
      'RCLONE_CRYPT_NO_DATA_ENCRYPTION',
    ]) {
      const refused = decide(
        dm(
          {
            additionalEnv: [
              { name: 'RCLONE_TRANSFERS', value: '8' },
              { name, value: 'x' },
            ],
          },
          inPhase('CreatingClonedPVC'),
        ),
        observed(at(1), { source: source() }),
        config,
      );
      expect(reason(refused.status, 'Failed'), name).toBe('ReservedEnvNotAllowed');
      expect(refused.status.message).toContain(`additionalEnv sets ${name}:`);
      expect(refused.actions).toEqual([]);
    }
    const tuning = decide(
      dm(
        {
          additionalEnv: [
            { name: 'RCLONE_TRANSFERS', value: '8' },
            { name: 'RCLONE_S3_UPLOAD_CONCURRENCY', value: '8' },
          ],
        },
        inPhase('CreatingClonedPVC'),
      ),
      observed(at(1), { source: source() }),
      config,
    );
    expect(tuning.actions[0]?.type).toBe('createClone');
  });
});
