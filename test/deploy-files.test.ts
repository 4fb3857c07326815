/**
 * The deploy kit is valid as its tools read it: `docker-compose config` accepts the compose file,
 * and the files it mounts exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_FILE_ENV, resolveConfig } from '@llm-monitor/receiver';
import { toolAvailable } from './support/tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const compose = toolAvailable('docker-compose', 'docker-compose');

describe('docker-compose.yml', () => {
  it.skipIf(!compose)('passes docker-compose config, with every profile', () => {
    for (const profiles of [[], ['--profile', 'collector'], ['--profile', 'scaled']]) {
      const result = spawnSync('docker-compose', ['-f', `${root}docker-compose.yml`, ...profiles, 'config', '-q'], {
        encoding: 'utf8',
        cwd: root,
      });
      expect(result.stderr, profiles.join(' ')).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it('scales out receivers that Prometheus finds by their service name', () => {
    const file = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
      services: Record<string, { profiles?: string[]; command?: string[]; deploy?: { replicas?: number } }>;
    };
    const replicas = Object.entries(file.services).filter(([, service]) => service.profiles?.includes('scaled'));
    expect(replicas.map(([name]) => name)).toEqual(['llm-monitor-replica']);
    const [name, replica] = replicas[0]!;
    expect(replica.deploy?.replicas).toBeGreaterThan(1);
    // Each replica makes its own sessions: a trace split across receivers would build two halves.
    expect(replica.command).toContain('--demo');
    const prometheus = parse(readFileSync(`${root}deploy/prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: { dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const discovered = prometheus.scrape_configs.flatMap((job) => job.dns_sd_configs ?? []);
    expect(discovered).toEqual([expect.objectContaining({ names: [name], port: 8000 })]);
  });

  it('runs the receiver, the demo, Prometheus and Grafana, mounting files that exist', () => {
    const file = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
      services: Record<string, { volumes?: string[] }>;
      volumes?: Record<string, unknown>;
    };
    expect(Object.keys(file.services).sort()).toEqual([
      'demo',
      'grafana',
      'llm-monitor',
      'llm-monitor-replica',
      'otel-collector',
      'prometheus',
    ]);
    for (const service of Object.values(file.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        // A named volume (the receiver's history) is declared at the top; a path must exist.
        if (!source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(file.volumes ?? {}), volume).toContain(source);
        else expect(existsSync(`${root}${source}`), volume).toBe(true);
      }
    }
    expect(file.services['llm-monitor']!.volumes).toContain('llm-monitor-data:/data');
    expect(existsSync(`${root}Dockerfile`)).toBe(true);
  });
});

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

describe('deploy/kubernetes/llm-monitor.yaml', () => {
  const manifests = parseAllDocuments(readFileSync(`${root}deploy/kubernetes/llm-monitor.yaml`, 'utf8')).map(
    (document) => document.toJS() as Manifest,
  );
  const byKind = (kind: string): Manifest => manifests.find((manifest) => manifest.kind === kind)!;

  it('holds a ConfigMap the receiver accepts as its config file', () => {
    expect(manifests.map((manifest) => manifest.kind)).toEqual([
      'ConfigMap',
      'PersistentVolumeClaim',
      'Deployment',
      'Service',
      'ServiceMonitor',
    ]);
    const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-k8s-'));
    writeFileSync(join(directory, 'config.yaml'), byKind('ConfigMap').data!['config.yaml']!);
    const config = resolveConfig({ configFile: join(directory, 'config.yaml') });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 8000, otlpPort: 4318, storageUrl: 'sqlite:/data/llm-monitor.db' });
  });

  it('probes, exposes and scrapes the receiver where it listens', () => {
    const deployment = JSON.stringify(byKind('Deployment'));
    expect(deployment).toContain('"path":"/readyz"');
    expect(deployment).toContain('"path":"/healthz"');
    expect(deployment).toContain(`"name":"${CONFIG_FILE_ENV}"`);
    // The root file system is read-only: the history lives on the claimed volume, where storage_url points.
    expect(deployment).toContain('"mountPath":"/data"');
    expect(deployment).toContain('"claimName":"llm-monitor-data"');
    const service = byKind('Service').spec as { ports: { name: string; port: number }[] };
    expect(service.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'http', port: 8000 }),
        expect.objectContaining({ name: 'otlp-http', port: 4318 }),
      ]),
    );
    const monitor = byKind('ServiceMonitor').spec as { endpoints: { port: string; path: string }[] };
    expect(monitor.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
  });
});

describe('deploy/otel-collector/config.yaml', () => {
  it("receives OTLP over gRPC and HTTP and exports it to the receiver's OTLP/HTTP traces endpoint", () => {
    const config = parse(readFileSync(`${root}deploy/otel-collector/config.yaml`, 'utf8')) as {
      receivers: { otlp: { protocols: Record<string, unknown> } };
      exporters: Record<string, { traces_endpoint?: string }>;
      service: { pipelines: { traces: { receivers: string[]; processors: string[]; exporters: string[] } } };
    };
    expect(Object.keys(config.receivers.otlp.protocols).sort()).toEqual(['grpc', 'http']);
    const pipeline = config.service.pipelines.traces;
    expect(pipeline.receivers).toEqual(['otlp']);
    for (const exporter of pipeline.exporters) expect(config.exporters[exporter]!.traces_endpoint).toMatch(/:4318\/v1\/traces$/);
    expect(pipeline.processors[0]).toBe('memory_limiter');
  });
});
