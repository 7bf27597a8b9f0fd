// The policy on additionalEnv: an allowlist of plain names and rclone tuning flags. Anything that a
// runtime or tool in the mover reads as configuration is refused before anything is created, with a
// message naming the variable and the rule; the original operator's ENVIRONMENT=production passes.
import { describe, expect, it } from 'vitest';
import type { DataMoverStatus, EnvVar } from '../../api/v1alpha1/schema.js';
import { tenantEnvProblem } from '../../contract/tenant-env.js';
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
const run = (additionalEnv: EnvVar[]) =>
  decide(dm({ additionalEnv }, inPhase('CreatingClonedPVC')), observed(at(1), { source: source() }), config);

/** Each refused class, with the words its message must have. */
const REFUSED: Array<[EnvVar, RegExp]> = [
  [{ name: 'NODE_OPTIONS', value: '--import=data:text/javascript,process.exit(0)' }, /Node\.js/],
  [{ name: 'LD_PRELOAD', value: '/tmp/x.so' }, /dynamic loader/],
  [{ name: 'PATH', value: '/tmp' }, /shell and the process/],
  [{ name: 'HOME', value: '/' }, /shell and the process/],
  [{ name: 'HTTPS_PROXY', value: 'http://10.0.0.9:3128' }, /proxies/],
  [{ name: 'https_proxy', value: 'http://10.0.0.9:3128' }, /not a plain name/],
  [{ name: 'SSL_CERT_FILE', value: '/tmp/ca' }, /TLS/],
  [{ name: 'GODEBUG', value: 'x509ignoreCN=0' }, /Go's runtime/],
  [{ name: 'RCLONE_BINARY', value: '/bin/sh' }, /rclone/],
  [{ name: 'RCLONE_BACKUP_DIR', value: 'DATAMOVER:other' }, /rclone/],
  [{ name: 'RCLONE_DUMP', value: 'headers' }, /rclone/],
  [{ name: 'RCLONE_NO_CHECK_CERTIFICATE', value: 'true' }, /rclone/],
  [{ name: 'RCLONE_CONFIG_DATAMOVER_ENDPOINT', value: 'http://x' }, /rclone/],
  [{ name: 'RCLONE_CRYPT_NO_DATA_ENCRYPTION', value: 'true' }, /rclone/],
  [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'x' }, /bucket Secret/],
  [{ name: 'DATAMOVER_BACKUP_ROOT', value: 'x' }, /operator/],
  [{ name: 'KUBERNETES_SERVICE_HOST', value: 'x' }, /Kubernetes/],
  [{ name: 'LANG', value: 'C' }, /locale/],
  [{ name: 'ENVIRONMENT', valueFrom: { secretKeyRef: { name: 'other', key: 'k' } } }, /valueFrom is refused/],
  [{ name: 'RCLONE_TRANSFERS', value: '8; rm -rf /' }, /takes a whole number/],
  [{ name: 'RCLONE_TIMEOUT', value: 'forever' }, /takes a duration/],
];

describe('additionalEnv', () => {
  it('refuses every name a runtime or tool in the mover reads, valueFrom and malformed tuning values, before anything is created', () => {
    for (const [bad, words] of REFUSED) {
      const refused = run([{ name: 'RCLONE_TRANSFERS', value: '8' }, bad]);
      expect(reason(refused.status, 'Failed'), bad.name).toBe('ReservedEnvNotAllowed');
      expect(refused.status.message, bad.name).toContain(`additionalEnv ${bad.name}`);
      expect(refused.status.message, bad.name).toMatch(words);
      expect(refused.actions).toEqual([]);
    }
  });

  it("allows plain names (the original operator's ENVIRONMENT=production) and the rclone tuning flags", () => {
    const allowed = run([
      { name: 'ENVIRONMENT', value: 'production' },
      { name: 'TEAM_NAME', value: 'payments; $(rm -rf /)' },
      { name: 'RCLONE_TRANSFERS', value: '8' },
      { name: 'RCLONE_S3_UPLOAD_CONCURRENCY', value: '8' },
      { name: 'RCLONE_S3_CHUNK_SIZE', value: '64Mi' },
      { name: 'RCLONE_BWLIMIT', value: '10M:1M' },
      { name: 'RCLONE_TIMEOUT', value: '5m30s' },
      { name: 'RCLONE_USE_MMAP', value: 'true' },
    ]);
    expect(allowed.actions[0]?.type).toBe('createClone');
  });

  it('is one rule for the operator and the mover (src/contract/tenant-env.ts)', () => {
    expect(tenantEnvProblem({ name: 'ENVIRONMENT', value: 'production' })).toBeUndefined();
    expect(tenantEnvProblem({ name: 'NODE_OPTIONS', value: '' })).toMatch(/Node\.js/);
    expect(tenantEnvProblem({ name: 'NO_PROXY', value: '*' })).toMatch(/proxies/);
    expect(tenantEnvProblem({ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/x' })).toBeDefined();
  });
});
