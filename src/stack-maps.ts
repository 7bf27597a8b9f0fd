// Stack traces of the bundle (dist/operator/) point at the operator's own TypeScript: each frame in a
// bundle file whose source map maps that place is given the source's file, line and column. The map
// is read when a stack is first formatted, not when the process starts: Node's --enable-source-maps
// does it at start-up, and its machinery alone cost some 6.5 MiB of an idle operator's 88 MiB
// (BENCHMARKS.md, issue 22), for stacks that a healthy operator seldom prints.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Where a place in a generated file came from; undefined when its map does not say. */
export type Lookup = (file: string, line: number, column: number) => string | undefined;

/** One V8 call site, as much of it as the mapping reads. */
export interface Frame {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  toString(): string;
}

/**
 * A lookup in the source maps beside the files under `dir` (`<file>.map`), each read once, when a
 * frame in it is first mapped; a file without a readable map stays as it is. Only a mapping on the
 * frame's own line counts: the maps cover the operator's code, not the dependencies bundled beside it.
 */
export function mapsUnder(dir: string): Lookup {
  const root = dir.endsWith('/') ? dir : `${dir}/`;
  const maps = new Map<string, SourceMap | null>();
  const load = (path: string): SourceMap | null => {
    let map = maps.get(path);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')) as never);
      } catch {
        map = null;
      }
      maps.set(path, map);
    }
    return map;
  };
  return (file, line, column) => {
    const path = file.startsWith('file://') ? fileURLToPath(file) : file;
    if (!path.startsWith(root)) return undefined;
    const entry = load(path)?.findEntry(line - 1, column - 1) as
      | { generatedLine?: number; originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (!entry?.originalSource || entry.generatedLine !== line - 1) return undefined;
    const source = fileURLToPath(new URL(entry.originalSource, pathToFileURL(path)));
    return `${source}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
  };
}

/** An error's stack as V8 formats it, each mapped frame's place replaced by its source's. */
export function formatStack(err: unknown, frames: readonly Frame[], lookup: Lookup): string {
  let head: string;
  try {
    // Node's own errors name their code in their toString (`TypeError [ERR_X]: ...`), as in V8's
    // header for them; any other error is told as Error.prototype.toString tells it.
    const own = (err as { toString?: unknown } | null)?.toString;
    head =
      err instanceof Error && typeof own === 'function' && own !== Error.prototype.toString
        ? String((own as () => unknown).call(err))
        : Error.prototype.toString.call(err);
  } catch {
    head = '<error>';
  }
  const lines = frames.map((f) => {
    const text = f.toString();
    const file = f.getFileName();
    const line = f.getLineNumber();
    const column = f.getColumnNumber();
    if (!file || !line || !column) return text;
    const mapped = lookup(file, line, column);
    const place = `${file}:${line}:${column}`;
    return mapped && text.includes(place) ? text.replace(place, mapped) : text;
  });
  return [head, ...lines.map((l) => `    at ${l}`)].join('\n');
}

/** Maps the stacks of every error from now on (main.ts, before the operator is loaded). */
export function installStackMaps(dir: string): void {
  const lookup = mapsUnder(dir);
  Error.prepareStackTrace = (err, frames) => formatStack(err, frames as unknown as Frame[], lookup);
}
