/**
 * What the end-to-end tests measure of a real `llm-monitor` process from outside: its resident
 * memory and its connections, read from `/proc`, and its `/metrics`, read as a user's scraper would.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';

/** Longest wait for one answer from the process; only a hang trips it, never a slow machine. */
export const HANG_GUARD_MS = 30_000;

/** Resident memory of a process now, and its peak since it started (the kernel's high-water mark), in bytes. */
export function residentMemoryOf(pid: number): { current: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { current: kilobytes('VmRSS'), peak: kilobytes('VmHWM') };
}

/**
 * How many open file descriptors of process `pid` are TCP connections accepted on `localPort` from one
 * of `remotePorts`: the server's side of our clients' connections, found by matching the socket inodes
 * of its descriptors with the kernel's connection table. Both ends are matched because Linux reuses an
 * ephemeral port for connections to different destinations: a probe to the OTLP port may share a
 * client's port number while both are open.
 */
export function connectionsOfProcessTo(pid: number, localPort: number, remotePorts: ReadonlySet<number>): number {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const portOf = (address: string): number => parseInt(address.split(':')[1]!, 16);
      if (portOf(fields[1]!) === localPort && remotePorts.has(portOf(fields[2]!))) inodes.add(fields[9]!);
    }
  }
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) count += 1;
  }
  return count;
}

/** The samples of `/metrics`, by series (`name{labels}`); a missing series is an error, not 0. */
export async function metricsOf(apiUrl: string): Promise<(series: string) => number> {
  const response = await fetch(`${apiUrl}/metrics`, { headers: { accept: 'text/plain' }, signal: AbortSignal.timeout(HANG_GUARD_MS) });
  expect(response.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return (series) => {
    const value = samples.get(series);
    if (value === undefined) throw new Error(`no series ${series} in /metrics`);
    return value;
  };
}

/** Every REST endpoint, and `extraPaths`, answers 200 with a body. */
export async function expectEveryEndpointAnswers(apiUrl: string, extraPaths: readonly string[] = []): Promise<void> {
  const paths = [
    '/api',
    '/api/monitoring/sessions/active',
    '/api/monitoring/sessions/recent',
    '/api/monitoring/sessions/recent?limit=1000',
    '/api/monitoring/sessions/recent?format=csv',
    '/api/monitoring/statistics',
    '/api/monitoring/statistics?window=1h',
    '/api/monitoring/model-prices',
    '/healthz',
    '/readyz',
    '/metrics',
    ...extraPaths,
  ];
  for (const path of paths) {
    const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
    expect(response.status, path).toBe(200);
    expect((await response.text()).length, path).toBeGreaterThan(0);
  }
}
