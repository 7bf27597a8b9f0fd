// Faults a user meets first, through real mover pods on the real node: wrong credentials, an endpoint
// nobody listens on (an unused port of the bridge address) and a bucket that does not exist. Each
// ends Failed with the mover's own reason (docs/mover.md, the exit codes) in the condition and the
// message, after one attempt: the first two fail the Job at once (podFailurePolicy), and the
// unreachable endpoint, retried by design, is given backoffLimit 0 here.
import { describe, expect, it } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { apply, condition, dataMover, getDataMover, waitFor } from '../support/cluster.js';
import { freePort } from '../support/ports.js';
import {
  busyboxPod,
  makeBucket,
  realBucketSecret,
  realPvc,
  realTolerations,
  runPod,
  skipReason,
  tier,
  timed,
  titled,
  useRealNamespace,
} from '../support/realnode.js';

const BUCKET = 'faults';
let ns = '';

useRealNamespace('real-faults', async (name) => {
  ns = name;
  const secret = (name: string, change: Record<string, string>) => {
    const s = realBucketSecret(name, BUCKET);
    Object.assign(s.stringData, change);
    return s;
  };
  // A port of the bridge address that nothing listens on: freePort binds it and lets it go.
  const unused = await freePort(tier().s3.host);
  await Promise.all([
    makeBucket(BUCKET),
    apply(
      ns,
      realPvc('app'),
      secret('wrong-key', { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
      secret('no-server', { BUCKET_PORT: String(unused) }),
      secret('no-bucket', { BUCKET_NAME: 'no-such-bucket' }),
    ),
  ]);
  await runPod(ns, busyboxPod('writer', 'echo data > /data/file.txt', [{ claim: 'app', mount: 'data' }]));
});

function ended(name: string): Promise<DataMover> {
  return waitFor(
    async () => {
      const dm = await getDataMover(ns, name);
      return ['Completed', 'Failed'].includes(dm?.status?.phase ?? '') ? dm : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `DataMover ${name} to end` },
  );
}

describe.skipIf(!!skipReason())(titled('bucket faults on the real node'), () => {
  it('fails each run with the reason the mover found, after one attempt', async () => {
    // Each its own root: roots that meet would wait for one another.
    const cases = [
      { secret: 'wrong-key', reason: 'BucketCredentialsRejected' },
      { secret: 'no-server', reason: 'BucketEndpointUnreachable', backoffLimit: 0 },
      { secret: 'no-bucket', reason: 'BucketNotFound' },
    ];
    await apply(
      ns,
      ...cases.map((c) =>
        dataMover(c.secret, {
          sourcePvc: 'app',
          secretName: c.secret,
          destinationPath: `${ns}/${c.secret}`,
          tolerations: realTolerations(),
          ...(c.backoffLimit === undefined ? {} : { backoffLimit: c.backoffLimit }),
        }),
      ),
    );
    const runs = await timed('three faulty backups to Failed', () =>
      Promise.all(cases.map((c) => timed(`backup with ${c.secret} to Failed`, () => ended(c.secret)))),
    );
    for (const [i, c] of cases.entries()) {
      const dm = runs[i]!;
      expect(dm.status?.phase, c.secret).toBe('Failed');
      expect(condition(dm, 'Failed')?.reason, `${c.secret}: ${dm.status?.message}`).toBe(c.reason);
      expect(dm.status?.attempts, c.secret).toBe(1);
    }
    expect(runs[2]!.status?.message).toContain('no-such-bucket');
    expect(runs[1]!.status?.message).toContain(tier().s3.host);
  });
});
