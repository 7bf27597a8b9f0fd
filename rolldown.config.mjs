// The operator as one bundle (`npm run build`): only the parts of its dependencies it uses, which
// halves its start-up CPU and takes a third off its idle memory (BENCHMARKS.md, issue 22). tsc still
// type-checks and builds dist/ for the tests' support code and the mover; the operator itself runs
// from dist/operator/main.js, with source maps for stack traces (node --enable-source-maps).
import { readFileSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';

const CLIENT_NODE = '/node_modules/@kubernetes/client-node/';
const cache = fileURLToPath(new URL('node_modules/@kubernetes/client-node/dist/cache.js', import.meta.url));
const uses = readFileSync(cache, 'utf8').match(/ObjectSerializer\.\w+\([^)]*\)/g) ?? [];
if (uses.some((u) => !/^ObjectSerializer\.serialize\(this\.\w+, 'string'\)$/.test(u))) {
  throw new Error(
    `client-node's cache.js uses its ObjectSerializer beyond strings: ${uses.join(', ')}; revisit hack/bundle/string-serializer.js`,
  );
}

export default {
  input: { main: 'src/main.ts' },
  platform: 'node',
  // client-node's modules only declare: what the operator does not import is left out, which its
  // index's re-exports would otherwise keep.
  treeshake: { moduleSideEffects: (id) => !id.replaceAll('\\', '/').includes(CLIENT_NODE) },
  plugins: [
    {
      name: 'string-serializer',
      resolveId(source, importer) {
        if (
          source === './serializer.js' &&
          importer?.replaceAll('\\', '/').endsWith(`${CLIENT_NODE}dist/cache.js`)
        )
          return fileURLToPath(new URL('hack/bundle/string-serializer.js', import.meta.url));
        return undefined;
      },
    },
  ],
  output: {
    dir: 'dist/operator',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name].js',
    sourcemap: true,
    // Stack traces need the mappings only; the sources are in the image's tree anyway.
    sourcemapExcludeSources: true,
  },
};
