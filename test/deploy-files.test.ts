/**
 * The deploy kit is valid as its tools read it: `docker-compose config` accepts the compose file,
 * and the files it mounts exist. What no tool runs here (the Collector, Kubernetes) is checked for
 * what holds the pieces together: names, ports and selectors that must point at each other.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_FILE_ENV, DEFAULT_CONFIG, resolveConfig } from '@llm-monitor/receiver';
import { runPromtool, toolAvailable } from './support/tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const compose = toolAvailable('docker-compose', 'docker-compose');
const promtool = toolAvailable('promtool', 'prometheus');

interface ComposeService {
  profiles?: string[];
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string> | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
}

function composeFile(): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  return parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as { services: Record<string, ComposeService> };
}

function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (!Array.isArray(environment)) return environment;
  return Object.fromEntries(environment.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

function dependsOn(service: ComposeService): Record<string, { condition?: string }> {
  const dependencies = service.depends_on ?? {};
  return Array.isArray(dependencies) ? Object.fromEntries(dependencies.map((name) => [name, {}])) : dependencies;
}

/** The host ports a short-syntax mapping ("8000:8000", "8001-8003:8000") publishes. */
function hostPorts(mapping: string): number[] {
  const parts = mapping.split(':');
  expect(parts.length, `${mapping}: a host port and a container port`).toBe(2);
  const [first, last = first] = parts[0]!.split('-').map(Number);
  return Array.from({ length: last! - first! + 1 }, (_, index) => first! + index);
}

interface CollectorConfig {
  receivers: Record<string, { protocols?: Record<string, { endpoint?: string } | null> }>;
  processors?: Record<string, unknown>;
  exporters: Record<string, unknown>;
  extensions?: Record<string, unknown>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}

interface LoadBalancingExporter {
  routing_key?: string;
  protocol: { otlp: Record<string, unknown> };
  resolver: { dns?: { hostname: string; port: number }; static?: { hostnames: string[] } };
}

function collectorConfig(path: string): CollectorConfig {
  return parse(readFileSync(path, 'utf8')) as CollectorConfig;
}

function loadBalancer(config: CollectorConfig): LoadBalancingExporter {
  const exporter = config.exporters.loadbalancing as LoadBalancingExporter | undefined;
  expect(exporter, 'exporters.loadbalancing').toBeDefined();
  return exporter!;
}

