import { execFileSync, spawnSync } from 'node:child_process';

/**
 * True when `command` runs here. Under CI it must: `.ci/run` installs the Debian package that
 * provides it, so its absence is a failure, not a reason to skip. Elsewhere the suite says what it
 * skips.
 */
export function toolAvailable(command: string, debianPackage: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true')
      throw new Error(`${command} is missing under CI=true: .ci/run installs Debian's ${debianPackage} package`);
    process.stdout.write(`skipping what needs ${command}: not found (apt-get install ${debianPackage})\n`);
    return false;
  }
}

/** Runs promtool; returns its exit status and everything it printed. */
export function runPromtool(args: readonly string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
