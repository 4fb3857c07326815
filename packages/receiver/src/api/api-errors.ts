import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LlmMonitorError } from '../errors.js';
import { answerRawJson, parserErrorMessage, parserErrorStatus } from '../raw-http-answer.js';

/** The JSON body of every API error: fastify's shape, with a catalogue code. */
export interface ApiErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** JSON schema of {@link ApiErrorBody}, for route responses and the OpenAPI document. */
export const apiErrorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

function body(error: LlmMonitorError): ApiErrorBody {
  return {
    statusCode: error.statusCode,
    code: error.code,
    error: STATUS_CODES[error.statusCode] ?? 'Error',
    message: error.message,
  };
}

/**
 * Fastify's `frameworkErrors` hook for the API: errors raised before routing (a malformed URL,
 * for one) get a catalogue code like every other answer.
 */
export function apiFrameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(400).send(body(new LlmMonitorError('LLMMON_ERR_BAD_PARAMETER', error.message)));
}

/**
 * A client error raised by fastify or a plugin (a body that is not JSON, a body too large, a path
 * that leaves the served folder) as the catalogue error it is: never an internal error.
 */
export function clientErrorOf(error: { statusCode?: number; status?: number; message: string }): LlmMonitorError | undefined {
  const status = error.statusCode ?? error.status;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (status) {
    case 403:
      return new LlmMonitorError('LLMMON_ERR_FORBIDDEN', error.message);
    case 404:
      return new LlmMonitorError('LLMMON_ERR_ROUTE_NOT_FOUND', error.message);
    case 413:
      return new LlmMonitorError('LLMMON_ERR_PAYLOAD_TOO_LARGE', error.message);
    case 415:
      return new LlmMonitorError('LLMMON_ERR_UNSUPPORTED_MEDIA_TYPE', error.message);
    default:
      return new LlmMonitorError('LLMMON_ERR_BAD_REQUEST', error.message);
  }
}

/**
 * Fastify's `clientErrorHandler` for the API: a request Node's HTTP parser could not read gets a
 * coded 400 (431 for headers too large) like every other answer, then the connection closes.
 */
export function apiClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const status = parserErrorStatus(error);
  const failure = new LlmMonitorError('LLMMON_ERR_BAD_REQUEST', parserErrorMessage(error));
  answerRawJson(socket, status, JSON.stringify({ ...body(failure), statusCode: status, error: STATUS_CODES[status] ?? 'Bad Request' }));
}

/** Where the OTLP/HTTP server is, for the API's answer to an exporter that came to the wrong port. */
export interface OtlpLocation {
  /** The interface the servers bind to (`host`). */
  readonly host: string;
  /** The OTLP port: the one bound once listening (`otlp_port` may be 0), else the configured one. */
  otlpPort(): number;
}

/** The paths of OTLP/HTTP's three signals; exporters post to them, nothing of the API lives there. */
const OTLP_SIGNAL_PATH = /^\/v1\/(traces|metrics|logs)\/?(?:\?|$)/;

/** Hosts that mean "every interface": no client can reach them by that name. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);

/**
 * The message for a request to an OTLP path on the API port, or `undefined` for any other path.
 * This is the mistake a newcomer makes first (the exporter pointed at the page's port 8000): the
 * answer names the OTLP URL to use instead. The host is the one the servers bind to; when they
 * bind to every interface, the host the client used to reach this one.
 */
function otlpOnApiPort(request: FastifyRequest, otlp: OtlpLocation): string | undefined {
  const signal = OTLP_SIGNAL_PATH.exec(request.url)?.[1];
  if (signal === undefined) return undefined;
  const host = WILDCARD_HOSTS.has(otlp.host) ? request.hostname || '127.0.0.1' : otlp.host.includes(':') ? `[${otlp.host}]` : otlp.host;
  const base = `http://${host}:${otlp.otlpPort()}`;
  const tracesOnly = signal === 'traces' ? '' : `; llm-monitor receives traces only, not ${signal}`;
  return `${request.method} ${request.url}: this is the llm-monitor API port (web monitor, REST API, /metrics), not its OTLP port; send OTLP to ${base}/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT=${base})${tracesOnly}`;
}

/**
 * Answers unknown routes and every thrown error with {@link ApiErrorBody}. With `otlp`, a request
 * to an OTLP path (`/v1/traces`, `/v1/metrics`, `/v1/logs`) is told where the OTLP port is.
 */
export function installApiErrorHandling(app: FastifyInstance, otlp?: OtlpLocation): void {
  app.setNotFoundHandler((request, reply) => {
    const wrongPort = otlp ? otlpOnApiPort(request, otlp) : undefined;
    const error = new LlmMonitorError('LLMMON_ERR_ROUTE_NOT_FOUND', wrongPort ?? `no route for ${request.method} ${request.url}`);
    void reply.code(404).send(body(error));
  });
  app.setErrorHandler((error: FastifyError | LlmMonitorError, request, reply) => {
    let failure: LlmMonitorError;
    if (error instanceof LlmMonitorError) failure = error;
    else if ('validation' in error && error.validation) {
      failure = new LlmMonitorError('LLMMON_ERR_BAD_PARAMETER', error.message);
    } else {
      const clientError = clientErrorOf(error);
      if (clientError) {
        request.log.debug({ code: clientError.code, err: error }, clientError.message);
        failure = clientError;
      } else {
        request.log.error({ code: 'LLMMON_ERR_INTERNAL', err: error }, 'unexpected error');
        failure = new LlmMonitorError('LLMMON_ERR_INTERNAL', 'internal error');
      }
    }
    void reply.code(failure.statusCode).send(body(failure));
  });
}
