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

/** Answers unknown routes and every thrown error with {@link ApiErrorBody}. */
export function installApiErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const error = new LlmMonitorError('LLMMON_ERR_ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url}`);
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