/** Every component a pipeline (or the service) names is defined, as otelcol requires at start. */
function expectWired(config: CollectorConfig): void {
  expect(Object.keys(config.service.pipelines).length).toBeGreaterThan(0);
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    expect(pipeline.receivers.length, name).toBeGreaterThan(0);
    expect(pipeline.exporters.length, name).toBeGreaterThan(0);
    for (const receiver of pipeline.receivers) expect(Object.keys(config.receivers), `${name}: ${receiver}`).toContain(receiver);
    for (const processor of pipeline.processors ?? [])
      expect(Object.keys(config.processors ?? {}), `${name}: ${processor}`).toContain(processor);
    for (const exporter of pipeline.exporters) expect(Object.keys(config.exporters), `${name}: ${exporter}`).toContain(exporter);
  }
  for (const extension of config.service.extensions ?? []) expect(Object.keys(config.extensions ?? {})).toContain(extension);
}

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
    const replicas = Object.entries(composeFile().services).filter(([, service]) => (service.deploy?.replicas ?? 1) > 1);
    expect(replicas.map(([name]) => name)).toEqual(['llm-monitor-replica']);
    const [name, replica] = replicas[0]!;
    expect(replica.profiles).toEqual(['scaled']);
    // The replicas act as one: spans reach them through the load balancer, not from a demo of their own.
    expect(replica.command ?? []).not.toContain('--demo');
    const prometheus = parse(readFileSync(`${root}deploy/prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: { dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const discovered = prometheus.scrape_configs.flatMap((job) => job.dns_sd_configs ?? []);
    expect(discovered).toEqual([expect.objectContaining({ names: [name], port: 8000 })]);
  });

  it('runs the receiver, the demo, Prometheus and Grafana, mounting files that exist', () => {
    const file = composeFile();
    expect(Object.keys(file.services).sort()).toEqual([
      'demo',
      'demo-scaled',
      'grafana',
      'llm-monitor',
      'llm-monitor-replica',
      'llm-monitor-tokens',
      'otel-collector',
      'otel-collector-lb',
      'postgres',
      'prometheus',
      'redis',
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

  it('publishes no host port twice, with every profile on', () => {
    const owners = new Map<number, string>();
    for (const [name, service] of Object.entries(composeFile().services)) {
      for (const mapping of service.ports ?? []) {
        const published = hostPorts(mapping);
        // A scaled service can publish only a range, one port of it per replica.
        expect(published.length, `${name} ${mapping}`).toBeGreaterThanOrEqual(service.deploy?.replicas ?? 1);
        for (const port of published) {
          expect(owners.get(port), `host port ${port} of ${name}`).toBeUndefined();
          owners.set(port, name);
        }
      }
    }
    expect(owners.get(8000)).toBe('llm-monitor');
  });

  it('waits for health only where there is a healthcheck to wait for', () => {
    const file = composeFile();
    // The receiver's image has a HEALTHCHECK (on /readyz); other images need one in the compose file.
    expect(readFileSync(`${root}Dockerfile`, 'utf8')).toMatch(/^HEALTHCHECK [^]*?\/readyz/m);
    for (const [name, service] of Object.entries(file.services)) {
      for (const [dependency, { condition }] of Object.entries(dependsOn(service))) {
        const target = file.services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        // A dependency in a profile must be started whenever its dependant is.
        for (const profile of target!.profiles ?? []) expect(service.profiles ?? [], `${name} → ${dependency}`).toContain(profile);
        if (condition === 'service_healthy')
          expect(target!.healthcheck !== undefined || target!.image === 'llm-monitor:local', `${name} → ${dependency}`).toBe(true);
      }
    }
  });
});

describe('docker-compose.yml, profile "scaled"', () => {
  const file = composeFile();
  const scaled = (name: string): ComposeService => {
    const service = file.services[name];
    expect(service?.profiles, name).toEqual(['scaled']);
    return service!;
  };

  it('points the replicas at a PostgreSQL and a Redis of the profile, and starts them once those are healthy', () => {
    const replica = scaled('llm-monitor-replica');
    const environment = environmentOf(replica);
    const storage = new URL(environment.LLM_MONITOR_STORAGE_URL!);
    const redis = new URL(environment.LLM_MONITOR_REDIS_URL!);
    expect(storage.protocol).toBe('postgres:');
    expect(redis.protocol).toBe('redis:');

    const postgres = scaled(storage.hostname);
    expect(postgres.image).toMatch(/^postgres:16/);
    expect(storage.port || '5432').toBe('5432');
    // The URL's credentials and database are the ones the image creates.
    const created = environmentOf(postgres);
    expect(created.POSTGRES_USER).toBe(decodeURIComponent(storage.username));
    expect(created.POSTGRES_PASSWORD).toBe(decodeURIComponent(storage.password));
    expect(created.POSTGRES_DB).toBe(storage.pathname.slice(1));
    expect(postgres.healthcheck?.test).toContain('pg_isready');
    expect(postgres.healthcheck?.test).toContain(created.POSTGRES_USER);
    expect(postgres.volumes?.some((volume) => volume.endsWith(':/var/lib/postgresql/data'))).toBe(true);

    const redisService = scaled(redis.hostname);
    expect(redisService.image).toMatch(/^redis:7/);
    expect(redis.port || '6379').toBe('6379');
    expect(redisService.healthcheck?.test).toEqual(expect.arrayContaining(['redis-cli', 'ping']));

    expect(dependsOn(replica)).toEqual({
      'llm-monitor-tokens': { condition: 'service_completed_successfully' },
      [storage.hostname]: { condition: 'service_healthy' },
      [redis.hostname]: { condition: 'service_healthy' },
    });
    // Same prices as the single receiver, so both show the same costs.
    expect(environment.LLM_MONITOR_MODEL_PRICES).toBe(environmentOf(file.services['llm-monitor']!).LLM_MONITOR_MODEL_PRICES);
  });

  it('sends through a load-balancing Collector that mounts a config routing to the replicas', () => {
    const collector = scaled('otel-collector-lb');
    expect(collector.image).toBe(file.services['otel-collector']!.image);
    expect(collector.image).toMatch(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
    const configPath = collector.command?.find((argument) => argument.startsWith('--config='))?.slice('--config='.length);
    const mount = collector.volumes?.find((volume) => volume.split(':')[1] === configPath);
    expect(mount, `a volume at ${configPath}`).toBeDefined();
    const source = mount!.split(':')[0]!;
    expect(existsSync(`${root}${source}`)).toBe(true);
    expect(source).toBe('./deploy/otel-collector/loadbalancing.yaml');
    const { dns } = loadBalancer(collectorConfig(`${root}${source}`)).resolver;
    expect(dns?.hostname).toBe('llm-monitor-replica');
    expect(dependsOn(collector)).toEqual({
      'llm-monitor-tokens': { condition: 'service_completed_successfully' },
      [dns!.hostname]: { condition: 'service_healthy' },
    });

    // The demo speaks OTLP/HTTP, to the load balancer's HTTP receiver.
    const demo = scaled('demo-scaled');
    expect(demo.entrypoint?.at(-1)).toBe('llm-monitor-demo');
    const endpoint = new URL(demo.command![demo.command!.indexOf('--endpoint') + 1]!);
    expect(endpoint.hostname).toBe('otel-collector-lb');
    expect(endpoint.pathname).toBe('/v1/traces');
    const http = collectorConfig(`${root}${source}`).receivers.otlp!.protocols!.http!.endpoint!;
    expect(endpoint.port).toBe(http.split(':').at(-1));
  });
});

describe('deploy/otel-collector/loadbalancing.yaml', () => {
  const config = collectorConfig(`${root}deploy/otel-collector/loadbalancing.yaml`);

  it('routes by trace id to the replicas found by DNS, on their OTLP/gRPC port', () => {
    const exporter = loadBalancer(config);
    expect(exporter.routing_key).toBe('traceID');
    // The dns resolver only: a static list beside it would be ignored and misleading.
    expect(Object.keys(exporter.resolver)).toEqual(['dns']);
    expect(exporter.resolver.dns).toMatchObject({ hostname: 'llm-monitor-replica', port: DEFAULT_CONFIG.otlpGrpcPort });
    // The receiver image listens for OTLP/gRPC where the resolver sends.
    expect(readFileSync(`${root}Dockerfile`, 'utf8')).toContain(`LLM_MONITOR_OTLP_GRPC_PORT=${exporter.resolver.dns!.port}`);
    // OTLP/gRPC is the only protocol the exporter speaks; plaintext to the receivers, gzip, queued and retried.
    expect(Object.keys(exporter.protocol)).toEqual(['otlp']);
    const otlp = exporter.protocol.otlp;
    expect(otlp).not.toHaveProperty('endpoint');
    expect(otlp).toMatchObject({
      compression: 'gzip',
      tls: { insecure: true },
      sending_queue: { enabled: true },
      retry_on_failure: { enabled: true },
    });
  });

  it('receives OTLP over gRPC and HTTP, and wires a pipeline of defined components into the load balancer', () => {
    expect(Object.keys(config.receivers.otlp!.protocols!).sort()).toEqual(['grpc', 'http']);
    expectWired(config);
    const pipeline = config.service.pipelines.traces!;
    expect(pipeline.exporters).toEqual(['loadbalancing']);
    expect(pipeline.processors?.[0]).toBe('memory_limiter');
    // Sessions are shown while they run: the batch waits at most 100 ms.
    const batch = pipeline.processors?.find((name) => name.split('/')[0] === 'batch');
    const timeout = String((config.processors?.[batch!] as { timeout?: string }).timeout);
    expect(timeout).toMatch(/^\d+ms$/);
    expect(Number.parseInt(timeout, 10)).toBeLessThanOrEqual(100);
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

interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
  targetPort?: number | string;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }[];
  ports?: Port[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface Workload {
  kind: string;
  metadata: { name: string };
  spec: {
    replicas?: number;
    serviceName?: string;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; volumes?: { name: string; configMap?: { name: string } }[] };
    };
  };
}

interface ServiceManifest {
  kind: 'Service';
  metadata: { name: string };
  spec: { clusterIP?: string; selector: Record<string, string>; ports: Port[] };
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('deploy/kubernetes/llm-monitor-scaled.yaml', () => {
  const manifests = parseAllDocuments(readFileSync(`${root}deploy/kubernetes/llm-monitor-scaled.yaml`, 'utf8')).map(
    (document) => document.toJS() as Manifest,
  );
  const named = <T>(kind: string, name: string): T => {
    const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
    expect(found, `${kind} ${name}`).toBeDefined();
    return found as T;
  };
  const workloads = manifests.filter((manifest) => ['Deployment', 'StatefulSet'].includes(manifest.kind)) as unknown as Workload[];
  const services = manifests.filter((manifest) => manifest.kind === 'Service') as unknown as ServiceManifest[];
  const receivers = named<Workload>('StatefulSet', 'llm-monitor');
  const receiver = receivers.spec.template.spec.containers[0]!;
  const collectorConfigMap = named<Manifest>('ConfigMap', 'llm-monitor-collector');
  const collector = parse(collectorConfigMap.data!['config.yaml']!) as CollectorConfig;
  const selected = (service: ServiceManifest): Workload[] =>
    workloads.filter((workload) => matches(service.spec.selector, workload.spec.template.metadata.labels));
  /** The container port a Service port sends to: by name or number. */
  const containerPort = (container: Container, servicePort: Port): number | undefined =>
    container.ports?.find((port) =>
      typeof servicePort.targetPort === 'string'
        ? port.name === servicePort.targetPort
        : port.containerPort === (servicePort.targetPort ?? servicePort.port),
    )?.containerPort;

  it('holds the receivers, their Services, Redis and the load-balancing Collector', () => {
    expect(manifests.map((manifest) => `${manifest.kind} ${manifest.metadata.name}`)).toEqual([
      'ConfigMap llm-monitor',
      'StatefulSet llm-monitor',
      'Service llm-monitor-replicas',
      'Service llm-monitor',
      'ServiceMonitor llm-monitor',
      'Deployment llm-monitor-redis',
      'Service llm-monitor-redis',
      'ConfigMap llm-monitor-collector',
      'Deployment llm-monitor-collector',
      'Service llm-monitor-collector',
    ]);
    expect(receivers.spec.replicas).toBeGreaterThan(1);
    // Every workload's selector picks its own pods.
    for (const workload of workloads)
      expect(matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels)).toBe(true);
  });

  it('has the Collector resolve a headless Service of exactly the receivers, on their OTLP/gRPC port', () => {
    const { dns } = loadBalancer(collector).resolver;
    expect(dns, 'the dns resolver').toBeDefined();
    const [serviceName, namespace, ...domain] = dns!.hostname.split('.');
    // A fully qualified name: <service>.<namespace>.svc.cluster.local.
    expect(namespace).toMatch(/^[a-z0-9-]+$/);
    expect(domain).toEqual(['svc', 'cluster', 'local']);
    const headless = named<ServiceManifest>('Service', serviceName!);
    expect(headless.spec.clusterIP).toBe('None');
    expect(receivers.spec.serviceName).toBe(headless.metadata.name);
    // Its DNS answer is the receivers' pods, and nothing else (the Collector's own pods would loop).
    expect(selected(headless)).toEqual([receivers]);
    const servicePort = headless.spec.ports.find((port) => port.port === dns!.port);
    expect(servicePort, `port ${dns!.port} on ${headless.metadata.name}`).toBeDefined();
    // The resolver dials pod addresses, so the port must be where the receiver listens for OTLP/gRPC.
    const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-k8s-'));
    writeFileSync(join(directory, 'config.yaml'), named<Manifest>('ConfigMap', 'llm-monitor').data!['config.yaml']!);
    const config = resolveConfig({ configFile: join(directory, 'config.yaml') });
    expect(config.otlpGrpcPort).toBe(dns!.port);
    expect(containerPort(receiver, servicePort!)).toBe(config.otlpGrpcPort);
    expect(config).toMatchObject({ host: '0.0.0.0', port: 8000 });
  });

  it('runs the same Collector configuration as the compose file, but for the resolver hostname', () => {
    expectWired(collector);
    const composeConfig = collectorConfig(`${root}deploy/otel-collector/loadbalancing.yaml`);
    const hostname = loadBalancer(collector).resolver.dns!.hostname;
    loadBalancer(composeConfig).resolver.dns!.hostname = hostname;
    expect(collector).toEqual(composeConfig);
    // The Collector's pods read that ConfigMap where --config points.
    const deployment = named<Workload>('Deployment', 'llm-monitor-collector');
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.image).toBe(composeFile().services['otel-collector-lb']!.image);
    const configPath = container.args?.find((argument) => argument.startsWith('--config='))?.slice('--config='.length);
    const volume = deployment.spec.template.spec.volumes?.find((entry) => entry.configMap?.name === collectorConfigMap.metadata.name);
    const mount = container.volumeMounts?.find((entry) => entry.name === volume?.name);
    expect(`${mount?.mountPath}/config.yaml`).toBe(configPath);
    expect(dirname(configPath!)).toBe(mount?.mountPath);
  });

  it('lets applications send only through the Collector, and serves the page from any receiver', () => {
    const otlpPorts = [4317, 4318];
    const entry = named<ServiceManifest>('Service', 'llm-monitor-collector');
    expect(selected(entry).map((workload) => workload.metadata.name)).toEqual(['llm-monitor-collector']);
    const collectorContainer = selected(entry)[0]!.spec.template.spec.containers[0]!;
    for (const port of otlpPorts) {
      const servicePort = entry.spec.ports.find((candidate) => candidate.port === port);
      expect(containerPort(collectorContainer, servicePort!), `collector ${port}`).toBe(port);
    }
    // No Service but the headless one the Collector resolves reaches the receivers' OTLP ports.
    const headless = loadBalancer(collector).resolver.dns!.hostname.split('.')[0];
    for (const service of services.filter((candidate) => selected(candidate).includes(receivers))) {
      if (service.metadata.name === headless) continue;
      for (const port of service.spec.ports) expect(otlpPorts, `${service.metadata.name}`).not.toContain(containerPort(receiver, port));
    }
    const api = named<ServiceManifest>('Service', 'llm-monitor');
    expect(selected(api)).toEqual([receivers]);
    expect(api.spec.clusterIP).toBeUndefined();
    expect(
      containerPort(
        receiver,
        api.spec.ports.find((port) => port.port === 8000)!,
      ),
    ).toBe(8000);
  });

  it('gives each receiver its pod name as replica id, the PostgreSQL Secret and a Redis Service of the file', () => {
    const env = Object.fromEntries((receiver.env ?? []).map((variable) => [variable.name, variable]));
    expect(env.LLM_MONITOR_REPLICA_ID?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.LLM_MONITOR_STORAGE_URL?.valueFrom).toEqual({ secretKeyRef: { name: 'llm-monitor-postgres', key: 'url' } });
    expect(env[CONFIG_FILE_ENV]?.value).toBe('/etc/llm-monitor/config.yaml');
    const mount = receiver.volumeMounts?.find((volume) => volume.mountPath === dirname(env[CONFIG_FILE_ENV]!.value!));
    expect(receivers.spec.template.spec.volumes?.find((volume) => volume.name === mount?.name)?.configMap?.name).toBe('llm-monitor');

    const redis = new URL(env.LLM_MONITOR_REDIS_URL!.value!);
    expect(redis.protocol).toBe('redis:');
    const redisService = named<ServiceManifest>('Service', redis.hostname);
    const redisPods = selected(redisService);
    expect(redisPods).toHaveLength(1);
    const redisContainer = redisPods[0]!.spec.template.spec.containers[0]!;
    expect(redisContainer.image).toMatch(/^redis:7/);
    const redisPort = redisService.spec.ports.find((port) => port.port === Number(redis.port || 6379));
    expect(containerPort(redisContainer, redisPort!)).toBe(6379);

    expect(receiver.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(receiver.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(receiver.ports?.find((port) => port.name === receiver.readinessProbe?.httpGet?.port)?.containerPort).toBe(8000);
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

/*
 * Nothing shipped runs open: every receiver needs an ingest and a read token, every sender has one,
 * and the tokens are generated where the deployment starts, never committed.
 */
const TOKEN_FILES = ['ingest-token', 'read-token'];
const TOKEN_SERVICE = 'llm-monitor-tokens';
const TOKEN_SECRET = 'llm-monitor-tokens';
const TOKEN_VOLUME = 'llm-monitor-secrets';
const RECEIVER_IMAGE = 'llm-monitor:local';
const AUTH_EXTENSION = 'bearertokenauth';

/** Where a service mounts the token volume, and whether read-only. */
function tokenMount(service: ComposeService): { target: string; readOnly: boolean } | undefined {
  const volume = service.volumes?.find((entry) => entry.split(':')[0] === TOKEN_VOLUME);
  if (!volume) return undefined;
  const [, target, mode] = volume.split(':');
  return { target: target!, readOnly: mode === 'ro' };
}

/** Compose's `$$` is a literal `$`: the string a container's process gets. */
const unescapeCompose = (value: string): string => value.replaceAll('$$', '$');

interface AuthenticatedCollectorConfig {
  receivers: Record<string, { protocols?: Record<string, { auth?: { authenticator?: string } } | null> }>;
  extensions?: Record<string, { filename?: string } | null>;
  exporters: Record<string, { headers?: Record<string, string>; protocol?: { otlp?: { headers?: Record<string, string> } } }>;
  service: { extensions?: string[] };
}

/**
 * A Collector configuration that checks the ingest token on every receiver protocol and forwards it
 * with every exporter, both from `tokenPath` (a file: ${file:…} and bearertokenauth's filename).
 */
function expectCollectorUsesToken(config: AuthenticatedCollectorConfig, tokenPath: string, label: string): void {
  const extension = config.extensions?.[AUTH_EXTENSION];
  expect(extension?.filename, `${label}: ${AUTH_EXTENSION}.filename`).toBe(tokenPath);
  expect(config.service.extensions, label).toContain(AUTH_EXTENSION);
  for (const [name, receiver] of Object.entries(config.receivers))
    for (const [protocol, settings] of Object.entries(receiver.protocols ?? {}))
      expect(settings?.auth?.authenticator, `${label}: ${name}.${protocol} checks the token`).toBe(AUTH_EXTENSION);
  const exporters = Object.entries(config.exporters);
  expect(exporters.length).toBeGreaterThan(0);
  for (const [name, exporter] of exporters) {
    const headers = exporter.protocol?.otlp?.headers ?? exporter.headers ?? {};
    const authorization = Object.entries(headers).find(([header]) => header.toLowerCase() === 'authorization')?.[1];
    expect(authorization, `${label}: ${name} sends the ingest token`).toBe(`Bearer \${file:${tokenPath}}`);
  }
}

/** Runs the token service's script as the container would, into `directory`. */
function runTokenService(service: ComposeService, directory: string): void {
  const [command, ...args] = service.entrypoint!;
  const mount = tokenMount(service)!;
  expect(args.at(-1), 'the script writes into the mounted volume').toBe(mount.target);
  const result = spawnSync(command!, [...args.slice(0, -1).map(unescapeCompose), directory], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

describe('tokens in docker-compose.yml', () => {
  const file = composeFile();
  const services = Object.entries(file.services);
  const tokenService = file.services[TOKEN_SERVICE]!;
  const secrets = tokenMount(tokenService ?? {})?.target;
  const imageServices = services.filter(([, service]) => service.image === RECEIVER_IMAGE);
  // The image's entrypoint is the receiver: a service that keeps it is a receiver.
  const receivers = imageServices.filter(([, service]) => service.entrypoint === undefined);
  const demos = imageServices.filter(([, service]) => service.entrypoint?.includes('llm-monitor-demo'));
  const collectors = services.filter(([, service]) => service.image?.startsWith('otel/opentelemetry-collector'));

  it('generates the tokens once, into a named volume, in a service of no profile built from the receiver image', () => {
    expect(tokenService, TOKEN_SERVICE).toBeDefined();
    expect(tokenService.image).toBe(RECEIVER_IMAGE);
    expect(tokenService.profiles).toBeUndefined();
    expect(tokenService.entrypoint?.slice(0, 2)).toEqual(['node', '-e']);
    expect(Object.keys(file.volumes ?? {})).toContain(TOKEN_VOLUME);
    expect(tokenMount(tokenService)).toEqual({ target: secrets, readOnly: false });
    // Every service of the image is the token service, a receiver or a demo: nothing else runs it.
    expect(imageServices.length).toBe(1 + receivers.length + demos.length);
    expect(receivers.map(([name]) => name).sort()).toEqual(['llm-monitor', 'llm-monitor-replica']);
    expect(demos.map(([name]) => name).sort()).toEqual(['demo', 'demo-scaled']);
  });

  it('writes one random 32-byte hex token per file, readable by the other containers, and keeps existing ones', () => {
    const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-tokens-'));
    runTokenService(tokenService, directory);
    expect(readdirSync(directory).sort()).toEqual(TOKEN_FILES);
    const first = TOKEN_FILES.map((name) => readFileSync(join(directory, name), 'utf8'));
    // The whole file is the token (Prometheus' credentials_file, the Collector's ${file:…}): no newline.
    for (const token of first) expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(first[0]).not.toBe(first[1]);
    // Read by other users (node, nobody, the Collector's 10001), written by nobody else.
    for (const name of TOKEN_FILES) expect(statSync(join(directory, name)).mode & 0o777).toBe(0o444);
    runTokenService(tokenService, directory);
    expect(TOKEN_FILES.map((name) => readFileSync(join(directory, name), 'utf8'))).toEqual(first);
    // A second run elsewhere draws new ones: nothing is built in.
    const other = mkdtempSync(join(tmpdir(), 'llm-monitor-tokens-'));
    runTokenService(tokenService, other);
    expect(readFileSync(join(other, 'read-token'), 'utf8')).not.toBe(first[1]);
  });

  it('runs every receiver with ingest and read tokens from the files the token service writes', () => {
    for (const [name, service] of receivers) {
      const environment = environmentOf(service);
      expect(environment.LLM_MONITOR_INGEST_TOKENS_FILE, name).toBe(`${secrets}/ingest-token`);
      expect(environment.LLM_MONITOR_READ_TOKENS_FILE, name).toBe(`${secrets}/read-token`);
      expect(tokenMount(service), name).toEqual({ target: secrets, readOnly: true });
      expect(dependsOn(service)[TOKEN_SERVICE], name).toEqual({ condition: 'service_completed_successfully' });
      // Nothing left open beside the tokens.
      expect(environment.LLM_MONITOR_METRICS_PUBLIC ?? 'false', name).toBe('false');
      for (const variable of ['LLM_MONITOR_INGEST_TOKENS', 'LLM_MONITOR_READ_TOKENS']) expect(environment[variable], name).toBeUndefined();
      // The receiver takes those variables as its token files.
      const config = resolveConfig({ env: environment });
      expect(config.ingestTokensFile).toBe(`${secrets}/ingest-token`);
      expect(config.readTokensFile).toBe(`${secrets}/read-token`);
    }
  });

  it('has each demo send the ingest token', () => {
    const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-demo-'));
    writeFileSync(join(directory, 'ingest-token'), 'the-ingest-token');
    // A stand-in for the image's llm-monitor-demo: prints the token it got and its arguments.
    const bin = join(directory, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'llm-monitor-demo'), '#!/bin/sh\nprintf "%s\\n" "$LLM_MONITOR_INGEST_TOKEN" "$@"\n');
    chmodSync(join(bin, 'llm-monitor-demo'), 0o755);
    for (const [name, service] of demos) {
      expect(tokenMount(service), name).toEqual({ target: secrets, readOnly: true });
      expect(dependsOn(service)[TOKEN_SERVICE], name).toEqual({ condition: 'service_completed_successfully' });
      const [shell, flag, script, argumentZero] = service.entrypoint!;
      expect([shell, flag, argumentZero], name).toEqual(['sh', '-c', 'llm-monitor-demo']);
      const unescaped = unescapeCompose(script!);
      expect(unescaped, name).toContain(`${secrets}/ingest-token`);
      const result = spawnSync(
        'sh',
        ['-c', unescaped.replaceAll(`${secrets}/`, `${directory}/`), argumentZero!, ...(service.command ?? [])],
        { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } },
      );
      expect(result.status, `${name}: ${result.stderr}`).toBe(0);
      expect(result.stdout.trim().split('\n'), name).toEqual(['the-ingest-token', ...(service.command ?? [])]);
    }
    // Without the file the demo does not start tokenless.
    const [, , script] = demos[0]![1].entrypoint!;
    const missing = spawnSync('sh', ['-c', unescapeCompose(script!).replaceAll(`${secrets}/`, `${directory}/none/`), 'x'], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(missing.status).not.toBe(0);
  });

  it('has each Collector check and forward the ingest token, from the token volume', () => {
    expect(collectors.map(([name]) => name).sort()).toEqual(['otel-collector', 'otel-collector-lb']);
    for (const [name, service] of collectors) {
      expect(tokenMount(service), name).toEqual({ target: secrets, readOnly: true });
      expect(dependsOn(service)[TOKEN_SERVICE], name).toEqual({ condition: 'service_completed_successfully' });
      const configPath = service.command?.find((argument) => argument.startsWith('--config='))?.slice('--config='.length);
      const source = service.volumes!.find((volume) => volume.split(':')[1] === configPath)!.split(':')[0]!;
      const config = parse(readFileSync(`${root}${source}`, 'utf8')) as AuthenticatedCollectorConfig;
      expectCollectorUsesToken(config, `${secrets}/ingest-token`, name);
    }
  });

  it('has Prometheus scrape every job with the read token', () => {
    const prometheusService = file.services.prometheus!;
    expect(tokenMount(prometheusService)).toEqual({ target: secrets, readOnly: true });
    expect(dependsOn(prometheusService)[TOKEN_SERVICE]).toEqual({ condition: 'service_completed_successfully' });
    const prometheus = parse(readFileSync(`${root}deploy/prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: { job_name: string; authorization?: { type?: string; credentials_file?: string } }[];
    };
    expect(prometheus.scrape_configs.length).toBeGreaterThan(0);
    for (const job of prometheus.scrape_configs)
      expect(job.authorization, job.job_name).toEqual({ type: 'Bearer', credentials_file: `${secrets}/read-token` });
  });

  it.skipIf(!promtool)('passes promtool check config with the token file in place', () => {
    // promtool wants the credentials file to exist: point it at one written like the token service's.
    const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-prometheus-'));
    runTokenService(tokenService, directory);
    const text = readFileSync(`${root}deploy/prometheus/prometheus.yml`, 'utf8')
      .replaceAll(`${secrets}/`, `${directory}/`)
      .replace(/^( {2}- )alerts\.yml$/m, `$1${root}deploy/prometheus/alerts.yml`);
    writeFileSync(join(directory, 'prometheus.yml'), text);
    const result = runPromtool(['check', 'config', join(directory, 'prometheus.yml')]);
    expect(result.output).toContain('SUCCESS: 1 rule files found');
    expect(result.status, result.output).toBe(0);
  });
});

