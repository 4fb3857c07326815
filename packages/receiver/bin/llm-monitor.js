#!/usr/bin/env node
// Entry point of the `llm-monitor` command; the code lives in dist/cli.js, built by `pnpm build`
// (which `pnpm install` runs in this repository).
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli.js')) throw error;
  process.stderr.write('llm-monitor: the receiver is not built yet; run `pnpm build` in the repository first\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2), process.env);
