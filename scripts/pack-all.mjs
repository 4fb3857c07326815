#!/usr/bin/env node
// Writes a tarball of every public workspace package into one folder (default ./packs), the way
// `npm publish` would see them: `pnpm pack` turns `workspace:*` and `catalog:` into real version
// ranges. Private packages (the workspace root, the Grafana dashboards generator) are left out.
// Build first (`pnpm build`): the tarballs carry the compiled dist/ folders and the built page.
//   node scripts/pack-all.mjs [destination]      (or: pnpm pack:all)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const destination = resolve(process.argv[2] ?? 'packs');
const pnpm = process.platform === 'win32' ? 'pnpm.cmd' : 'pnpm';
const workspace = JSON.parse(execFileSync(pnpm, ['ls', '-r', '--depth', '-1', '--json'], { encoding: 'utf8' }));
const published = workspace.filter((pkg) => pkg.private !== true);

rmSync(destination, { recursive: true, force: true });
mkdirSync(destination, { recursive: true });
for (const pkg of published) {
  execFileSync(pnpm, ['pack', '--pack-destination', destination], { cwd: pkg.path, stdio: ['ignore', 'ignore', 'inherit'] });
}
const tarballs = readdirSync(destination)
  .filter((name) => name.endsWith('.tgz'))
  .sort();
if (tarballs.length !== published.length) {
  process.stderr.write(`pack-all: expected ${published.length} tarballs, found ${tarballs.length}\n`);
  process.exit(1);
}
process.stdout.write(`${tarballs.map((name) => `${destination}/${name}`).join('\n')}\n`);
