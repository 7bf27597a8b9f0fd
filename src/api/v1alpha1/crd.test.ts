import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CRD_DIRS, CRDS, renderCrd } from './generate.js';
import { dataMoverCrd, dataMoverRestoreCrd, dataMoverScheduleCrd } from './crd.js';

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

  it("shows kubectl get's columns from the schema properties marked with column(), in their order", () => {
    const columns = (crd: ReturnType<typeof dataMoverCrd>) =>
      crd.spec.versions[0]!.additionalPrinterColumns.map(
        (c) => `${c.name}=${c.jsonPath}:${c.type}${c.priority ? ':wide' : ''}`,
      );
    expect(columns(dataMoverCrd())).toEqual([
      'Phase=.status.phase:string',
      'Source=.spec.sourcePvc:string',
      'Clone=.status.restoredPvcName:string',
      'Bytes=.status.bytesTransferred:integer:wide',
      'Uploaded=.status.bytesUploaded:integer:wide',
      'Message=.status.message:string:wide',
      'Age=.metadata.creationTimestamp:date',
    ]);
    expect(columns(dataMoverScheduleCrd())).toEqual([
      'Schedule=.spec.schedule:string',
      'Suspend=.spec.suspend:boolean',
      'Last Success=.status.lastSuccessfulTime:date',
      'Next=.status.nextScheduleTime:string',
      'Missed=.status.missedRuns:integer:wide',
      'Message=.status.message:string:wide',
      'Age=.metadata.creationTimestamp:date',
    ]);
    expect(columns(dataMoverRestoreCrd()).slice(0, 5)).toEqual([
      'Phase=.status.phase:string',
      'Source=.status.source:string',
      'Run=.status.run:string',
      'Target=.status.targetPvc:string',
      'Bytes=.status.bytesRestored:integer:wide',
    ]);
  });
});
