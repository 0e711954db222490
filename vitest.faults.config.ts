import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);
const soakSeconds = Number(process.env.TOLLGATE_SOAK_SECONDS ?? 60);

/**
 * The fault suite (`npm run test:faults`): real Tollgate processes, Redis and PostgreSQL, broken
 * on purpose. One scenario at a time: they measure latency against deadlines and process
 * figures, which other load on the machine would blur.
 */
export default defineConfig({
  resolve: {
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000 + soakSeconds * 1000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
