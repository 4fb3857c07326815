/**
 * `@llm-monitor/instrumentation/setup`: one call that builds a tracer provider exporting OTLP/HTTP
 * protobuf to the receiver through the {@link LiveSpanProcessor}, and a monitor that uses it. It needs
 * the OpenTelemetry SDK packages (optional peer dependencies); the main entry needs only the API.
 */
import { trace } from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { LiveSpanProcessor } from './live-span-processor.js';
import type { LiveSpanProcessorOptions } from './live-span-processor.js';
import { createLlmMonitor } from './llm-monitor.js';
import type { LlmMonitor, LlmMonitorOptions } from './llm-monitor.js';

/** The receiver's OTLP/HTTP traces endpoint on this machine. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';

/** Options of {@link setupLlmMonitor}. */
export interface SetupOptions extends Omit<LlmMonitorOptions, 'tracerProvider' | 'live'> {
  /** OTLP/HTTP traces URL (default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `http://127.0.0.1:4318/v1/traces`). */
  readonly endpoint?: string;
  /** Extra HTTP headers, e.g. an authorization token. */
  readonly headers?: Readonly<Record<string, string>>;
  /** `service.name` of the application (default `OTEL_SERVICE_NAME`, else `llm-app`). */
  readonly serviceName?: string;
  /** More resource attributes (`deployment.environment.name`, `service.version`, …). */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /** Tuning of the live processor. */
  readonly processor?: LiveSpanProcessorOptions;
  /** Use this exporter instead of OTLP/HTTP protobuf (tests, other transports). */
  readonly exporter?: SpanExporter;
  /** Also register the provider as the global one (default `false`: your app's own setup stays in charge). */
  readonly registerGlobal?: boolean;
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

/** Builds a tracer provider with the live processor and the OTLP exporter, and a monitor on it. */
export function setupLlmMonitor(options: SetupOptions = {}): LlmMonitorSetup {
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({
      url: options.endpoint ?? environment('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? DEFAULT_ENDPOINT,
      headers: { ...options.headers },
    });
  const processor = new LiveSpanProcessor(exporter, options.processor);
  const tracerProvider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName ?? environment('OTEL_SERVICE_NAME') ?? 'llm-app',
      ...options.resourceAttributes,
    }),
    spanProcessors: [processor],
  });
  if (options.registerGlobal) trace.setGlobalTracerProvider(tracerProvider);
  const { endpoint: _endpoint, headers: _headers, serviceName: _serviceName, resourceAttributes: _resource, processor: _processor, exporter: _exporter, registerGlobal: _global, ...monitorOptions } = options;
  const monitor = createLlmMonitor({ ...monitorOptions, tracerProvider, live: processor });
  return { monitor, tracerProvider, processor, shutdown: () => tracerProvider.shutdown() };
}

export { LiveSpanProcessor } from './live-span-processor.js';
export type { LiveSpanProcessorOptions, LiveSpanProcessorStats } from './live-span-processor.js';
