import { defineConfig } from 'vitest/config';

/** e2e files that touch only their own namespace, operator and proxies: they may run side by side. */
const E2E_PARALLEL = [
  'test/e2e/adoption.test.ts',
  'test/e2e/compose.test.ts',
  'test/e2e/conflicts.test.ts',
  'test/e2e/hostile-input.test.ts',
  'test/e2e/restore-owners.test.ts',
  'test/e2e/restore-retry.test.ts',
  'test/e2e/restore.test.ts',
  'test/e2e/retention.test.ts',
  'test/e2e/run-cap.test.ts',
  'test/e2e/snapshot.test.ts',
  'test/e2e/stale-checks.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'mover/**/*.test.ts', 'test/unit/**/*.test.ts'],
          environment: 'node',
          // Removes the scratch folders each test file made (test/support/tempdirs.ts).
          setupFiles: ['test/support/cleanup-setup.ts'],
        },
      },
      {
        test: {
          name: 'mover',
          include: ['test/mover/**/*.test.ts'],
          environment: 'node',
          // Removes the scratch folders each test file made (test/support/tempdirs.ts).
          setupFiles: ['test/support/cleanup-setup.ts'],
          // Deadlines against a hang only: `make test` runs this tier at the lowest CPU and I/O
          // priority beside the cluster tiers, so its pace is whatever they leave (a 20-backup
          // beforeAll passed 170 s once on a loaded machine).
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // The tests move hundreds of MiB; one file at a time on two cores.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // Removes the scratch folders each test file made (test/support/tempdirs.ts).
          setupFiles: ['test/support/cleanup-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 90_000,
          // Each file runs its own operator process against the shared test bed.
          maxWorkers: 2,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        test: {
          // The e2e files that inject no fault into the shared test bed (no apiserver restart, no
          // lease or process timing): two at a time, before the others.
          name: 'e2e-parallel',
          include: E2E_PARALLEL,
          environment: 'node',
          setupFiles: ['test/support/cleanup-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 90_000,
          maxWorkers: 2,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: E2E_PARALLEL,
          environment: 'node',
          // Removes the scratch folders each test file made (test/support/tempdirs.ts).
          setupFiles: ['test/support/cleanup-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 90_000,
          // Faults hit the whole test bed (an apiserver restart cuts every client), and failover
          // timings need the two cores: one file at a time.
          fileParallelism: false,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'real',
          include: ['test/real/**/*.test.ts'],
          environment: 'node',
          // Removes the scratch folders each test file made (test/support/tempdirs.ts).
          setupFiles: ['test/support/cleanup-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Real pods and real bytes on one node with two cores: one file at a time.
          fileParallelism: false,
          // The real node attached (or the reason it is not), the CRDs, the local images, and an S3
          // server on the node's bridge address.
          globalSetup: ['test/support/real-setup.ts'],
        },
      },
    ],
  },
});
