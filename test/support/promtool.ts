import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Where promtool is (Debian's `prometheus` package installs it), or undefined. Under CI it must be
 * there: `.ci/run` installs it, so its absence is a failure, not a reason to skip.
 */
export function findPromtool(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    if (process.env.CI === 'true') throw new Error('promtool is missing under CI=true: .ci/run installs Debian\'s prometheus package');
    process.stdout.write('skipping promtool checks: promtool not found (apt-get install prometheus)\n');
    return undefined;
  }
}

/** Runs promtool; returns its exit status and everything it printed. */
export function runPromtool(promtool: string, args: readonly string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync(promtool, args, { input, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
