// Hostile and bad input: generated DataMover specs (fast-check) go through the real apiserver; the
// apiserver refuses what the CRD forbids with a message naming the DataMover, and every object it
// accepts ends Completed or Failed with a reason and a message, while the operator neither crashes
// nor spins. Policy refusals (image allowlist, serviceAccountName) are checked one by one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PULL_POLICIES } from '../../src/api/v1alpha1/schema.js';
import { SECRET_KEYS } from '../../src/contract/env.js';
import { DEFAULT_MOVER_IMAGE, repositoryOf } from '../../src/config.js';
import { ENV_FAMILIES, NEVER_IN_MOVER, RCLONE_TUNING } from '../../src/contract/tenant-env.js';
import {
  apply,
  condition,
  dataMover,
  getDataMover,
  getJson,
  kubectl,
  kubectlOk,
  sourceAndSecret,
  uniqueName,
  waitFor,
  waitForPhase,
} from '../support/cluster.js';
import { sample, withOperator } from '../support/operator.js';

const env = withOperator('dm-hostile', [
  '--source-pvc-grace-period=2s',
  '--pod-start-timeout=4s',
  '--clone-stall-after=1s',
  '--clone-provision-timeout=4s',
]);

const TERMINAL = new Set(['Completed', 'Failed']);
/** Printed, so a run's specs can be generated again: HOSTILE_SEED=<seed> make test-e2e. */
const SEED = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);
console.log(`fast-check seed ${SEED}`);
const BATCH = 24;
const RUNS = 3;

// Mostly well-formed values (so most objects are accepted and run), with the odd hostile one:
// unicode, empty, huge, the wrong type.
const wild = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', ' ', '..', '/', '-', 'a'.repeat(300), '${HOME}', '$(rm -rf /)', 'null'),
  fc.integer(),
  fc.boolean(),
);
const often = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 60 }, { arbitrary: wild as fc.Arbitrary<unknown>, weight: 1 });
/** Absent most of the time (JSON drops undefined), so most objects are otherwise valid. */
const rare = <T>(value: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: value, weight: 1 });
const dnsName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}[a-z0-9]$/);
const path = fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8}){0,2}$/);
const envName = fc.oneof(
  fc.constantFrom('RCLONE_TRANSFERS', 'RCLONE_CHECKERS', 'RCLONE_S3_UPLOAD_CONCURRENCY'),
  fc.constantFrom(
    'RCLONE_TRANSFERS',
    'RCLONE_S3_UPLOAD_CONCURRENCY',
    'DATAMOVER_DESTINATION_PATH',
    'RCLONE_CONFIG',
    ...SECRET_KEYS.map(([name]) => name),
    ...NEVER_IN_MOVER,
    ...Object.keys(RCLONE_TUNING),
  ),
  fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/),
);

