/**
 * The OTLP/HTTP traces endpoint, `POST /v1/traces`, as a fastify plugin. Fastify's defaults do not
 * fit OTLP (1 MiB body limit, no protobuf parser, no gzip), so this plugin takes raw bodies,
 * decompresses them within the size limit and decodes them itself.
 */
import type { Socket } from 'node:net';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpanRecord } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import { answerRawJson, parserErrorMessage, parserErrorStatus } from '../raw-http-answer.js';
import { decodeTraceRequestJsonSteps, OtlpJsonError } from './decode-json.js';
import { decodeTraceRequestProtobufSteps } from './decode-protobuf.js';
import { parseJsonRequestSteps } from './json-slices.js';
import { rejectSpan } from './decoded-traces.js';
import type { DecodedTraces } from './decoded-traces.js';
import { encodeExportResponse, encodeStatus, GRPC_CODE, OTLP_MEDIA_TYPE } from './encode-response.js';
import type { OtlpEncoding } from './encode-response.js';
import { ProtobufError } from './protobuf-reader.js';
import { IngestAdmission } from './ingest-admission.js';
import { SlicedWork } from './sliced-work.js';
import type { Steps } from './sliced-work.js';

const gunzipAsync = promisify(gunzip);

/** Path of the OTLP/HTTP traces endpoint. */
export const OTLP_TRACES_PATH = '/v1/traces';

/** Options of {@link otlpIngestPlugin}. */
export interface OtlpIngestOptions {
  /**
   * Checks the request's `Authorization` header before anything else; throws
   * `LLMMON_ERR_UNAUTHENTICATED` to refuse it (none: ingest is open).
   */
  readonly authorize?: (authorization: string | undefined) => void;
  /** Largest body accepted, in bytes after decompression. */
  readonly maxBodyBytes: number;
  /**
   * Milliseconds an upload may go without a byte before its connection is cut and its admission
   * slot freed (default: no limit beyond the request timeout).
   */
  readonly bodyIdleMs?: number;
  /** Most requests received, decompressed and decoded at once; more get 429 with `Retry-After`. */
  readonly maxConcurrentRequests: number;
  /** True once the receiver is shutting down: new requests get 503 with `Retry-After`. */
  readonly isClosing: () => boolean;
  /**
   * Takes the usable spans of every accepted request, in steps (a generator that yields between
   * slices of work); returns how many of them it could not use after all, reported as rejected.
   */
  readonly ingest: (spans: SpanRecord[]) => Steps<SpanRefusals | void>;
  /**
   * Resolves once what the ingest changed is durable; the request is answered after it (and with
   * 503 when it rejects). Without one, a request is answered as soon as it is ingested.
   */
  readonly commit?: () => Promise<void>;
  /** False while the store cannot take writes: requests are refused with 503 before being read. */
  readonly storeAvailable?: () => boolean;
  /** Admission shared with the other transports (default: one of its own, from the options above). */
  readonly admission?: IngestAdmission;
  /** Runs each request's decoding and ingest in slices (default: a scheduler of its own). */
  readonly work?: SlicedWork;
  /** Receives every accepted request body as it came (for forwarding it unchanged). */
  readonly onAccepted?: (body: Buffer, contentType: string, contentEncoding: string | undefined) => void;
  /** Told what every request came to, for the receiver's self-metrics. */
  readonly observer?: OtlpIngestObserver;
}

/** Spans of an accepted request that could not be used after all, by reason. */
export interface SpanRefusals {
  /** Their session had already left the store (retention or capacity). */
  readonly tooLate: number;
  /** Their trace already held `max_spans_per_trace` spans and markers. */
  readonly traceFull: number;
}

/** What the ingest endpoint reports about its traffic (the receiver turns it into self-metrics). */
export interface OtlpIngestObserver {
  /** A request was read and decompressed: its body size before decompression, in bytes. */
  requestRead(encoding: OtlpEncoding, bodyBytes: number): void;
  /** A request was accepted: spans it carried, and how many were refused as invalid, too late, or for a full trace. */
  requestAccepted(received: number, refusedInvalid: number, refusedTooLate: number, refusedTraceFull: number): void;
  /** A request was refused as a whole, with its catalogue code. */
  requestRefused(code: string, encoding: OtlpEncoding | undefined): void;
}

/** The encoding a Content-Type asks for, or `undefined` when OTLP/HTTP does not define it. */
export function encodingOfContentType(contentType: string | undefined): OtlpEncoding | undefined {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf') return 'protobuf';
  if (mediaType === 'application/json') return 'json';
  return undefined;
}

