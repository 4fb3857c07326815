/**
 * Encodes the OTLP responses: `ExportTraceServiceResponse` (with partial success) on success, and
 * `google.rpc.Status` on failure, in protobuf or JSON to match the request.
 */

/** How an OTLP response body is encoded. */
export type OtlpEncoding = 'protobuf' | 'json';

/** Media type of each encoding. */
export const OTLP_MEDIA_TYPE: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(payload.length)]), payload]);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.from([(field << 3) | 0, ...varint(value)]);
}

/** An export response: empty on full success, with `partial_success` when spans were refused. */
export function encodeExportResponse(encoding: OtlpEncoding, rejectedSpans: number, errorMessage: string): Buffer | string {
  if (encoding === 'json') {
    return rejectedSpans > 0 || errorMessage
      ? JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } })
      : '{}';
  }
  if (rejectedSpans === 0 && !errorMessage) return Buffer.alloc(0);
  const partial = Buffer.concat([
    rejectedSpans > 0 ? varintField(1, rejectedSpans) : Buffer.alloc(0),
    errorMessage ? lengthDelimited(2, Buffer.from(errorMessage, 'utf8')) : Buffer.alloc(0),
  ]);
  return lengthDelimited(1, partial);
}

/** gRPC status codes used in `google.rpc.Status` bodies. */
export const GRPC_CODE = {
  invalidArgument: 3,
  resourceExhausted: 8,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
  permissionDenied: 7,
} as const;

/** A `google.rpc.Status` body. */
export function encodeStatus(encoding: OtlpEncoding, code: number, message: string): Buffer | string {
  if (encoding === 'json') return JSON.stringify({ code, message, details: [] });
  return Buffer.concat([varintField(1, code), lengthDelimited(2, Buffer.from(message, 'utf8'))]);
}

/**
 * A protobuf `google.rpc.Status` carrying a `google.rpc.RetryInfo` detail: what OTLP/gRPC puts in
 * the `grpc-status-details-bin` trailer so a client knows a RESOURCE_EXHAUSTED or UNAVAILABLE is
 * worth retrying, and after how long.
 */
export function encodeStatusWithRetryInfo(code: number, message: string, retryDelaySeconds: number): Buffer {
  const duration = varintField(1, retryDelaySeconds);
  const retryInfo = lengthDelimited(1, duration);
  const any = Buffer.concat([
    lengthDelimited(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo', 'utf8')),
    lengthDelimited(2, retryInfo),
  ]);
  return Buffer.concat([varintField(1, code), lengthDelimited(2, Buffer.from(message, 'utf8')), lengthDelimited(3, any)]);
}