interface TokenWorkload {
  kind: string;
  metadata: { name: string };
  spec: {
    template: {
      spec: {
        containers: Container[];
        volumes?: { name: string; secret?: { secretName: string; optional?: boolean } }[];
      };
    };
  };
}

describe.each(['llm-monitor.yaml', 'llm-monitor-scaled.yaml'])('tokens in deploy/kubernetes/%s', (fileName) => {
  const text = readFileSync(`${root}deploy/kubernetes/${fileName}`, 'utf8');
  const manifests = parseAllDocuments(text).map((document) => document.toJS() as Manifest);
  const workloads = manifests.filter((manifest) => ['Deployment', 'StatefulSet'].includes(manifest.kind)) as unknown as TokenWorkload[];
  const receivers = workloads.filter((workload) => workload.spec.template.spec.containers[0]!.image.startsWith('llm-monitor:'));

  /** The Secret key a path in a container lands on: a mount of a volume of the token Secret. */
  const secretKeyAt = (workload: TokenWorkload, container: Container, path: string): string | undefined => {
    const mount = container.volumeMounts?.find((entry) => entry.mountPath === dirname(path));
    const volume = workload.spec.template.spec.volumes?.find((entry) => entry.name === mount?.name);
    if (volume?.secret?.secretName !== TOKEN_SECRET) return undefined;
    // Not optional: a missing Secret stops the pod rather than running it open.
    expect(volume.secret.optional ?? false, `${workload.metadata.name}: ${volume.name}`).toBe(false);
    expect((mount as { readOnly?: boolean }).readOnly, `${workload.metadata.name}: ${mount!.mountPath}`).toBe(true);
    return basename(path);
  };

  it('documents the command that creates the Secret with random keys, and commits no token', () => {
    // The header's `kubectl create secret`, with the keys the manifests read.
    const command = text.match(/kubectl create secret generic (\S+)[^\n]*\n#?[^\n]*/)?.[0] ?? '';
    expect(command).toContain(`generic ${TOKEN_SECRET}`);
    for (const key of TOKEN_FILES) expect(command).toContain(`--from-literal=${key}=$(openssl rand -hex 32)`);
    expect(manifests.filter((manifest) => manifest.kind === 'Secret')).toEqual([]);
    expect(text).not.toMatch(/[0-9a-f]{32,}/i);
  });

  it('runs every receiver with ingest and read token files from the Secret', () => {
    expect(receivers.length).toBe(1);
    for (const workload of receivers) {
      const container = workload.spec.template.spec.containers[0]!;
      const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value]));
      expect(secretKeyAt(workload, container, env.LLM_MONITOR_INGEST_TOKENS_FILE ?? '')).toBe('ingest-token');
      expect(secretKeyAt(workload, container, env.LLM_MONITOR_READ_TOKENS_FILE ?? '')).toBe('read-token');
      expect(env.LLM_MONITOR_METRICS_PUBLIC ?? 'false').toBe('false');
      const config = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name === 'llm-monitor')!;
      expect(config.data!['config.yaml']).not.toMatch(/metrics_public:\s*true/);
    }
  });

  it('scrapes /metrics with the read token', () => {
    const monitors = manifests.filter((manifest) => manifest.kind === 'ServiceMonitor');
    expect(monitors.length).toBe(1);
    for (const monitor of monitors)
      for (const endpoint of (monitor.spec as { endpoints: { authorization?: unknown }[] }).endpoints)
        expect(endpoint.authorization).toEqual({
          type: 'Bearer',
          credentials: { name: TOKEN_SECRET, key: 'read-token', optional: false },
        });
  });

  it('has the Collector check and forward the ingest token, from the Secret', () => {
    const collectors = workloads.filter((workload) =>
      workload.spec.template.spec.containers[0]!.image.startsWith('otel/opentelemetry-collector'),
    );
    if (fileName === 'llm-monitor.yaml') {
      expect(collectors).toEqual([]);
      return;
    }
    expect(collectors.length).toBe(1);
    const configMap = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name === 'llm-monitor-collector')!;
    const config = parse(configMap.data!['config.yaml']!) as AuthenticatedCollectorConfig;
    const path = config.extensions?.[AUTH_EXTENSION]?.filename ?? '';
    expectCollectorUsesToken(config, path, 'llm-monitor-collector');
    const workload = collectors[0]!;
    expect(secretKeyAt(workload, workload.spec.template.spec.containers[0]!, path)).toBe('ingest-token');
  });
});
