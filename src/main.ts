// The entry point. It checks the running Node.js against package.json's `engines` before anything
// else is loaded, and exits 1 naming the version it needs: on an older Node.js the Kubernetes
// client's HTTP stack (undici) would crash while loading, with a TypeError that says nothing of the
// cause. Then it loads the operator (operator.ts): a dynamic import, so nothing of it is evaluated
// before the check.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { engineProblem } from './engine.js';
import { installStackMaps } from './stack-maps.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines?: { node?: string };
};
const problem = engineProblem(process.versions.node, pkg.engines?.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
// Stacks from the bundle name the operator's TypeScript, its maps read only when a stack is printed.
installStackMaps(fileURLToPath(new URL('.', import.meta.url)));
await import('./operator.js');
