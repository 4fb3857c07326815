/**
 * Says once, loudly, when exports go to the wrong place. The usual first mistake is pointing the
 * exporter at the receiver's API port (8000) instead of its OTLP port (4318): every export then fails
 * with a 404 that the OpenTelemetry SDK reports only to a diagnostic logger most applications never
 * set, so the monitor stays empty with no word why.
 */
import { diag } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The SDK's export result (from `@opentelemetry/core`, which is not a dependency of ours). */
type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** Code of the process warning for an endpoint that is not an OTLP traces endpoint. */
export const WRONG_ENDPOINT_WARNING = 'LLMMON_WRONG_ENDPOINT';

/** Code of the process warning for a receiver that refuses the exports for want of a valid ingest token (HTTP 401). */
export const UNAUTHENTICATED_WARNING = 'LLMMON_INGEST_UNAUTHENTICATED';

/** HTTP statuses that mean "no OTLP traces endpoint here" rather than "try again later". */
const NOT_AN_OTLP_ENDPOINT: ReadonlySet<number> = new Set([404, 405, 415]);

/** Network errors that mean "nothing listens there". */
const UNREACHABLE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The `message` of a JSON error body (`google.rpc.Status` or the receiver's API errors), if any. */
function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'string' || body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return body.slice(0, 200);
  }
}

/** Options of {@link diagnoseEndpoint}. */
export interface EndpointDiagnosticsOptions {
  /** Where `emitWarning` goes (default `process.emitWarning`); tests collect the warnings. */
  readonly emitWarning?: (message: string, options: { code: string }) => void;
  /**
   * Whether the exports carry an `Authorization` header, so that a 401 is reported as a token the
   * receiver refused rather than a missing one (default `false`).
   */
  readonly authorizationSent?: boolean;
}

/**
 * Wraps `exporter` so that the first failed export whose cause is a wrong endpoint (an HTTP 404, 405 or
 * 415), and the first refused for want of an ingest token (HTTP 401), are reported through `diag.error`
 * and as a process warning ({@link WRONG_ENDPOINT_WARNING}, {@link UNAUTHENTICATED_WARNING}), and the
 * first export that finds nothing listening through `diag.warn`. Each is said once per exporter; every
 * result is passed on unchanged. No report repeats a header or a token.
 */
export function diagnoseEndpoint(exporter: SpanExporter, url: string, options: EndpointDiagnosticsOptions = {}): SpanExporter {
  const said = new Set<'wrong' | 'unauthenticated' | 'unreachable'>();
  const emitWarning = options.emitWarning ?? ((message, warning) => process.emitWarning(message, warning));
  const report = (message: string, code: string): void => {
    diag.error(message);
    try {
      emitWarning(message, { code });
    } catch {
      // A warning listener that throws must not reach the application's export path.
    }
  };
  const inspect = (result: ExportResult): void => {
    const error = result.error as (Error & { code?: unknown; data?: unknown }) | undefined;
    if (result.code === 0 || !error) return;
    if (error.code === 401 && !said.has('unauthenticated')) {
      said.add('unauthenticated');
      const which = options.authorizationSent ? 'it refused the token sent' : 'none was sent';
      report(
        `llm-monitor: ${url} answered HTTP 401: the receiver requires an ingest token (one of its ingest_tokens), and ${which}. ` +
          'No span reaches the monitor until setupLlmMonitor is given one: the `token` option, or the LLM_MONITOR_INGEST_TOKEN environment variable',
        UNAUTHENTICATED_WARNING,
      );
    } else if (typeof error.code === 'number' && NOT_AN_OTLP_ENDPOINT.has(error.code) && !said.has('wrong')) {
      said.add('wrong');
      const answer = messageOf(error.data);
      // The receiver's own 404 on its API port already names the right URL: then it says it best.
      const advice = answer?.includes('OTLP')
        ? answer
        : 'it is not an OTLP traces endpoint. The llm-monitor receiver takes OTLP on its OTLP port (default 4318, path /v1/traces), not on its API port (default 8000)';
      const message =
        `llm-monitor: ${url} answered HTTP ${error.code}: ${advice}. No span reaches the monitor until ` +
        "`endpoint` (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is the receiver's OTLP traces URL, e.g. http://127.0.0.1:4318/v1/traces";
      report(message, WRONG_ENDPOINT_WARNING);
    } else if (typeof error.code === 'string' && UNREACHABLE.has(error.code) && !said.has('unreachable')) {
      said.add('unreachable');
      diag.warn(`llm-monitor: cannot reach ${url} (${error.code}): is the receiver running? Spans are dropped until it answers.`);
    }
  };
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      exporter.export(spans, (result) => {
        inspect(result);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush!() } : {}),
  };
}
