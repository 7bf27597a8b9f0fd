// Writes the CRDs in config/crd/bases (and the chart's crds/) from the schemas (npm run gen:crd).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { dataMoverCrd, dataMoverRestoreCrd, dataMoverScheduleCrd } from './crd.js';

/** Each CRD's file name, and what it is rendered from. Helm installs the chart's crds/: the same files. */
export const CRDS = [
  { file: 'datamover.io_datamovers.yaml', render: dataMoverCrd },
  { file: 'datamover.io_datamoverschedules.yaml', render: dataMoverScheduleCrd },
  { file: 'datamover.io_datamoverrestores.yaml', render: dataMoverRestoreCrd },
] as const;
export const CRD_DIRS = ['config/crd/bases', 'charts/datamover-operator/crds'] as const;

export function renderCrd(render: () => unknown): string {
  return `# Generated from src/api/v1alpha1/ by \`npm run gen:crd\`. Do not edit.\n${stringify(render(), { lineWidth: 0 })}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const dir of CRD_DIRS) {
    for (const { file, render } of CRDS) {
      const out = resolve(dir, file);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, renderCrd(render));
      console.log(`wrote ${out}`);
    }
  }
}
