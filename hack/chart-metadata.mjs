// Checks labels and annotations of objects that `helm template` rendered (first argument, a file),
// for the chart's labels/annotations values. Each further argument is
// `<Kind>:<labels|annotations>.<key>=<value>`; prints what is missing and exits 1 if anything is.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const [file, ...expectations] = process.argv.slice(2);
const objects = parseAllDocuments(readFileSync(file, 'utf8'))
  .map((d) => d.toJS())
  .filter(Boolean);
const problems = [];
for (const e of expectations) {
  const m = /^([A-Za-z]+):(labels|annotations)\.([^=]+)=(.*)$/.exec(e);
  if (!m) throw new Error(`not <Kind>:<labels|annotations>.<key>=<value>: ${e}`);
  const [, kind, field, key, value] = m;
  const found = objects.filter((o) => o.kind === kind);
  if (found.length === 0) problems.push(`no ${kind} rendered`);
  for (const o of found) {
    const got = o.metadata?.[field]?.[key];
    if (got !== value) problems.push(`${kind}/${o.metadata?.name}: ${field}.${key} is ${got}, not ${value}`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${file}: ${expectations.length} labels and annotations as set`);
