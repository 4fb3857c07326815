/**
 * The version of `@llm-monitor/receiver`, for `llm-monitor --version` and the OpenAPI document.
 */
import { readFileSync } from 'node:fs';

/**
 * The `version` of this package's package.json, read when the module loads: the package.json is
 * the one place a release changes, so no copy in the code can fall behind it. The path is the same
 * from `src/` (tests) and `dist/` (the built command), and npm always ships package.json.
 */
export const RECEIVER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