const spec = fc.record(
  {
    sourcePvc: fc.oneof(
      { arbitrary: fc.constant('src'), weight: 12 },
      { arbitrary: fc.constantFrom('missing', 'block-src'), weight: 3 },
      { arbitrary: dnsName, weight: 1 },
      { arbitrary: wild, weight: 1 },
    ),
    secretName: often(fc.constant('bucket')),
    // Mostly below the namespace's own prefix; some outside it (refused by the operator), some
    // hostile (refused by the CRD: the bucket root, empty or blank folders, climbing, control characters).
    destinationPath: often(
      fc.oneof(
        { arbitrary: path.map((p) => `${env.ns}/${p}`), weight: 4 },
        { arbitrary: path, weight: 1 },
        {
          arbitrary: fc.constantFrom(
            '/',
            '//',
            ' ',
            ' / ',
            'a//b',
            'a/../b',
            './a',
            'a/ /b',
            'a\nb',
            'a\u0000b',
          ),
          weight: 1,
        },
      ),
    ),
    additionalEnv: often(
      fc.array(fc.record({ name: envName, value: fc.string({ maxLength: 20 }) }), { maxLength: 3 }),
    ),
    image: often(
      fc.record(
        {
          repository: fc.oneof(
            { arbitrary: fc.constant(repositoryOf(DEFAULT_MOVER_IMAGE)), weight: 4 },
            { arbitrary: fc.constant('docker.io/evil/miner'), weight: 1 },
          ),
          tag: fc.constantFrom('0.1.0', 'latest', 'sha256:' + 'a'.repeat(64)),
          pullPolicy: fc.constantFrom(...PULL_POLICIES),
        },
        { requiredKeys: [] },
      ),
    ),
    // A failing mover is retried with the Job's backoff (10 s, 20 s, …): keep the retries few.
    backoffLimit: often(fc.integer({ min: 0, max: 2 })),
    bandwidthLimit: often(fc.constantFrom('10M', '512K', '1.5G')),
    include: often(fc.array(fc.constantFrom('*.db', '/logs/**', '[', ''), { maxLength: 2 })),
    exclude: often(fc.array(fc.constantFrom('*.tmp', '**/cache/**', '{'), { maxLength: 2 })),
    checksum: often(fc.boolean()),
    deletePvcAfterBackup: often(fc.boolean()),
    addTimestampPrefix: often(fc.boolean()),
    ttlSecondsAfterFinished: often(fc.integer({ min: 0, max: 86_400 })),
    podLabels: often(
      fc.oneof(
        fc.record({ simulate: fc.constantFrom('fail', 'config-error', 'slow') }),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9./-]{0,20}$/), fc.string({ maxLength: 10 }), {
          maxKeys: 2,
        }),
      ),
    ),
    resources: often(
      fc.record(
        { requests: fc.record({ cpu: fc.constantFrom('100m', '1', 'plenty') }, { requiredKeys: [] }) },
        { requiredKeys: [] },
      ),
    ),
    securityContext: often(
      fc.record(
        {
          runAsUser: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          runAsGroup: fc.integer({ min: 0, max: 70_000 }),
          fsGroup: fc.integer({ min: 0, max: 70_000 }),
        },
        { requiredKeys: [] },
      ),
    ),
    serviceAccountName: rare(dnsName),
    privilegedReader: rare(fc.boolean()),
    surprise: rare(wild),
  },
  { requiredKeys: ['sourcePvc'] },
);

async function reconciles(): Promise<number> {
  const text = await env.operator.scrape();
  return ['success', 'error', 'conflict']
    .map((result) => sample(text, 'datamover_reconcile_total', { result }) ?? 0)
    .reduce((a, b) => a + b, 0);
}

/** Applies one generated spec: its name if the apiserver accepted it, or the refusal. */
async function applyOne(spec: Record<string, unknown>): Promise<{ name: string; refusal?: string }> {
  const name = uniqueName('gen');
  const object = { ...dataMover(name, spec), metadata: { name, namespace: env.ns } };
  const result = await kubectl(['create', '-f', '-', '-o', 'name'], JSON.stringify(object));
  return result.code === 0 ? { name } : { name, refusal: result.stderr };
}

