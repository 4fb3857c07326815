#!/usr/bin/env node
// Entry point of the `llm-monitor-demo` command; the code lives in dist/cli.js (build with `pnpm build`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
