/**
 * The alert rules shipped in deploy/prometheus are valid, and their unit tests (one case where each
 * alert fires, one where it stays quiet) pass under promtool. Every alert has its runbook section.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runPromtool, toolAvailable } from './support/tools.js';

const deploy = fileURLToPath(new URL('../deploy/prometheus/', import.meta.url));
const promtool = toolAvailable('promtool', 'prometheus');
const rules = parse(readFileSync(`${deploy}alerts.yml`, 'utf8')) as {
  groups: { rules: { alert: string; annotations: { runbook: string } }[] }[];
};
const alerts = rules.groups.flatMap((group) => group.rules);

describe('deploy/prometheus/alerts.yml', () => {
  it.skipIf(!promtool)('passes promtool check rules', () => {
    const result = runPromtool(['check', 'rules', `${deploy}alerts.yml`]);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(result.status).toBe(0);
  });

  it.skipIf(!promtool)('is loaded by deploy/prometheus/prometheus.yml, which passes promtool check config', () => {
    // The config scrapes with the read token the compose file mounts at /secrets/read-token, a file
    // promtool wants to see: checked in a copy beside a token file and the rules.
    const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-promtool-config-'));
    writeFileSync(join(directory, 'read-token'), 'a'.repeat(64));
    copyFileSync(`${deploy}alerts.yml`, join(directory, 'alerts.yml'));
    const config = readFileSync(`${deploy}prometheus.yml`, 'utf8');
    expect(config).toContain('/secrets/read-token');
    writeFileSync(join(directory, 'prometheus.yml'), config.replaceAll('/secrets/read-token', join(directory, 'read-token')));
    const result = runPromtool(['check', 'config', join(directory, 'prometheus.yml')]);
    rmSync(directory, { recursive: true, force: true });
    expect(result.output).toContain('SUCCESS: 1 rule files found');
    expect(result.status).toBe(0);
  });

  it.skipIf(!promtool)('passes its unit tests (promtool test rules)', () => {
    const result = runPromtool(['test', 'rules', `${deploy}alerts.test.yml`]);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('tests every alert both firing and quiet, and documents each in docs/alerts.md', () => {
    const tests = parse(readFileSync(`${deploy}alerts.test.yml`, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test);
    const runbooks = readFileSync(fileURLToPath(new URL('../docs/alerts.md', import.meta.url)), 'utf8');
    expect(alerts.map((alert) => alert.alert)).toEqual([
      'LlmMonitorHighFailureRate',
      'LlmMonitorSlowTimeToFirstToken',
      'LlmMonitorSessionsAbandoned',
      'LlmMonitorReceiverRefusingData',
      'LlmMonitorNoData',
      'LlmMonitorInternalErrors',
      'LlmMonitorMemoryPressure',
    ]);
    for (const alert of alerts) {
      const own = cases.filter((c) => c.alertname === alert.alert);
      expect(
        own.some((c) => c.exp_alerts.length > 0),
        `${alert.alert} fires in a test`,
      ).toBe(true);
      expect(
        own.some((c) => c.exp_alerts.length === 0),
        `${alert.alert} stays quiet in a test`,
      ).toBe(true);
      expect(runbooks).toContain(`## ${alert.alert}\n`);
      expect(alert.annotations.runbook).toBe(`docs/alerts.md#${alert.alert.toLowerCase()}`);
    }
  });
});
