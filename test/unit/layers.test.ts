// The import-direction rule of `make lint` (.dependency-cruiser.cjs) fails on a folder cycle and on
// an upward import, and passes a tree whose imports go one way.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/tempdirs.js';

const CONFIG = resolve('.dependency-cruiser.cjs');
const DEPCRUISE = resolve('node_modules/.bin/depcruise');

/** Runs the project's rules over a tree of files (path → content) in a scratch folder. */
function cruise(files: Record<string, string>): { code: number; output: string } {
  const root = makeTempDir('dm-layers-');
  copyFileSync('tsconfig.json', join(root, 'tsconfig.json'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  const folders = [...new Set(Object.keys(files).map((p) => p.split('/')[0]!))];
  const run = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, ...folders], {
    cwd: root,
    encoding: 'utf8',
  });
  return { code: run.status ?? 1, output: `${run.stdout}${run.stderr}` };
}

const imports = (from: string) => `import { x } from '${from}';\nexport const y = x;\n`;

describe('the import-direction lint rule', () => {
  it('passes imports that go down the layers', () => {
    const run = cruise({
      'src/contract/c.ts': 'export const x = 1;\n',
      'src/kube/a.ts': `${imports('../contract/c.js')}export { x };\n`,
      'src/controller/b.ts': imports('../kube/a.js'),
      'mover/p.ts': imports('../src/contract/c.js'),
    });
    expect(run.output).toContain('no dependency violations found');
    expect(run.code).toBe(0);
  });

  it('fails on two folders that import each other', () => {
    const run = cruise({
      'src/kube/a.ts': `${imports('../controller/b.js')}export const x = 1;\n`,
      'src/controller/b.ts': `${imports('../kube/a.js')}export const x = 2;\n`,
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/layers: src\/kube: src\/kube\/a\.ts → src\/controller\/b\.ts/);
  });

  it('fails when the in-pod mover program imports operator code', () => {
    const run = cruise({
      'src/jobs/job.ts': 'export const x = 1;\n',
      'mover/p.ts': imports('../src/jobs/job.js'),
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('in-pod program');
  });
});
