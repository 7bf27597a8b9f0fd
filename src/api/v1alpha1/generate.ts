// Writes config/crd/bases/datamover.io_datamovers.yaml from the schema (npm run gen:crd).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { dataMoverCrd } from './crd.js';

export const CRD_PATH = 'config/crd/bases/datamover.io_datamovers.yaml';
/** Helm installs CRDs from the chart's crds/ folder: the same file. */
export const CHART_CRD_PATH = 'charts/datamover-operator/crds/datamover.io_datamovers.yaml';

export function renderCrd(): string {
  return `# Generated from src/api/v1alpha1/schema.ts by \`npm run gen:crd\`. Do not edit.\n${stringify(dataMoverCrd(), { lineWidth: 0 })}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const path of process.argv[2] ? [process.argv[2]] : [CRD_PATH, CHART_CRD_PATH]) {
    const out = resolve(path);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, renderCrd());
    console.log(`wrote ${out}`);
  }
}
