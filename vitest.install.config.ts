import { defineConfig } from 'vitest/config';
import { PlainSummaryReporter } from './test/support/plain-summary-reporter.js';

/**
 * The install tests (`test/*.install.test.ts`): they pack the packages and install them with npm into
 * a fresh application, compiling better-sqlite3 on the way. They run on their own after the rest of the
 * suite (`pnpm test:install`, the last step of `pnpm test`), so that compile competes with no other test.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.install.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
    reporters: ['default', new PlainSummaryReporter()],
  },
});
