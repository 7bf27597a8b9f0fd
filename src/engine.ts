// Which Node.js the operator needs: package.json's `engines.node` (a `>=MAJOR.MINOR[.PATCH]` range)
// against the running version. Pure, and importing nothing: main.ts checks it before anything else is
// loaded, because the Kubernetes client's HTTP stack (undici) crashes on older Node.js with a
// TypeError that names nothing a user could act on.

/** A version as numbers: `22.19.0` → [22, 19, 0]; a missing part is 0. */
function parts(version: string): number[] | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

function atLeast(have: number[], want: number[]): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * Why this Node.js cannot run the operator, or undefined when it can (or the range is not one this
 * check reads: it never refuses what it does not understand).
 */
export function engineProblem(running: string, range: string | undefined): string | undefined {
  const wanted = /^\s*>=\s*(v?\d+(?:\.\d+){0,2})\s*$/.exec(range ?? '')?.[1];
  const want = wanted ? parts(wanted) : undefined;
  const have = parts(running);
  if (!want || !have || atLeast(have, want)) return undefined;
  return `datamover-operator needs Node.js ${wanted!.replace(/^v/, '')} or newer (package.json engines: "${range!.trim()}"); this is Node.js ${running.replace(/^v/, '')}. Run it with a supported Node.js LTS (the operator image has Node 24; from npm: the "node" package, node_modules/.bin/node).`;
}
