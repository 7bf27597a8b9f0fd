// A file readable only by the application's user makes the default mover (UID 65534) fail with the
// file named; run as the application's UID (the DataMover's securityContext), the same tree backs up
// completely.
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dm, config, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { buildMoverJob } from '../../src/jobs/job.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server } from '../support/s3.js';
import { makeTree, tempDir } from '../support/tree.js';

const APP_UID = 1000;
const s3 = new S3Server();
let source: string;

beforeAll(async () => {
  await s3.start('backups');
  source = tempDir('dm-src-');
  makeTree(source);
  writeFileSync(join(source, 'db/secret.key'), 'only the app reads this\n');
  chownSync(join(source, 'db/secret.key'), APP_UID, APP_UID);
  chmodSync(join(source, 'db/secret.key'), 0o600);
  // The rest of the tree belongs to the application too, as on a real volume.
  chownSync(join(source, 'db/data.db'), APP_UID, APP_UID);
  chownSync(join(source, 'db/wal/segments/0001.seg'), APP_UID, APP_UID);
});

afterAll(async () => {
  await s3.stop();
});

/** UID and GID of the mover pod the operator builds for this securityContext. */
function identity(securityContext?: { runAsUser?: number; runAsGroup?: number }) {
  const sc = buildMoverJob(dm(securityContext ? { securityContext } : {}), config, T0).spec!.template.spec!
    .securityContext!;
  return { uid: sc.runAsUser!, gid: sc.runAsGroup! };
}

const env = () => moverEnvFor(dm({ destinationPath: 'ns/app' }), s3.secretEnv('backups'), source, T0);

describe('files the mover cannot read', () => {
  it('make the default mover fail with the files named', async () => {
    const run = await runMover(env(), identity());
    expect(run.code).toBe(MoverExit.UnreadableFiles);
    const result = parseMoverResult(run.termination)!;
    expect(result.error).toContain('as uid 65534');
    expect(result.error).toContain('db/secret.key');
    expect(result.error).toContain('db/data.db');
    expect(result.error).toContain('securityContext.runAsUser');
  });

  it("back up completely as the application's UID", async () => {
    const run = await runMover(env(), identity({ runAsUser: APP_UID, runAsGroup: APP_UID }));
    expect(run.code, run.output).toBe(0);
    expect(parseMoverResult(run.termination)).toMatchObject({ files: 10, errors: 0 });
  });
});
