// The operator as one bundle (`npm run build`): only the parts of its dependencies it uses, which
// halves its start-up CPU and takes a third off its idle memory (BENCHMARKS.md, issue 22). tsc still
// type-checks and builds dist/ for the tests' support code and the mover; the operator itself runs
// from dist/operator/main.js, with source maps for stack traces (node --enable-source-maps).
import { decode, encode } from '@jridgewell/sourcemap-codec';
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
      // The source maps map the operator's own code only: Node decodes a map whole when it loads it,
      // and the mappings of the dependencies' code (nine tenths of the bundle) cost about 40 MiB of
      // memory and the CPU of mapping every stack trace (BENCHMARKS.md). A frame in a dependency
      // shows its place in the bundle, with the function's name.
      name: 'own-mappings',
      generateBundle(_options, bundle) {
        for (const file of Object.values(bundle)) {
          if (file.type !== 'asset' || !file.fileName.endsWith('.map')) continue;
          const map = JSON.parse(String(file.source));
          const ours = map.sources.map((s) => !s.replaceAll('\\', '/').includes('node_modules/'));
          const lines = decode(map.mappings).map((line) =>
            line.filter((seg) => seg.length > 1 && ours[seg[1]]),
          );
          file.source = JSON.stringify({ ...map, mappings: encode(lines) });
        }
      },
    },
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
