import { defineConfig } from 'vitest/config';
import { PlainSummaryReporter } from './test/support/plain-summary-reporter.js';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'grafana/test/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests bind real sockets and start child processes; a shared 2-core machine needs slack.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', new PlainSummaryReporter()],
  },
});
