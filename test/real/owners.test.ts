// Files of another user, and their owners, on the real node. An application (uid 999) keeps a 0600
// file: the default mover (uid 65534) must fail naming it (UnreadableFiles, docs/mover.md, "Reading
// files the application keeps private"), and the privileged reader, in a namespace an administrator
// opted in (annotation and Pod Security `privileged`), backs it up whole. That backup restored with
// restoreOwners gives every entry back its owner, mode and time (the host's view of both folders); a
// default restore completes but says, in status, a condition and a Warning event, that the owners
// were not applied: never a silent Completed.
import { chownSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataMoverRestore } from '../../src/api/v1alpha1/restore.js';
import {
  apply,
  condition,
  dataMover,
  getDataMover,
  getJson,
  kubectlOk,
  waitFor,
} from '../support/cluster.js';
import { reasonOf, restore, restoreHelpers } from '../support/restores.js';
import {
  busyboxPod,
  dataMoverCompleted,
  hostFolderOf,
  makeBucket,
  realBucketSecret,
  realPvc,
  realS3,
  realTolerations,
  runPod,
  skipReason,
  timed,
  titled,
  useRealNamespace,
} from '../support/realnode.js';
import { snapshotBucket } from '../support/s3.js';
import { snapshotTree, type FullEntry } from '../support/tree.js';

const BUCKET = 'owners';
const APP_UID = 999;
const PRIVATE = 'db/secret.key';

/** The application's files, written as uid 999: a 0600 key, a group-readable segment, an old file, a link. */
const WRITER = `set -eu
cd /data
mkdir -p db/wal 'shared dir'
printf 'private key of the application\\n' > ${PRIVATE} && chmod 600 ${PRIVATE}
printf 'segment 1\\n' > db/wal/0001.seg && chmod 640 db/wal/0001.seg
chmod 750 db/wal
printf 'hello\\n' > readme.txt && touch -d '2020-02-03 04:05:06' readme.txt
printf '#!/bin/sh\\necho hi\\n' > 'shared dir/run.sh' && chmod 755 'shared dir/run.sh'
ln -s ${PRIVATE} current-key
echo written`;

let ns = '';
let source = new Map<string, FullEntry>();

useRealNamespace('real-owners', async (name) => {
  ns = name;
  await Promise.all([makeBucket(BUCKET), apply(ns, realBucketSecret('bucket', BUCKET), realPvc('app'))]);
  await runPod(ns, busyboxPod('writer', WRITER, [{ claim: 'app', mount: 'data' }], APP_UID));
  // A second owner, as a sidecar of another user would leave (the test runs as root on the host).
  const folder = await hostFolderOf(ns, 'app');
  chownSync(join(folder, 'db/wal/0001.seg'), 1001, 1002);
  source = snapshotTree(folder);
});

const backupSpec = (extra: Record<string, unknown> = {}) => ({
  sourcePvc: 'app',
  secretName: 'bucket',
  addTimestampPrefix: true,
  tolerations: realTolerations(),
  ...extra,
});

/** The events of `kind` `name` with `reason`, once there is one: type and message. */
function eventsAbout(kind: string, name: string, reason: string) {
  return waitFor(
    async () => {
      const list = await getJson<{ items: Array<{ type?: string; message?: string }> }>([
        'get',
        'events',
        '-n',
        ns,
        '--field-selector',
        `involvedObject.kind=${kind},involvedObject.name=${name},reason=${reason}`,
      ]);
      return list?.items.length ? list.items : undefined;
    },
    { what: `a ${reason} event about ${kind} ${name}` },
  );
}

