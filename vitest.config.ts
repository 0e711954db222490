import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module). Node loads the CommonJS build for Yoga
    // and Pothos; Vite would hand our code the ESM one, giving two GraphQLError classes and
    // broken instanceof checks. Point both at the copy Node uses, as in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The fault suite runs real processes on its own (vitest.faults.config.ts, npm run test:faults).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start servers and PostgreSQL clusters; two cores run two files at a time.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts', './test/coverage-reporter.ts'],
    // Off unless asked for (`--coverage`, as `npm run test:coverage` and `npm test` do): the
    // per-module figures are printed by test/coverage-reporter.ts, the HTML report goes to coverage/.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['html'],
      reportsDirectory: 'coverage',
    },
  },
});
