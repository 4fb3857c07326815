/**
 * The deploy kit is valid as its tools read it: `docker-compose config` accepts the compose file,
 * and the files it mounts exist.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));

function dockerComposeAvailable(): boolean {
  try {
    execFileSync('docker-compose', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error("docker-compose is missing under CI=true: .ci/run installs Debian's docker-compose package");
    process.stdout.write('skipping docker-compose config: docker-compose not found (apt-get install docker-compose)\n');
    return false;
  }
}

const compose = dockerComposeAvailable();

describe('docker-compose.yml', () => {
  it.skipIf(!compose)('passes docker-compose config', () => {
    const result = spawnSync('docker-compose', ['-f', `${root}docker-compose.yml`, 'config', '-q'], { encoding: 'utf8', cwd: root });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs the receiver, the demo, Prometheus and Grafana, mounting files that exist', () => {
    const file = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as { services: Record<string, { volumes?: string[] }> };
    expect(Object.keys(file.services).sort()).toEqual(['demo', 'grafana', 'llm-monitor', 'prometheus']);
    for (const service of Object.values(file.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        expect(existsSync(`${root}${source}`), volume).toBe(true);
      }
    }
    expect(existsSync(`${root}Dockerfile`)).toBe(true);
  });
});
