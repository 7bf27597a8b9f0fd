// Imports go one way: each layer uses only the layers below it (docs/design.md, CONVENTIONS 12),
// so no two folders can import each other. `make lint` runs this; `test/unit/layers.test.ts` proves a
// folder cycle fails it. Tests may import anything.
/** Lowest first. Folders (or top-level files) of one layer may not import each other either. */
const LAYERS = [
  ['src/contract'],
  ['src/api', 'src/config.ts', 'src/logger.ts', 'src/engine.ts'],
  ['src/kube', 'src/metrics', 'src/server'],
  ['src/jobs'],
  ['src/controller'],
  ['src/operator.ts'],
  ['src/main.ts'],
];

const pattern = (path) => `^${path.replace(/\./g, '\\.')}${path.endsWith('.ts') ? '$' : '/'}`;

const upward = LAYERS.flatMap((layer, rank) =>
  layer
    .map((from) => ({
      from,
      above: LAYERS.slice(rank)
        .flat()
        .filter((other) => other !== from),
    }))
    .filter(({ above }) => above.length > 0)
    .map(({ from, above }) => ({
      name: `layers: ${from}`,
      comment: `${from} may import only the layers below it`,
      severity: 'error',
      from: { path: pattern(from), pathNot: '\\.test\\.ts$|test-helpers' },
      to: { path: above.map(pattern) },
    })),
);

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'in-pod program',
      comment: 'the mover program shares only src/contract with the operator (issue 11)',
      severity: 'error',
      from: { path: '^mover/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/', pathNot: '^src/contract/' },
    },
    {
      name: 'operator uses no in-pod code',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^mover/' },
    },
    { name: 'no-circular', severity: 'error', from: { pathNot: '\\.test\\.ts$' }, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
