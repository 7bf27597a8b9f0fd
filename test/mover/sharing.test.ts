// Two DataMovers of different PVCs in one bucket, with the default destinations, never delete each
// other's data: rclone sync deletes only under its own prefix.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, dm, T0 } from '../../src/controller/fixtures.test-helpers.js';
import { buildMoverJob } from '../../src/mover/job.js';
import { runMover } from '../support/mover.js';
import { S3Server } from '../support/s3.js';
import { tempDir } from '../support/tree.js';
import { existsSync, readdirSync } from 'node:fs';

const s3 = new S3Server();

beforeAll(async () => {
  await s3.start('shared');
});

afterAll(async () => {
  await s3.stop();
});

function envFor(sourcePvc: string, source: string) {
  const job = buildMoverJob(dm({ sourcePvc }), config, T0);
  const path = job.spec!.template.spec!.containers[0]!.env!.find(
    (e) => e.name === 'DATAMOVER_DESTINATION_PATH',
  )!.value!;
  return { ...s3.secretEnv('shared'), DATAMOVER_SOURCE: source, DATAMOVER_DESTINATION_PATH: path };
}

describe('two DataMovers sharing a bucket', () => {
  it("keep each other's data", async () => {
    const a = tempDir('dm-a-');
    const b = tempDir('dm-b-');
    writeFileSync(join(a, 'a1.txt'), 'a1');
    writeFileSync(join(a, 'a2.txt'), 'a2');
    writeFileSync(join(b, 'b1.txt'), 'b1');
    expect((await runMover(envFor('pvc-a', a))).code).toBe(0);
    expect((await runMover(envFor('pvc-b', b))).code).toBe(0);
    rmSync(join(a, 'a2.txt'));
    expect((await runMover(envFor('pvc-a', a))).code).toBe(0);

    const bucket = join(s3.root, 'shared');
    expect(readdirSync(join(bucket, 'ns'))).toEqual(['pvc-a', 'pvc-b']);
    expect(readdirSync(join(bucket, 'ns/pvc-a'))).toEqual(['a1.txt']);
    expect(readdirSync(join(bucket, 'ns/pvc-b'))).toEqual(['b1.txt']);
    expect(existsSync(join(bucket, 'a2.txt'))).toBe(false);
  });
});
