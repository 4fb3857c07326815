import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, LlmMonitorError, SETTINGS, helpText, parseModelPrices, resolveConfig, validateConfig } from '../src/index.js';

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llm-monitor-config-')), 'config.yaml');
  writeFileSync(path, text);
  return path;
}

describe('resolveConfig', () => {
  it('uses the documented defaults', () => {
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toMatchObject({ host: '127.0.0.1', port: 8000, otlpPort: 4318, otlpMaxBodyBytes: 20 * 1024 * 1024 });
  });

  it('lets flags win over the environment, and the environment over the file', () => {
    const file = configFile('port: 9001\notlp_port: 9002\nhost: 0.0.0.0\ndemo: true\n');
    const config = resolveConfig({
      configFile: file,
      env: { LLM_MONITOR_PORT: '9101', LLM_MONITOR_OTLP_PORT: '9102' },
      flags: { port: '9201' },
    });
    expect(config).toMatchObject({ port: 9201, otlpPort: 9102, host: '0.0.0.0', demo: true });
  });

  it('finds the file through LLM_MONITOR_CONFIG', () => {
    const file = configFile('retention_seconds: 60\n');
    expect(resolveConfig({ env: { LLM_MONITOR_CONFIG: file } }).retentionSeconds).toBe(60);
  });

  it('names the setting and its source when a value is invalid', () => {
    expect(() => resolveConfig({ env: { LLM_MONITOR_PORT: 'eighty' } })).toThrow(
      'environment variable LLM_MONITOR_PORT: "eighty" is not a valid port (expected an integer from 0 to 65535)',
    );
    expect(() => resolveConfig({ flags: { 'otlp-port': '70000' } })).toThrow(/flag --otlp-port: "70000"/);
    expect(() => resolveConfig({ flags: { 'log-level': 'loud' } })).toThrow(/not a valid log_level/);
    expect(() => resolveConfig({ configFile: configFile('max_sessions: -3\n') })).toThrow(/max_sessions \(expected a positive integer\)/);
    // A count may be 0 (no steps), not negative nor fractional.
    expect(resolveConfig({ flags: { 'max-steps-per-session': '0' } }).maxStepsPerSession).toBe(0);
    expect(() => resolveConfig({ flags: { 'max-steps-per-session': '-1' } })).toThrow(
      /max-steps-per-session: "-1" .*expected an integer ≥ 0/,
    );
    expect(() => resolveConfig({ env: { LLM_MONITOR_MAX_STEPS_PER_SESSION: '2.5' } })).toThrow(/expected an integer ≥ 0/);
  });

  it('refuses unknown keys, broken YAML and missing files with LLMMON_ERR_CONFIG', () => {
    const attempts = [
      () => resolveConfig({ configFile: configFile('prot: 1\n') }),
      () => resolveConfig({ configFile: configFile('port: [1\n') }),
      () => resolveConfig({ configFile: configFile('- 1\n- 2\n') }),
      () => resolveConfig({ configFile: '/nonexistent/llm-monitor.yaml' }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(LlmMonitorError);
      try {
        attempt();
      } catch (error) {
        expect((error as LlmMonitorError).code).toBe('LLMMON_ERR_CONFIG');
      }
    }
    expect(attempts[0]).toThrow(/unknown setting "prot"; did you mean "port"\? \(known: host, port, /);
    expect(() => resolveConfig({ configFile: configFile('colour: 1\n') })).toThrow(/unknown setting "colour" \(known: /);
  });

  it('refuses one port for both servers, naming both settings and their sources', () => {
    expect(() => resolveConfig({ flags: { 'otlp-port': '8000' } })).toThrow(
      'port (default) and otlp_port (flag --otlp-port) are both 8000: the API server and the OTLP/HTTP server need a port each; change one (--port or LLM_MONITOR_PORT, --otlp-port or LLM_MONITOR_OTLP_PORT), or set both to 0 for any free ports',
    );
    expect(() => resolveConfig({ configFile: configFile('port: 9000\n'), env: { LLM_MONITOR_OTLP_PORT: '9000' } })).toThrow(
      /^port \(config file .*, port\) and otlp_port \(environment variable LLM_MONITOR_OTLP_PORT\) are both 9000/,
    );
    try {
      resolveConfig({ flags: { port: '4318' } });
      expect.unreachable();
    } catch (error) {
      expect((error as LlmMonitorError).code).toBe('LLMMON_ERR_CONFIG');
    }
    // Called directly (buildReceiver), the settings are named by their keys alone.
    expect(() => validateConfig({ ...DEFAULT_CONFIG, port: 9000, otlpPort: 9000 })).toThrow(/^port and otlp_port are both 9000: /);
    // 0 asks each server for a free port of its own: no clash.
    expect(resolveConfig({ flags: { port: '0', 'otlp-port': '0', 'otlp-grpc-port': '0' } })).toMatchObject({
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: 0,
    });
    // The OTLP/gRPC server's port too, against either of the others.
    expect(() => resolveConfig({ flags: { 'otlp-grpc-port': '4318' } })).toThrow(
      'otlp_port (default) and otlp_grpc_port (flag --otlp-grpc-port) are both 4318: the OTLP/HTTP server and the OTLP/gRPC server need a port each; change one (--otlp-port or LLM_MONITOR_OTLP_PORT, --otlp-grpc-port or LLM_MONITOR_OTLP_GRPC_PORT), or set both to 0 for any free ports',
    );
    expect(() => resolveConfig({ env: { LLM_MONITOR_PORT: '4317' } })).toThrow(
      /^port \(environment variable LLM_MONITOR_PORT\) and otlp_grpc_port \(default\) are both 4317: the API server and the OTLP\/gRPC server/,
    );
    expect(resolveConfig({ flags: { port: '9000', 'otlp-port': '9001' } })).toMatchObject({ port: 9000, otlpPort: 9001 });
  });

  it('takes a redis:// or rediss:// URL for the fan-out and a plain replica id, refusing anything else by name', () => {
    expect(resolveConfig({ env: { LLM_MONITOR_REDIS_URL: 'redis://redis:6379', LLM_MONITOR_REPLICA_ID: 'llm-monitor-0' } })).toMatchObject({
      redisUrl: 'redis://redis:6379',
      redisChannel: 'llm-monitor:sessions',
      replicaId: 'llm-monitor-0',
    });
    expect(resolveConfig({ flags: { 'redis-url': 'rediss://user:secret@cache:6380/2' } }).redisUrl).toBe(
      'rediss://user:secret@cache:6380/2',
    );
    expect(() => resolveConfig({ flags: { 'redis-url': 'http://redis:6379' } })).toThrow(
      'flag --redis-url: "http://redis:6379" is not a valid redis_url (expected a redis:// or rediss:// URL)',
    );
    expect(() => resolveConfig({ env: { LLM_MONITOR_REDIS_URL: 'redis' } })).toThrow(
      /LLM_MONITOR_REDIS_URL: "redis" is not a valid redis_url/,
    );
    expect(() => resolveConfig({ flags: { 'replica-id': 'a b' } })).toThrow(
      /^flag --replica-id: "a b" is not a replica id \(expected 1 to 128 letters, digits/,
    );
    expect(() => resolveConfig({ flags: { 'replica-id': 'x'.repeat(129) } })).toThrow(/is not a replica id/);
  });

  it('reads booleans from environment variables', () => {
    expect(resolveConfig({ env: { LLM_MONITOR_DEMO: 'true' } }).demo).toBe(true);
    expect(resolveConfig({ env: { LLM_MONITOR_DEMO: '0' } }).demo).toBe(false);
  });
});

describe('helpText', () => {
  it('lists every setting with its flag and environment variable', () => {
    const help = helpText();
    for (const setting of SETTINGS) {
      expect(help).toContain(setting.type === 'boolean' ? `--[no-]${setting.flag} ` : `--${setting.flag} VALUE`);
      expect(help).toContain(setting.env);
    }
    expect(help).toContain('--config FILE');
    expect(help).toContain('--version');
    expect(help).toMatch(/Exit codes: 0 .*2 cannot start/s);
  });
});

describe('resolveConfig precedence with invalid lower sources', () => {
  it('lets a valid flag override an invalid environment variable', () => {
    expect(resolveConfig({ env: { LLM_MONITOR_PORT: 'broken' }, flags: { port: '8080' } }).port).toBe(8080);
  });
});

describe('resolveConfig edge cases', () => {
  it('lets --no-demo override LLM_MONITOR_DEMO=true', () => {
    expect(resolveConfig({ env: { LLM_MONITOR_DEMO: 'true' }, flags: { demo: false } }).demo).toBe(false);
  });

  it('treats an empty environment variable as unset', () => {
    expect(resolveConfig({ env: { LLM_MONITOR_DEMO: '', LLM_MONITOR_PORT: '' } })).toMatchObject({ demo: false, port: 8000 });
  });

  it('keeps the demo rate within 0.01 to 1000 per second', () => {
    expect(resolveConfig({ flags: { 'demo-rate': '0.5' } }).demoRate).toBe(0.5);
    expect(() => resolveConfig({ flags: { 'demo-rate': '0.0000001' } })).toThrow(/expected a number from 0.01 to 1000/);
    expect(() => resolveConfig({ flags: { 'demo-rate': '5000' } })).toThrow(/demo_rate/);
  });
});

describe('model_prices', () => {
  it('reads model=input/output prices from a YAML list or a comma-separated variable', () => {
    const file = configFile('model_prices:\n  - gpt-4o-mini=0.15/0.6\n  - "org/model=v2 = 1 / 2.5"\n');
    expect(resolveConfig({ configFile: file }).modelPrices).toEqual(['gpt-4o-mini=0.15/0.6', 'org/model=v2 = 1 / 2.5']);
    expect(parseModelPrices(['gpt-4o-mini=0.15/0.6', 'org/model=v2 = 1 / 2.5'])).toEqual({
      'gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6 },
      'org/model=v2': { input_per_million: 1, output_per_million: 2.5 },
    });
    expect(resolveConfig({ env: { LLM_MONITOR_MODEL_PRICES: 'a=1/2,b=3/4' } }).modelPrices).toEqual(['a=1/2', 'b=3/4']);
  });

  it('refuses a malformed price, naming the setting and the expected form', () => {
    expect(() => resolveConfig({ flags: { 'model-prices': 'gpt-4o=cheap' } })).toThrow(
      /model-prices.*"gpt-4o=cheap" is not a price \(expected model=input\/output/,
    );
    expect(() => parseModelPrices(['=1/2'])).toThrow(LlmMonitorError);
  });

  it('refuses a price no cost can be computed with (past a million dollars, or past what a double holds)', () => {
    expect(() => parseModelPrices(['m=2000000/1'])).toThrow(/above 1000000 USD per million tokens/);
    expect(() => parseModelPrices([`m=1/${'9'.repeat(400)}`])).toThrow(LlmMonitorError);
  });

  it('keeps a model named like an Object member as an entry of its own', () => {
    const prices = parseModelPrices(['__proto__=1/2', 'constructor=3/4']);
    expect(Object.keys(prices)).toEqual(['__proto__', 'constructor']);
    expect(prices['__proto__']).toEqual({ input_per_million: 1, output_per_million: 2 });
  });
});
