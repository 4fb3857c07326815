/**
 * `setupLlmMonitor()`: one call that builds a tracer provider exporting OTLP/HTTP protobuf to the
 * receiver through the {@link LiveSpanProcessor}, and a monitor that uses it. This package carries the
 * OpenTelemetry SDK; `@llm-monitor/instrumentation` needs only the API.
 */
import { diag, trace } from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import type { LlmMonitor, LlmMonitorOptions } from '@llm-monitor/instrumentation';
import { ensureContextManager } from './context-manager.js';
import { diagnoseEndpoint } from './endpoint-diagnostics.js';
import { LiveSpanProcessor } from './live-span-processor.js';
import type { LiveSpanProcessorOptions } from './live-span-processor.js';

/** The receiver's OTLP/HTTP traces endpoint on this machine. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';

/** Options of {@link setupLlmMonitor}. */
export interface SetupOptions extends Omit<LlmMonitorOptions, 'tracerProvider' | 'live'> {
  /**
   * OTLP/HTTP traces URL (default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`
   * + `/v1/traces`, else `http://127.0.0.1:4318/v1/traces`). An unusable URL is reported to `diag`, and
   * spans are then dropped: it never throws into the application.
   */
  readonly endpoint?: string;
  /**
   * Extra HTTP headers of every export. The exporter also sends those of `OTEL_EXPORTER_OTLP_HEADERS`
   * and `OTEL_EXPORTER_OTLP_TRACES_HEADERS`; these win over them, name by name.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * An ingest token of the receiver (one of its `ingest_tokens`, `LLM_MONITOR_INGEST_TOKENS`), sent
   * as `Authorization: Bearer <token>` with every export (default: `LLM_MONITOR_INGEST_TOKEN`; an
   * empty string sends none). An `Authorization` in `headers` wins over it; the token from the
   * environment also yields to an `Authorization` in `OTEL_EXPORTER_OTLP_HEADERS` or
   * `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, whose other headers are sent either way. A receiver that
   * refuses the token (HTTP 401) is reported once, as with a wrong endpoint. Not used with `exporter`.
   */
  readonly token?: string;
  /** `service.name` of the application (default `OTEL_SERVICE_NAME`, else `llm-app`); `OTEL_RESOURCE_ATTRIBUTES` is read too. */
  readonly serviceName?: string;
  /** More resource attributes (`deployment.environment.name`, `service.version`, …). */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Tuning of the live processor. Its `exportTimeoutMs` is also the OTLP exporter's timeout, retries
   * included, so that an export the processor gave up on stops too (without it, the exporter keeps
   * `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s).
   */
  readonly processor?: LiveSpanProcessorOptions;
  /** Use this exporter instead of OTLP/HTTP protobuf (tests, other transports). */
  readonly exporter?: SpanExporter;
  /** Also register the provider as the global one (default `false`: your app's own setup stays in charge). */
  readonly registerGlobal?: boolean;
  /**
   * Register OpenTelemetry's AsyncLocalStorage context manager when none is registered yet (default
   * `true`), so the application's own spans nest under the spans of `chainStep`, `selectModel`, …
   */
  readonly registerContextManager?: boolean;
  /** Export what waits when the event loop empties (`beforeExit`) (default `true`). */
  readonly flushOnExit?: boolean;
}

/** What {@link setupLlmMonitor} built. */
export interface LlmMonitorSetup {
  readonly monitor: LlmMonitor;
  readonly tracerProvider: TracerProvider;
  readonly processor: LiveSpanProcessor;
  /** Flushes what is waiting (bounded by the export timeout) and stops exporting. */
  shutdown(): Promise<void>;
}

function environment(name: string): string | undefined {
  return typeof process === 'object' ? process.env?.[name] || undefined : undefined;
}

/** The traces endpoint: the option, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, or the local receiver. */
function tracesEndpoint(option: string | undefined): string {
  if (option) return option;
  const traces = environment('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces) return traces;
  const base = environment('OTEL_EXPORTER_OTLP_ENDPOINT');
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : DEFAULT_ENDPOINT;
}

/** The environment variable whose ingest token {@link SetupOptions.token} defaults to. */
const INGEST_TOKEN_VARIABLE = 'LLM_MONITOR_INGEST_TOKEN';

const isAuthorization = (name: string): boolean => name.toLowerCase() === 'authorization';

/**
 * The name under which `OTEL_EXPORTER_OTLP_TRACES_HEADERS` or `OTEL_EXPORTER_OTLP_HEADERS` carries an
 * `Authorization` (`name=value,…`, percent-encoded, as the exporter reads them), if one does.
 */
function environmentAuthorizationName(): string | undefined {
  for (const variable of ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS']) {
    for (const entry of (environment(variable) ?? '').split(',')) {
      const pair = entry.split(';')[0] ?? '';
      const at = pair.indexOf('=');
      if (at <= 0 || pair.slice(at + 1).trim() === '') continue;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, at).trim());
      } catch {
        continue;
      }
      if (isAuthorization(name)) return name;
    }
  }
  return undefined;
}

/**
 * The headers the exporter is given: `headers`, and `Authorization: Bearer <token>` from `token` or
 * `LLM_MONITOR_INGEST_TOKEN` unless `headers` has one, or, for the environment's token, unless the
 * OTLP header variables have one. The exporter adds the variables' headers under these.
 */
function exportHeaders(options: SetupOptions): { headers: Record<string, string>; authorization: boolean } {
  const headers: Record<string, string> = { ...options.headers };
  const environmentName = environmentAuthorizationName();
  if (Object.keys(headers).some(isAuthorization)) return { headers, authorization: true };
  const token = options.token ?? environment(INGEST_TOKEN_VARIABLE);
  if (!token || (options.token === undefined && environmentName !== undefined)) {
    return { headers, authorization: environmentName !== undefined };
  }
  // Under the variable's own spelling, so that ours replaces it instead of travelling beside it.
  headers[environmentName ?? 'Authorization'] = `Bearer ${token}`;
  return { headers, authorization: true };
}

/** `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key2=value2`, values percent-encoded), as the SDK spec reads it. */
function environmentResource(): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of (environment('OTEL_RESOURCE_ATTRIBUTES') ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      attributes[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      diag.warn(`llm-monitor: ignoring the malformed OTEL_RESOURCE_ATTRIBUTES entry ${JSON.stringify(pair)}`);
    }
  }
  return attributes;
}

/** Stands in for an exporter that could not be built: every export fails, and is counted as failed. */
function unusableExporter(reason: string): SpanExporter {
  return {
    export: (_spans, done) => done({ code: 1, error: new Error(reason) }),
    shutdown: async () => undefined,
  };
}

function otlpExporter(options: SetupOptions): SpanExporter {
  const url = tracesEndpoint(options.endpoint);
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${url} is not an http(s) URL`);
    const { headers, authorization } = exportHeaders(options);
    // The exporter retries (429, 502, 503, 504, refused connections) within its own timeout, 10 s by
    // default: left longer than the processor's, an export the processor gave up on would go on
    // retrying, in parallel with the next ones, and a shutdown would wait for it. One timeout for both.
    const timeoutMs = options.processor?.exportTimeoutMs;
    const timeoutMillis = timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : undefined;
    return diagnoseEndpoint(new OTLPTraceExporter({ url, headers, timeoutMillis }), url, { authorizationSent: authorization });
  } catch (error) {
    // A misconfigured endpoint must not stop the application: monitoring reports it and sends nothing.
    diag.error(`llm-monitor: cannot export to ${JSON.stringify(url)}; spans will be dropped`, error);
    return unusableExporter(`no usable OTLP endpoint: ${String(url)}`);
  }
}

