/**
 * OTLP/gRPC ingest: the `opentelemetry.proto.collector.trace.v1.TraceService/Export` method on
 * `@grpc/grpc-js`. Most non-JavaScript SDKs default to gRPC, and the Collector's `loadbalancing`
 * exporter speaks nothing else. It shares everything but the transport with OTLP/HTTP: the same
 * protobuf decoder (the method hands us the message's bytes untouched), the same size limit (after
 * decompression, which grpc-js does for `grpc-encoding: gzip`), the same admission slots, the same
 * ingest and commit, and partial success in the same `ExportTraceServiceResponse`. Refusals use the
 * status codes the OTLP specification gives gRPC: RESOURCE_EXHAUSTED (overloaded) and UNAVAILABLE
 * (shutting down, store unavailable) with a `RetryInfo`, INVALID_ARGUMENT for what cannot be decoded.
 */
import { format } from 'node:util';
import { Metadata, Server, ServerCredentials, setLogger, status as GrpcStatus } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, StatusObject } from '@grpc/grpc-js';
import { LlmMonitorError } from '../errors.js';
import { encodeExportResponse, encodeStatusWithRetryInfo } from './encode-response.js';
import type { IngestAdmission } from './ingest-admission.js';
import { exportRequest } from './otlp-ingest.js';
import type { OtlpIngestOptions } from './otlp-ingest.js';
import type { SlicedWork } from './sliced-work.js';

/** The full name of the one method served. */
export const OTLP_GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** The identity (de)serialiser: messages stay bytes. */
export const passBytes = (bytes: Buffer): Buffer => bytes;

/**
 * The trace service, its messages left as bytes: our own decoder reads the request (the one OTLP/HTTP
 * uses), and our own encoder writes the response, so no generated code or .proto loading is needed.
 */
export const OTLP_TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: OTLP_GRPC_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
  },
};

/** Seconds a client is told to wait before retrying, by the HTTP status of the refusal. */
const RETRY_DELAY_SECONDS: Readonly<Record<number, number>> = { 429: 1, 503: 5 };

/** Options of {@link OtlpGrpcServer}. */
export interface OtlpGrpcOptions extends Pick<OtlpIngestOptions, 'ingest' | 'commit' | 'observer' | 'authorize'> {
  /** Largest message accepted, in bytes after decompression (`otlp_max_body_bytes`). */
  readonly maxBodyBytes: number;
  /** The admission slots OTLP/HTTP uses too. */
  readonly admission: IngestAdmission;
  /** Most calls in progress on one connection (`otlp_max_concurrent_requests`). */
  readonly maxConcurrentStreams: number;
  /** The scheduler OTLP/HTTP's requests run in, so both share the event loop fairly. */
  readonly work: SlicedWork;
  /** Receives every accepted request as OTLP/HTTP protobuf bytes (for forwarding). */
  readonly onAccepted?: (body: Buffer, contentType: string, contentEncoding: string | undefined) => void;
  /** Told about failures that are ours, not the client's. */
  readonly onInternalError?: (error: unknown) => void;
  /**
   * Where grpc-js's own log lines go (default: stderr, as grpc-js prints them). The receiver passes its
   * debug log: what grpc-js says (a failed bind, a dropped connection) the receiver says better itself.
   */
  readonly log?: (line: string) => void;
}

/** A refusal as the gRPC status the OTLP specification asks for. */
export function grpcStatusOf(failure: LlmMonitorError): Partial<StatusObject> {
  const details = `${failure.code}: ${failure.message}`;
  const retryDelay = RETRY_DELAY_SECONDS[failure.statusCode];
  if (retryDelay !== undefined) {
    const code = failure.statusCode === 429 ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.UNAVAILABLE;
    const metadata = new Metadata();
    // The RetryInfo is what makes RESOURCE_EXHAUSTED retryable under the specification.
    metadata.set('grpc-status-details-bin', encodeStatusWithRetryInfo(code, details, retryDelay));
    return { code, details, metadata };
  }
  if (failure.statusCode === 401) return { code: GrpcStatus.UNAUTHENTICATED, details };
  if (failure.statusCode >= 500) return { code: GrpcStatus.INTERNAL, details };
  return { code: GrpcStatus.INVALID_ARGUMENT, details };
}

/** The OTLP/gRPC server. */
export class OtlpGrpcServer {
  readonly #server: Server;
  readonly #options: OtlpGrpcOptions;
  #port: number | undefined;

  constructor(options: OtlpGrpcOptions) {
    this.#options = options;
    if (options.log) {
      const log = options.log;
      // grpc-js has one logger per process: the last receiver built in it names where its lines go.
      setLogger({
        error: (...args: unknown[]) => log(format(...args)),
        info: (...args: unknown[]) => log(format(...args)),
        debug: (...args: unknown[]) => log(format(...args)),
      });
    }
    this.#server = new Server({
      'grpc.max_receive_message_length': options.maxBodyBytes,
      // grpc-js reads a whole message before the method runs, so admission comes after the bytes:
      // at most this many messages are read at once on one connection, as many as may be ingested.
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
      // Connections that carry nothing are closed, as the OTLP/HTTP server's connection timeout does.
      'grpc.max_connection_idle_ms': 5 * 60_000,
    });
    this.#server.addService(OTLP_TRACE_SERVICE, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        this.#export(call, callback).catch((error: unknown) => {
          options.onInternalError?.(error);
          callback({ code: GrpcStatus.INTERNAL, details: 'LLMMON_ERR_INTERNAL: internal error while receiving spans' });
        });
      },
    });
  }

  /** The port bound by {@link listen}, once listening. */
  get port(): number | undefined {
    return this.#port;
  }

  async #export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    let release: (() => void) | undefined;
    try {
      const authorization = call.metadata.get('authorization')[0];
      this.#options.authorize?.(typeof authorization === 'string' ? authorization : undefined);
      release = this.#options.admission.enter();
      const body = call.request;
      // grpc-js hands over the message decompressed: its size on the wire is not known here.
      this.#options.observer?.requestRead('protobuf', body.length);
      const { rejected, errorMessage } = await exportRequest('protobuf', body, this.#options, this.#options.work);
      this.#options.onAccepted?.(body, 'application/x-protobuf', undefined);
      callback(null, encodeExportResponse('protobuf', rejected, errorMessage) as Buffer);
    } catch (error) {
      if (!(error instanceof LlmMonitorError)) throw error;
      this.#options.observer?.requestRefused(error.code, 'protobuf');
      callback(grpcStatusOf(error));
    } finally {
      release?.();
    }
  }

  /** Starts listening on `host:port`; resolves with the port bound (`port` 0 picks a free one). */
  async listen(host: string, port: number): Promise<number> {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => {
        if (error) {
          // grpc-js folds the socket's error into its message: give it back its code, so the
          // caller can say "port in use" as it does for the other servers.
          const code = /\b(EADDRINUSE|EACCES|EPERM|EADDRNOTAVAIL|ENOTFOUND)\b/.exec(error.message)?.[1];
          reject(Object.assign(error, code ? { code } : {}));
        } else resolve(bound);
      });
    });
    return this.#port;
  }

  /** Stops taking calls; waits up to `graceMs` for calls in progress, then cuts them off. */
  async close(graceMs: number): Promise<void> {
    if (this.#port === undefined) {
      this.#server.forceShutdown();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
