/**
 * An application instrumented by a framework we did not write, as the framework tests run one: an
 * OpenTelemetry SDK (async-hooks context, a tracer provider registered globally, as these frameworks
 * expect) exporting OTLP/protobuf to a real receiver, and that receiver's REST answers read back.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { useReceiver } from './receiver.js';
import type { TestReceiver } from './receiver.js';

/** The application and the receiver it exports to. */
export interface TracedApp {
  readonly server: TestReceiver;
  /** The tracer provider (registered globally), available from `beforeAll` on. */
  readonly provider: BasicTracerProvider;
  /** A JSON answer of the receiver's API (asserted 200). */
  getJson<T>(path: string): Promise<T>;
  /** Exports what is pending, then reads back the one session of this service that appeared since the last call. */
  theNewSession(): Promise<ProcessingSession>;
}

/**
 * Starts a receiver and an application of `service` around the file's tests; the file's own hooks
 * (registering the framework's instrumentation) run after this setup and before its teardown.
 */
export function useTracedApp(service: string): TracedApp {
  const server = useReceiver();
  let provider: BasicTracerProvider | undefined;
  const seen = new Set<string>();

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: server.otlpTracesUrl }))],
    });
    trace.setGlobalTracerProvider(provider);
  });

  afterAll(async () => {
    await provider?.shutdown();
    trace.disable();
    context.disable();
  });

  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${server.apiUrl}${path}`);
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };

  return {
    server,
    get provider(): BasicTracerProvider {
      if (!provider) throw new Error('the traced app starts in beforeAll');
      return provider;
    },
    getJson,
    async theNewSession() {
      await provider!.forceFlush();
      const { sessions } = await getJson<{ sessions: ProcessingSession[] }>('/api/monitoring/sessions/recent?limit=100');
      const fresh = sessions.filter((session) => session.service_name === service && !seen.has(session.session_id));
      for (const session of fresh) seen.add(session.session_id);
      expect(fresh.map((session) => session.session_id)).toHaveLength(1);
      return getJson<ProcessingSession>(`/api/monitoring/sessions/${encodeURIComponent(fresh[0]!.session_id)}`);
    },
  };
}
