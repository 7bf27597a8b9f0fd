import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CRD_DIRS, CRDS, renderCrd } from './generate.js';

describe('config/crd', () => {
  it('is what the schema generates (run `make generate` after changing the schema)', () => {
    for (const dir of CRD_DIRS)
      for (const { file, render } of CRDS)
        expect(readFileSync(join(dir, file), 'utf8')).toBe(renderCrd(render));
  });

  it.each(CRDS.map((c) => [c.file, c.render] as const))('%s documents every property', (_file, render) => {
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
    walk(render().spec.versions[0]!.schema.openAPIV3Schema as never, '');
    expect(missing).toEqual([]);
  });
});
