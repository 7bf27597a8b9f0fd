// Throughput of the mover on one 256 MiB file against a plain `rclone copy` of the same file to the
// same server, measured in one run (the figure in the notes). Prints; asserts nothing.
//   RCLONE_BINARY=… node dist/test/bench/mover-throughput.js [--mib 256]
import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { dm } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { RCLONE, S3Server } from '../support/s3.js';
import { tempDir } from '../support/tree.js';

const exec = promisify(execFile);
const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' } } });
const mib = Number(values.mib);
const s3 = new S3Server();
await s3.start('bench');
const source = tempDir('dm-bench-');
execFileSync('sh', ['-c', `head -c ${mib * 1024 * 1024} /dev/urandom > "${join(source, 'big.bin')}"`]);

const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
};
const plain = await time(() =>
  exec(RCLONE, ['copy', source, 'S3:bench/plain/'], { env: { ...process.env, ...s3.remoteEnv() } }),
);
const mover = await time(async () => {
  const run = await runMover(moverEnvFor(dm(), s3.secretEnv('bench'), source, new Date()));
  if (run.code !== 0) throw new Error(run.output);
});
const mbps = (s: number) => (mib / s).toFixed(1);
console.log(`plain rclone copy: ${plain.toFixed(2)} s (${mbps(plain)} MiB/s)`);
console.log(`mover:             ${mover.toFixed(2)} s (${mbps(mover)} MiB/s)`);
console.log(`mover throughput / plain rclone throughput = ${(plain / mover).toFixed(2)}`);
await s3.stop();
