// Proves the Helm chart renders the same objects as config/: compares `helm template` (stdin as
// JSON lines of two files: helm output, kustomize output) after removing what legitimately differs
// (the managed-by and helm.sh/chart labels; the Namespace object, which `helm install
// --create-namespace` makes). Prints the differences and exits 1 when there are any.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';

const [helmFile, kustomizeFile] = process.argv.slice(2);
const IGNORED_LABELS = ['app.kubernetes.io/managed-by', 'helm.sh/chart'];

function load(file) {
  const objects = new Map();
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const obj = doc.toJS();
    if (!obj || obj.kind === 'Namespace') continue;
    for (const label of IGNORED_LABELS) delete obj.metadata?.labels?.[label];
    objects.set(`${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`, obj);
  }
  return objects;
}

const helm = load(helmFile);
const kustomize = load(kustomizeFile);
const problems = [];
for (const key of new Set([...helm.keys(), ...kustomize.keys()])) {
  if (!helm.has(key)) problems.push(`only in config/: ${key}`);
  else if (!kustomize.has(key)) problems.push(`only in the chart: ${key}`);
  else if (!isDeepStrictEqual(helm.get(key), kustomize.get(key))) {
    problems.push(
      `differs: ${key}\n  chart:   ${JSON.stringify(helm.get(key))}\n  config/: ${JSON.stringify(kustomize.get(key))}`,
    );
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`chart and config/ render the same ${helm.size} objects`);