describe.skipIf(!!skipReason())(titled("another user's files on the real node"), () => {
  it('fails the default backup at once, naming the 0600 file of uid 999 (UnreadableFiles)', async () => {
    expect(source.get(PRIVATE)).toMatchObject({ mode: '600', uid: APP_UID, gid: APP_UID });
    await apply(ns, dataMover('plain', backupSpec()));
    const dm = await timed('default backup to Failed', () =>
      waitFor(
        async () => {
          const d = await getDataMover(ns, 'plain');
          return ['Completed', 'Failed'].includes(d?.status?.phase ?? '') ? d : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250, what: 'DataMover plain to end' },
      ),
    );
    expect(dm.status?.phase).toBe('Failed');
    expect(condition(dm, 'Failed')?.reason).toBe('UnreadableFiles');
    expect(dm.status?.message).toContain(PRIVATE);
    expect(dm.status?.message).toContain('uid 65534');
    // A retry cannot make the file readable: one attempt (the Job's podFailurePolicy).
    expect(dm.status?.attempts).toBe(1);
  });

  it('backs it up with privilegedReader where the namespace allows it: the object hashes as the file', async () => {
    await kubectlOk(['annotate', 'namespace', ns, 'datamover.io/privileged-movers=true']);
    await kubectlOk([
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=privileged',
      '--overwrite',
    ]);
    await apply(ns, dataMover('privileged', backupSpec({ privilegedReader: true })));
    const dm = await timed('privileged backup to Completed', () => dataMoverCompleted(ns, 'privileged'));
    const data = `${dm.status!.destination!.slice('bucket:'.length)}data/`;
    const objects = await snapshotBucket(realS3(), BUCKET);
    expect(objects.get(`${data}${PRIVATE}`)?.sha256).toBe(source.get(PRIVATE)!.sha256);
    const files = [...source].filter(([, e]) => e.type === 'file');
    for (const [path, e] of files) expect(objects.get(`${data}${path}`)?.sha256, path).toBe(e.sha256);
    expect(dm.status?.filesTransferred).toBe(files.length + 1); // and the link
  });

  it('restores owners with restoreOwners, and says so when a default restore could not', async () => {
    const { waitForRestore } = restoreHelpers({ ns });
    const spec = (target: string, extra: Record<string, unknown> = {}) => ({
      source: { backup: { secretName: 'bucket', sourcePvc: 'app' } },
      target: { newPvc: { name: target, storageClassName: 'test-real' } },
      tolerations: realTolerations(),
      ...extra,
    });
    await apply(
      ns,
      restore('with-owners', spec('owned', { restoreOwners: true })),
      restore('without-owners', spec('plain')),
    );
    const [owned, plain] = await timed('two restores to Completed', () =>
      Promise.all([
        waitForRestore('with-owners', undefined, 120_000),
        waitForRestore('without-owners', undefined, 120_000),
      ]),
    );
    // restoreOwners: the host sees the same tree, owners included.
    expect(owned.status?.phase, owned.status?.message).toBe('Completed');
    expect(owned.status?.ownersNotApplied ?? 0).toBe(0);
    expect(reasonOf(owned, 'OwnersRestored')).toBe('OwnersApplied');
    const restored = snapshotTree(await hostFolderOf(ns, 'owned'));
    expect(restored.get(PRIVATE)).toMatchObject({ mode: '600', uid: APP_UID, gid: APP_UID });
    expect(restored.get('db/wal/0001.seg')).toMatchObject({ uid: 1001, gid: 1002 });
    expect(Object.fromEntries(restored)).toEqual(Object.fromEntries(source));

    // Default: Completed, but every entry of another owner is counted, named, and warned about.
    expectOwnersNotApplied(plain);
    const warnings = await eventsAbout('DataMoverRestore', 'without-owners', 'OwnersNotApplied');
    expect(warnings.map((e) => e.type)).toEqual(['Warning']);
    expect(warnings[0]!.message).toContain(`${plain.status!.ownersNotApplied}`);
    const asMover = snapshotTree(await hostFolderOf(ns, 'plain'));
    const strip = (t: Map<string, FullEntry>) =>
      Object.fromEntries([...t].map(([p, { uid: _u, gid: _g, ...rest }]) => [p, rest]));
    expect(strip(asMover)).toEqual(strip(source));
    expect(asMover.get(PRIVATE)).toMatchObject({ uid: 65534, gid: 65534 });
  });
});

function expectOwnersNotApplied(r: DataMoverRestore): void {
  expect(r.status?.phase, r.status?.message).toBe('Completed');
  const foreign = [...source.values()].filter((e) => e.uid !== 65534 || e.gid !== 65534).length;
  expect(r.status?.ownersNotApplied).toBe(foreign);
  expect(r.status?.ownersNotAppliedFiles?.join('\n')).toContain(
    `${PRIVATE}: owner (65534:65534, not 999:999)`,
  );
  const owners = r.status?.conditions?.find((c) => c.type === 'OwnersRestored');
  expect(owners).toMatchObject({ status: 'False', reason: 'OwnersNotApplied' });
}