/** Seconds a client is asked to wait before retrying, by status. */
const RETRY_AFTER_SECONDS: Readonly<Record<number, number>> = { 429: 1, 503: 5 };

function grpcCodeOf(statusCode: number): number {
  if (statusCode === 401) return GRPC_CODE.unauthenticated;
  if (statusCode === 403) return GRPC_CODE.permissionDenied;
  if (statusCode === 429) return GRPC_CODE.resourceExhausted;
  if (statusCode === 503) return GRPC_CODE.unavailable;
  if (statusCode >= 500) return GRPC_CODE.internal;
  return GRPC_CODE.invalidArgument;
}

/** Maps fastify's own errors onto the catalogue so every answer has an LLMMON code. */
function toCatalogueError(error: FastifyError | LlmMonitorError): LlmMonitorError {
  if (error instanceof LlmMonitorError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new LlmMonitorError('LLMMON_ERR_PAYLOAD_TOO_LARGE', 'request body exceeds otlp_max_body_bytes');
  }
  if (error.statusCode !== undefined && error.statusCode < 500) {
    return new LlmMonitorError('LLMMON_ERR_MALFORMED_OTLP', error.message);
  }
  return new LlmMonitorError('LLMMON_ERR_INTERNAL', 'internal error while receiving spans', { cause: error });
}

async function decompress(request: FastifyRequest, body: Buffer, maxBodyBytes: number): Promise<Buffer> {
  const contentEncoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (contentEncoding === 'identity') return body;
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBodyBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new LlmMonitorError('LLMMON_ERR_PAYLOAD_TOO_LARGE', `decompressed body exceeds ${maxBodyBytes} bytes`);
    }
    throw new LlmMonitorError('LLMMON_ERR_MALFORMED_OTLP', `body is not valid gzip: ${(error as Error).message}`);
  }
}

/** Decodes a body in steps; a body that is no export request throws `LLMMON_ERR_MALFORMED_OTLP`. */
function* decodeSteps(encoding: OtlpEncoding, body: Buffer): Steps<DecodedTraces> {
  try {
    if (encoding === 'protobuf') return yield* decodeTraceRequestProtobufSteps(body);
    return yield* decodeTraceRequestJsonSteps(yield* parseJsonRequestSteps(body.toString('utf8')));
  } catch (error) {
    // RangeError: a body nested deeper than the stack (JSON.parse itself can hit it).
    if (error instanceof ProtobufError || error instanceof OtlpJsonError || error instanceof SyntaxError || error instanceof RangeError) {
      throw new LlmMonitorError('LLMMON_ERR_MALFORMED_OTLP', `cannot decode ${encoding} ExportTraceServiceRequest: ${error.message}`);
    }
    throw error;
  }
}

/** Decodes and ingests one request, in steps. */
function* requestSteps(
  encoding: OtlpEncoding,
  body: Buffer,
  ingest: OtlpIngestOptions['ingest'],
): Steps<{ decoded: DecodedTraces; refusals: SpanRefusals }> {
  const decoded = yield* decodeSteps(encoding, body);
  const refusals = decoded.spans.length > 0 ? ((yield* ingest(decoded.spans)) ?? NO_REFUSALS) : NO_REFUSALS;
  return { decoded, refusals };
}

const NO_REFUSALS: SpanRefusals = { tooLate: 0, traceFull: 0 };

/** What an accepted export request comes to: the spans refused, and why, for its partial success. */
export interface ExportOutcome {
  readonly rejected: number;
  readonly errorMessage: string;
}

/**
 * One export request's body (decompressed), whatever transport brought it: decoded and ingested in
 * slices, then committed. Resolves once what it changed is durable; a request refused as a whole
 * throws its catalogue error (`LLMMON_ERR_MALFORMED_OTLP`, or the commit's failure).
 */
