import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataMoverCrd } from './crd.js';
import { CHART_CRD_PATH, CRD_PATH, renderCrd } from './generate.js';

describe('config/crd', () => {
  it('is what the schema generates (run `make generate` after changing the schema)', () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(renderCrd());
    expect(readFileSync(CHART_CRD_PATH, 'utf8')).toBe(renderCrd());
  });

  it('documents every property', () => {
    const missing: string[] = [];
    const walk = (schema: Record<string, unknown>, path: string) => {
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [name, child] of Object.entries(props)) {
        const here = `${path}.${name}`;
        if (!child.description && !['apiVersion', 'kind', 'metadata'].includes(name)) missing.push(here);
        walk(child, here);
        if (child.items) walk(child.items as Record<string, unknown>, `${here}[]`);
      }
    };
    walk(dataMoverCrd().spec.versions[0]!.schema.openAPIV3Schema as never, '');
    expect(missing).toEqual([]);
  });
});
