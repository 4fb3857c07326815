import { configDefaults, defineConfig } from 'vitest/config';
import { PlainSummaryReporter } from './test/support/plain-summary-reporter.js';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'grafana/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The install tests run on their own (vitest.install.config.ts), after everything else.
    exclude: [...configDefaults.exclude, 'test/**/*.install.test.ts'],
    // End-to-end tests bind real sockets and start child processes; a shared 2-core machine needs slack.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', new PlainSummaryReporter()],
    // Receivers a test starts as a command keep nothing on disk unless the test gives a storage_url;
    // tests of the stores and of the default start name their own files. Their OTLP/gRPC server takes
    // any free port, so test files running side by side never meet on 4317.
    env: { LLM_MONITOR_STORAGE_URL: 'memory:', LLM_MONITOR_OTLP_GRPC_PORT: '0' },
  },
});