export async function exportRequest(
  encoding: OtlpEncoding,
  body: Buffer,
  options: Pick<OtlpIngestOptions, 'ingest' | 'commit' | 'observer'>,
  work: SlicedWork,
): Promise<ExportOutcome> {
  const { decoded, refusals } = await work.run(requestSteps(encoding, body, options.ingest));
  // Acknowledged only once stored: a failed commit answers 503 (UNAVAILABLE) and the sender
  // retries (the builder merges the repeated spans).
  if (options.commit) await options.commit();
  const invalid = decoded.rejected;
  if (refusals.tooLate > 0)
    rejectSpan(decoded, 'session already ended or removed (release_spans_after_seconds, retention)', refusals.tooLate);
  if (refusals.traceFull > 0) rejectSpan(decoded, 'trace already holds max_spans_per_trace spans', refusals.traceFull);
  options.observer?.requestAccepted(decoded.spans.length + invalid, invalid, refusals.tooLate, refusals.traceFull);
  const errorMessage = decoded.rejected > 0 ? `rejected ${decoded.rejected} span(s): ${decoded.rejectReasons.join('; ')}` : '';
  return { rejected: decoded.rejected, errorMessage };
}

/** Registers `POST /v1/traces` on an instance of its own (it replaces the content-type parsers). */
export async function otlpIngestPlugin(app: FastifyInstance, options: OtlpIngestOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBodyBytes }, (_request, body, done) => {
    done(null, body);
  });

  const work = options.work ?? new SlicedWork();

  app.setErrorHandler((error: FastifyError | LlmMonitorError, request, reply) => {
    const failure = toCatalogueError(error);
    // 503s (shutting down, store unavailable) are said once where they arise, not per request.
    if (failure.statusCode >= 500 && failure.statusCode !== 503) request.log.error({ err: error }, failure.message);
    else request.log.debug({ code: failure.code }, failure.message);
    options.observer?.requestRefused(failure.code, encodingOfContentType(request.headers['content-type']));
    sendStatus(request, reply, failure);
  });

  // Admission in two stages (see ingest-admission.ts): an upload slot, bounded in all and per client
  // address, before anything is read; a processing slot once the body is complete.
  const admission =
    options.admission ??
    new IngestAdmission({
      maxConcurrentRequests: options.maxConcurrentRequests,
      isClosing: options.isClosing,
      ...(options.storeAvailable ? { storeAvailable: options.storeAvailable } : {}),
    });
  const uploadReleases = new WeakMap<FastifyRequest, () => void>();

  // Checked before the body is parsed; a refused request's body is only read to be discarded, and
  // its connection is closed, so a client cannot keep a refused upload going.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== OTLP_TRACES_PATH) return;
    // Before admission: a sender without a token must not hold a slot, nor have its body read.
    options.authorize?.(request.headers.authorization);
    const releaseUpload = admission.enterUpload(request.ip);
    uploadReleases.set(request, releaseUpload);
    // 'close' fires once however the exchange ends — answered, aborted mid-upload, or dropped by a
    // client that gave up waiting — so the slot always comes back.
    reply.raw.once('close', releaseUpload);
    if (options.bodyIdleMs !== undefined) watchUpload(request, reply, options.bodyIdleMs);
    if (!encodingOfContentType(request.headers['content-type'])) {
      throw new LlmMonitorError(
        'LLMMON_ERR_UNSUPPORTED_MEDIA_TYPE',
        `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`,
      );
    }
    const contentEncoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
      throw new LlmMonitorError(
        'LLMMON_ERR_UNSUPPORTED_ENCODING',
        `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: use gzip or none`,
      );
    }
  });

  // The body is complete: its upload slot goes back and a processing slot is taken.
  app.addHook('preValidation', async (request, reply) => {
    const releaseUpload = uploadReleases.get(request);
    if (!releaseUpload) return;
    releaseUpload();
    reply.raw.once('close', admission.enter(true));
  });

  app.post(OTLP_TRACES_PATH, async (request, reply) => {
    const encoding = encodingOfContentType(request.headers['content-type'])!;
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const body = await decompress(request, raw, options.maxBodyBytes);
    options.observer?.requestRead(encoding, raw.length);
    const { rejected, errorMessage } = await exportRequest(encoding, body, options, work);
    options.onAccepted?.(raw, request.headers['content-type'] ?? OTLP_MEDIA_TYPE[encoding], request.headers['content-encoding']);
    reply.code(200).type(responseMediaType(request, encoding));
    return encodeExportResponse(encoding, rejected, errorMessage);
  });
}

/**
 * Cuts off an upload that stalls: a connection that sent its headers and then holds back its body
 * would keep an admission slot for the whole request timeout, and a handful of them would starve
 * every exporter. Progress is read from the socket's byte count: Node's HTTP server reads sockets
 * in C++ (no 'data' events to listen to), and a listener on the request stream would race
 * fastify's own reader. The watch ends when the body is complete or the exchange is over.
 */
