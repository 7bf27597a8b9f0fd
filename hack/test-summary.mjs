// Prints one closing line over the vitest JSON reports of a run: "tests: N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of [
  '.tmp/vitest-unit.json',
  '.tmp/vitest-mover.json',
  '.tmp/vitest-integration.json',
  '.tmp/vitest-e2e-parallel.json',
  '.tmp/vitest-e2e.json',
  '.tmp/vitest-real.json',
]) {
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
// The real tier is skipped on a machine that cannot run a kubelet (test/support/real-setup.ts).
if (existsSync('.tmp/real-skipped.txt')) {
  console.log(`real tier skipped: ${readFileSync('.tmp/real-skipped.txt', 'utf8').trim()}`);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
