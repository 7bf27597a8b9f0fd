// Writes the rule groups of a PrometheusRule (first argument) as a Prometheus rule file (second),
// so promtool checks and tests exactly what is shipped.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

const [input, output] = process.argv.slice(2);
const docs = parseAllDocuments(readFileSync(input, 'utf8')).map((d) => d.toJS());
const rule = docs.find((d) => d?.kind === 'PrometheusRule');
if (!rule) throw new Error(`${input} has no PrometheusRule`);
writeFileSync(output, stringify({ groups: rule.spec.groups }));