/** Builds a tracer provider with the live processor and the OTLP exporter, and a monitor on it. */
export function setupLlmMonitor(options: SetupOptions = {}): LlmMonitorSetup {
  const exporter = options.exporter ?? otlpExporter(options);
  const processor = new LiveSpanProcessor(exporter, options.processor);
  const tracerProvider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...environmentResource(),
      'service.name': options.serviceName ?? environment('OTEL_SERVICE_NAME') ?? environmentResource()['service.name'] ?? 'llm-app',
      ...options.resourceAttributes,
    }),
    spanProcessors: [processor],
  });
  if (options.registerGlobal) trace.setGlobalTracerProvider(tracerProvider);
  if (options.registerContextManager ?? true) ensureContextManager();
  let onExit: (() => void) | undefined;
  if ((options.flushOnExit ?? true) && typeof process === 'object' && typeof process.on === 'function') {
    // Runs when nothing else keeps the process alive: our timers are unref'd, so without this the
    // last spans of a short-lived script would be lost. An empty queue lets the process exit.
    onExit = () => {
      if (processor.stats().queuedSpans > 0) void processor.forceFlush();
    };
    process.on('beforeExit', onExit);
  }
  const {
    endpoint: _endpoint,
    headers: _headers,
    token: _token,
    serviceName: _serviceName,
    resourceAttributes: _resource,
    processor: _processor,
    exporter: _exporter,
    registerGlobal: _global,
    registerContextManager: _contextManager,
    flushOnExit: _flushOnExit,
    ...monitorOptions
  } = options;
  const monitor = createLlmMonitor({ ...monitorOptions, tracerProvider, live: processor });
  return {
    monitor,
    tracerProvider,
    processor,
    shutdown: async () => {
      if (onExit) process.off('beforeExit', onExit);
      await tracerProvider.shutdown();
    },
  };
}
