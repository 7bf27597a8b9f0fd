// The operator as one bundle (`npm run build`): only the parts of its dependencies it uses, which
// halves its start-up CPU and takes a third off its idle memory (BENCHMARKS.md, issue 22). tsc still
// type-checks and builds dist/ for the tests' support code and the mover; the operator itself runs
// from dist/operator/main.js, whose stack traces are mapped through the source maps when printed
// (src/stack-maps.ts; not node --enable-source-maps, whose machinery costs memory at start-up).
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

/** What the bundle imports of node:http by name (plugin http-without-websocket). */
const HTTP_EXPORTS = ['Agent', 'STATUS_CODES', 'createServer', 'request', 'get'];

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
      // undici is left out (hack/bundle/no-undici.js): the operator's requests and watches go on
      // node:https. A client-node module that fetches, kept in the bundle, fails the build here.
      name: 'no-undici',
      resolveId(source) {
        if (source === 'undici') return fileURLToPath(new URL('hack/bundle/no-undici.js', import.meta.url));
        return undefined;
      },
      generateBundle(_options, bundle) {
        // The modules that would send with undici's fetch. (The generated APIs' HTTP library stays,
        // reachable from KubeConfig.makeApiClient, which the operator never calls.)
        const fetching = ['watch.js', 'log.js', 'metrics.js', 'health.js'].map(
          (f) => `${CLIENT_NODE}dist/${f}`,
        );
        for (const file of Object.values(bundle)) {
          if (file.type !== 'chunk') continue;
          const kept = Object.keys(file.modules).filter((id) =>
            fetching.some((f) => id.replaceAll('\\', '/').endsWith(f)),
          );
          if (kept.length > 0)
            throw new Error(
              `${file.fileName} keeps client-node modules that fetch with undici: ${kept.join(', ')}`,
            );
        }
      },
    },
    {
      // node:http as its CommonJS object (process.getBuiltinModule). Imported as an ES module, Node
      // reads every export of it to make the module's namespace, and three are lazy getters
      // (WebSocket, CloseEvent, MessageEvent) that load Node's own copy of undici: 0.76 MB of source
      // compiled for nothing, some 3 MiB of idle memory. The names the bundle imports are listed; a
      // new one fails the build (MISSING_EXPORT) until it is added here.
      name: 'http-without-websocket',
      resolveId(source, _importer, options) {
        // A require() of it (express, say) gets Node's own object, as it always did.
        if (options?.kind !== 'import-statement') return undefined;
        return source === 'http' || source === 'node:http' ? '\0node-http' : undefined;
      },
      load(id) {
        if (id !== '\0node-http') return undefined;
        return [
          "const http = process.getBuiltinModule('node:http');",
          'export default http;',
          `export const { ${HTTP_EXPORTS.join(', ')} } = http;`,
        ].join('\n');
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
    // V8 keeps the bundle's source as a string for as long as the process runs: ASCII only keeps it
    // one byte a character (a single other character makes all of it two), and without JSDoc and
    // annotation comments it is a third smaller. Licence comments stay.
    charset: 'ascii',
    comments: { legal: true, annotation: false, jsdoc: false },
    // Stack traces need the mappings only; the sources are in the image's tree anyway.
    sourcemapExcludeSources: true,
  },
};
