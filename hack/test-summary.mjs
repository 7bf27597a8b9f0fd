// Prints one closing line over the vitest JSON reports of a run: "tests: N passed, N failed",
// after the first lines of each failure's message, so that the tail of a CI log (often all that is
// kept of it) says which test failed and why.
import { existsSync, readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
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
  for (const suite of report.testResults ?? []) {
    const path = String(suite.name ?? '').replace(`${process.cwd()}/`, '');
    const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests)
      failures.push({ path, title: t.fullName ?? t.title, message: t.failureMessages?.[0] });
    // A file that failed outside its tests (a hook, an import) has no failed assertion to show.
    if (suite.status === 'failed' && failedTests.length === 0)
      failures.push({ path, title: '(file)', message: suite.message });
  }
}
for (const f of failures) {
  const lines = stripVTControlCharacters(String(f.message ?? ''))
    .split('\n')
    .filter((l) => l.trim() && !/^\s+at /.test(l));
  console.log(`FAILED ${f.path} > ${f.title}\n  ${lines.slice(0, 6).join('\n  ').slice(0, 1200)}`);
}
// The real tier is skipped on a machine that cannot run a kubelet (test/support/real-setup.ts).
if (existsSync('.tmp/real-skipped.txt')) {
  console.log(`real tier skipped: ${readFileSync('.tmp/real-skipped.txt', 'utf8').trim()}`);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
