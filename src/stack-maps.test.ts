import { encode } from '@jridgewell/sourcemap-codec';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatStack, mapsUnder, type Frame } from './stack-maps.js';

// A "bundle" and its map: generated line 3 (from column 4) is src/kube/rest.ts line 42, column 7;
// line 5 is a dependency's code, which the map leaves unmapped.
const dir = mkdtempSync(join(tmpdir(), 'stack-maps-'));
const bundle = join(dir, 'operator.js');
writeFileSync(bundle, '// bundle\n');
writeFileSync(
  `${bundle}.map`,
  JSON.stringify({
    version: 3,
    sources: ['../src/kube/rest.ts'],
    names: [],
    mappings: encode([[], [], [[4, 0, 41, 6]], [], []]),
  }),
);
const url = pathToFileURL(bundle).href;
const source = join(dir, '..', 'src', 'kube', 'rest.ts');

const frame = (file: string, line: number, column: number, text: string): Frame => ({
  getFileName: () => file,
  getLineNumber: () => line,
  getColumnNumber: () => column,
  toString: () => text,
});

describe('stack maps', () => {
  it("gives a bundle frame its source's place and leaves the rest as V8 wrote them", () => {
    const lookup = mapsUnder(dir);
    const err = new TypeError('boom');
    const stack = formatStack(
      err,
      [
        frame(url, 3, 9, `Rest.call (${url}:3:9)`),
        frame(url, 5, 2, `async Informer.start (${url}:5:2)`),
        frame('node:internal/timers', 1, 1, 'listOnTimeout (node:internal/timers:1:1)'),
        frame('/elsewhere/x.js', 3, 9, '/elsewhere/x.js:3:9'),
      ],
      lookup,
    );
    expect(stack.split('\n')).toEqual([
      'TypeError: boom',
      `    at Rest.call (${source}:42:7)`,
      `    at async Informer.start (${url}:5:2)`,
      '    at listOnTimeout (node:internal/timers:1:1)',
      '    at /elsewhere/x.js:3:9',
    ]);
  });

  it("heads a stack as V8 does: Node's errors with their code, anything else by its name and message", () => {
    let nodeError: unknown;
    try {
      Buffer.alloc(-1);
    } catch (err) {
      nodeError = err;
    }
    const lookup = mapsUnder(dir);
    expect(formatStack(nodeError, [], lookup)).toMatch(/^RangeError \[ERR_OUT_OF_RANGE\]: /);
    expect(formatStack(new Error('plain'), [], lookup)).toBe('Error: plain');
    expect(formatStack({ name: 'Thing', message: 'odd' }, [], lookup)).toBe('Thing: odd');
  });

  it('leaves the frames of a file without a readable map as they are', () => {
    const lookup = mapsUnder(dir);
    writeFileSync(join(dir, 'other.js'), '');
    expect(lookup(join(dir, 'other.js'), 3, 9)).toBeUndefined();
    expect(lookup(bundle, 3, 9)).toBe(`${source}:42:7`);
  });
});
