import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LlmMonitorError } from '../errors.js';

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
      request.log.error({ err: error }, 'unexpected error');
      failure = new LlmMonitorError('LLMMON_ERR_INTERNAL', 'internal error');
    }
    void reply.code(failure.statusCode).send(body(failure));
  });
}