function watchUpload(request: FastifyRequest, reply: FastifyReply, idleMs: number): void {
  const socket = request.raw.socket;
  let bytesRead = socket.bytesRead;
  let lastProgressAt = Date.now();
  const stop = (): void => clearInterval(timer);
  const timer = setInterval(
    () => {
      const now = Date.now();
      if (socket.bytesRead !== bytesRead) {
        bytesRead = socket.bytesRead;
        lastProgressAt = now;
        return;
      }
      if (now - lastProgressAt < idleMs) return;
      stop();
      request.log.debug(`upload stalled for ${idleMs} ms: connection cut`);
      socket.destroy();
    },
    Math.max(50, Math.min(1000, idleMs / 4)),
  );
  timer.unref();
  request.raw.once('end', stop);
  reply.raw.once('close', stop);
}

/**
 * Fastify's `clientErrorHandler` for the OTLP server: a request Node's HTTP parser could not read
 * gets a `google.rpc.Status` (JSON: the content type was never read) with a catalogue code.
 */
export function otlpClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // The JSON encoding of a status is text.
  answerRawJson(
    socket,
    parserErrorStatus(error),
    encodeStatus('json', GRPC_CODE.invalidArgument, `LLMMON_ERR_MALFORMED_OTLP: ${parserErrorMessage(error)}`) as string,
  );
}

/**
 * Fastify's `frameworkErrors` hook for the OTLP server: errors raised before routing (a malformed
 * URL, for one) still get a `google.rpc.Status` with a catalogue code.
 */
export function otlpFrameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendStatus(request, reply, new LlmMonitorError('LLMMON_ERR_MALFORMED_OTLP', error.message));
}

/** The response's media type: the request's own (`application/protobuf` stays so), as the specification asks. */
function responseMediaType(request: FastifyRequest, encoding: OtlpEncoding): string {
  const requested = request.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  return requested && encodingOfContentType(requested) === encoding ? requested : OTLP_MEDIA_TYPE[encoding];
}

/** How long the rest of a refused upload is still read, and discarded, after its answer (see {@link lingerOnRefusedUpload}). */
const REFUSED_UPLOAD_LINGER_MS = 2000;

/**
 * A lingering close, as web servers make one: a connection closed while its client is still
 * sending is reset by the kernel (unread bytes in the receive buffer), and the reset often reaches
 * the client before our answer, which it then never reads — measured: 132 of 300 oversized
 * uploads ended in `EPIPE` instead of 413. An exporter treats that as a network error and retries
 * the same refused body, where a 413, 401 or 415 would make it give up. So the rest of the body is
 * read and discarded after the answer (the connection then stays usable), for at most
 * {@link REFUSED_UPLOAD_LINGER_MS}; an upload still going then is cut.
 */
function lingerOnRefusedUpload(request: FastifyRequest, reply: FastifyReply): void {
  const incoming = request.raw;
  if (incoming.complete) return;
  // Fastify asks for a close on every body it could not parse; the linger replaces it.
  void reply.removeHeader('connection');
  reply.raw.once('finish', () => {
    if (incoming.complete) return;
    const timer = setTimeout(() => incoming.socket?.destroy(), REFUSED_UPLOAD_LINGER_MS);
    timer.unref();
    const stop = (): void => clearTimeout(timer);
    incoming.once('end', stop);
    incoming.once('close', stop);
    incoming.resume();
  });
}

function sendStatus(request: FastifyRequest, reply: FastifyReply, failure: LlmMonitorError): void {
  const encoding = encodingOfContentType(request.headers['content-type']) ?? 'json';
  const retryAfter = RETRY_AFTER_SECONDS[failure.statusCode];
  // OTLP clients retry 429 and 503, honouring Retry-After.
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  if (failure.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="llm-monitor"');
  // Refused for load before the body was read: close the connection rather than read an upload we
  // refuse. A refusal the client must see to stop retrying (a wrong token, a body too large, an
  // unknown type) is answered with a lingering close instead.
  if (retryAfter !== undefined) void reply.header('connection', 'close');
  else if (failure.statusCode === 401 || failure.statusCode === 413 || failure.statusCode === 415) lingerOnRefusedUpload(request, reply);
  void reply
    .code(failure.statusCode)
    .type(responseMediaType(request, encoding))
    .send(encodeStatus(encoding, grpcCodeOf(failure.statusCode), `${failure.code}: ${failure.message}`));
}
