import { defineConfig } from 'vitest/config';

/**
 * Two tiers: `unit` (kernels, heads, conformance, readers — `npm test`, well under two minutes) and
 * `e2e` (files named *.e2e.test.ts: training runs, the CLI as a child process, the browser page —
 * `npm run test:e2e`).
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.e2e.test.ts'] },
      },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.e2e.test.ts'] } },
    ],
  },
});