describe('generated DataMover specs through the real apiserver', () => {
  it('are refused with a message, or end Completed or Failed with a reason, and the operator neither crashes nor spins', async () => {
    await sourceAndSecret(env.ns, 'src');
    await sourceAndSecret(env.ns, 'block-src', { volumeMode: 'Block' });
    let accepted = 0;
    let refused = 0;
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: BATCH, maxLength: BATCH }), async (specs) => {
        const results = await Promise.all(specs.map((s) => applyOne(s as Record<string, unknown>)));
        for (const r of results.filter((r) => r.refusal !== undefined)) {
          // kubectl says which object and which field; nothing is half-created.
          expect(r.refusal).toMatch(/DataMover|datamover/);
          expect(await getDataMover(env.ns, r.name)).toBeUndefined();
          refused++;
          if (refused <= 3) console.log(r.refusal);
        }
        const names = results.filter((r) => r.refusal === undefined).map((r) => r.name);
        accepted += names.length;
        for (const name of names) {
          const dm = await waitFor(
            async () => {
              const dm = await getDataMover(env.ns, name);
              // ttlSecondsAfterFinished may already have removed a finished one.
              if (dm === undefined) return 'deleted' as const;
              return TERMINAL.has(dm.status?.phase ?? '') ? dm : undefined;
            },
            { timeoutMs: 90_000, what: `${name} to finish` },
          );
          const phase = dm === 'deleted' ? 'Deleted' : dm.status!.phase!;
          const reason =
            dm === 'deleted'
              ? 'ttlSecondsAfterFinished'
              : condition(dm, phase === 'Failed' ? 'Failed' : 'Complete')?.reason;
          if (dm !== 'deleted' && phase === 'Failed') {
            expect(reason, name).toBeTruthy();
            expect(dm.status?.message, name).toBeTruthy();
          }
          const key = `${phase}/${reason}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
        expect(env.operator.exited, env.operator.logs.slice(-2000)).toBe(false);
      }),
      { numRuns: RUNS, endOnFailure: true, seed: SEED },
    );
    console.log(`generated: ${accepted} accepted, ${refused} refused; outcomes ${JSON.stringify(outcomes)}`);
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);

    // No programming error surfaced, and the work stayed bounded: a spinning key would keep
    // reconciling long after its DataMover finished.
    expect(env.operator.logs).not.toMatch(/TypeError|RangeError|ReferenceError|unhandled|uncaught/i);
    await waitFor(async () => sample(await env.operator.scrape(), 'datamover_workqueue_depth') === 0, {
      what: 'the work queue to drain',
    });
    const passes = await reconciles();
    // A spinning key says so in the operator's log (runtime.ts), with what kept enqueueing it; the
    // warnings (watch restarts among them) are printed too, so a failure here names its cause.
    const warnings = env.operator.logs.split('\n').filter((l) => /"level":"(warn|error)"/.test(l));
    console.log(`operator warnings: ${warnings.length}\n${warnings.slice(0, 20).join('\n')}`);
    console.log(`reconcile passes: ${passes} for ${accepted} DataMovers`);
    expect(passes).toBeLessThan(accepted * 25);
  });
});

/**
 * A DataMover with these additionalEnv entries through the real apiserver, as a server-side dry run
 * (the CRD's CEL rules decide; nothing is stored): the refusal, or undefined when admitted.
 */
async function admission(additionalEnv: Array<Record<string, unknown>>): Promise<string | undefined> {
  const object = { ...dataMover(uniqueName('env'), { sourcePvc: 'src', additionalEnv }) };
  const result = await kubectl(
    ['create', '--dry-run=server', '-n', env.ns, '-f', '-', '-o', 'name'],
    JSON.stringify(object),
  );
  return result.code === 0 ? undefined : result.stderr;
}

const suffix = fc.stringMatching(/^[A-Z0-9_]{0,12}$/);
/** A name of each refused family: a prefix or a whole name of it, with generated characters after a prefix. */
const familyName = fc
  .oneof(
    ...ENV_FAMILIES.flatMap((f) => [
      ...f.prefixes.map((p) => suffix.map((x) => ({ name: `${p}${x}`, family: f }))),
      ...(f.names.length > 0 ? [fc.constantFrom(...f.names).map((n) => ({ name: n, family: f }))] : []),
      ...f.suffixes.map((x) =>
        fc.stringMatching(/^[A-Z][A-Z0-9]{0,8}$/).map((p) => ({ name: `${p}${x}`, family: f })),
      ),
    ]),
  )
  .filter(({ name }) => !(name in RCLONE_TUNING));
/** Names that nothing in the mover reads: upper-case words no family starts, ends or names. */
const plainName = fc
  .stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/)
  .filter((n) =>
    ENV_FAMILIES.every(
      (f) =>
        !f.prefixes.some((p) => n.startsWith(p)) &&
        !f.names.includes(n) &&
        !f.suffixes.some((x) => n.endsWith(x)),
    ),
  );

describe('additionalEnv at admission (generated names, the CRD as installed)', () => {
  it('refuses every name of a family that something in the mover reads, naming the variable and the rule', async () => {
    await fc.assert(
      fc.asyncProperty(familyName, fc.string({ maxLength: 20 }), async ({ name, family }, value) => {
        const refusal = await admission([{ name, value }]);
        expect(refusal, name).toContain(`additionalEnv ${name} is refused`);
        expect(refusal, name).toContain(family.readBy.slice(0, 30));
      }),
      { numRuns: 40, seed: SEED },
    );
  });

  it('refuses names that are not plain, valueFrom, and tuning flags with malformed values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .stringMatching(/^[a-z][a-zA-Z0-9_]{0,12}$/)
            .map((name) => ({ entry: { name, value: 'x' }, words: 'not a plain name' })),
          fc
            .stringMatching(/^[A-Z][A-Z0-9_]{0,6}[-.=$ ][A-Z0-9]{0,4}$/)
            .map((name) => ({ entry: { name, value: 'x' }, words: 'not a plain name' })),
          plainName.map((name) => ({
            entry: { name, valueFrom: { secretKeyRef: { name: 'other', key: 'k' } } },
            words: 'valueFrom is refused',
          })),
          fc
            .tuple(
              fc.constantFrom(...Object.keys(RCLONE_TUNING)),
              fc.constantFrom('$(id)', 'x y', '1;2', '-1', '--help'),
            )
            .map(([name, value]) => ({ entry: { name, value }, words: `${name} takes` })),
        ),
        async ({ entry, words }) => {
          const refusal = await admission([entry]);
          expect(refusal, JSON.stringify(entry)).toContain(words);
        },
      ),
      { numRuns: 30, seed: SEED },
    );
  });

  it("admits plain names with any value (the original operator's ENVIRONMENT=production) and well-formed tuning flags", async () => {
    expect(await admission([{ name: 'ENVIRONMENT', value: 'production' }])).toBeUndefined();
    await fc.assert(
      fc.asyncProperty(plainName, fc.string({ maxLength: 40 }), async (name, value) => {
        expect(
          await admission([
            { name, value },
            { name: 'RCLONE_TRANSFERS', value: '8' },
          ]),
        ).toBeUndefined();
      }),
      { numRuns: 30, seed: SEED },
    );
  });

  it('refuses the code-loading names of the issue one by one (NODE_OPTIONS, LD_PRELOAD, RCLONE_BINARY, ...)', async () => {
    for (const name of NEVER_IN_MOVER) {
      expect(await admission([{ name, value: 'x' }]), name).toContain(`additionalEnv ${name} is refused`);
    }
  });
});

describe('policy', () => {
  it('refuses a mover image outside the allowlist before cloning anything', async () => {
    await sourceAndSecret(env.ns, 'img-src');
    await apply(
      env.ns,
      dataMover('img', {
        sourcePvc: 'img-src',
        secretName: 'bucket',
        image: { repository: 'evil.example/miner', tag: 'latest' },
      }),
    );
    const dm = await waitForPhase(env.ns, 'img', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('ImageNotAllowed');
    expect(dm.status?.message).toContain('evil.example/miner:latest');
    expect(await getJson(['get', 'pvc', 'img-clone', '-n', env.ns])).toBeUndefined();
  });

  it("refuses a destination outside the namespace's prefix unless an administrator allows it", async () => {
    await sourceAndSecret(env.ns, 'dest-src');
    await apply(
      env.ns,
      dataMover('elsewhere', {
        sourcePvc: 'dest-src',
        secretName: 'bucket',
        destinationPath: 'other-team/db',
      }),
    );
    const dm = await waitForPhase(env.ns, 'elsewhere', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('DestinationNotAllowed');
    expect(dm.status?.message).toContain(`outside the namespace's own prefix ${env.ns}/`);
    expect(dm.status?.message).toContain('datamover.io/allowed-destination-prefixes');
    expect(await getJson(['get', 'pvc', 'elsewhere-clone', '-n', env.ns])).toBeUndefined();
    await kubectlOk([
      'annotate',
      'namespace',
      env.ns,
      'datamover.io/allowed-destination-prefixes=shared/, other-team',
    ]);
    await apply(
      env.ns,
      dataMover('allowed', { sourcePvc: 'dest-src', secretName: 'bucket', destinationPath: 'other-team/db' }),
    );
    const allowed = await waitForPhase(env.ns, 'allowed', 'Completed');
    expect(allowed.status?.destination).toBe('bucket:other-team/db/mirror/');
  });

  it('refuses serviceAccountName unless the operator allows it', async () => {
    await apply(
      env.ns,
      dataMover('sa', { sourcePvc: 'img-src', secretName: 'bucket', serviceAccountName: 'powerful' }),
    );
    const dm = await waitForPhase(env.ns, 'sa', 'Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('ServiceAccountNotAllowed');
    expect(dm.status?.message).toContain('--allow-mover-service-account');
    expect(await getJson(['get', 'pvc', 'sa-clone', '-n', env.ns])).toBeUndefined();
  });
});
