import { defineConfig } from 'vitest/config';

// Three projects, run in this order by scripts/test.mjs:
// - unit: in-process tests, parallel across files.
// - process: real child processes on real spools; files run one at a time so timing-sensitive
//   races are not starved on a 2-core machine.
// - container: real Docker images and compose stacks (needs an engine; see scripts/docker-engine.mjs).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.process.test.ts', 'test/containers/**', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'process',
          include: ['test/**/*.process.test.ts'],
          exclude: ['test/containers/**', 'node_modules/**'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'container',
          include: ['test/containers/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
