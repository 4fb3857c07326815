/**
 * A minimal reader of the protobuf wire format, enough to decode OTLP messages without generated
 * code: varints, fixed 32/64-bit values and length-delimited fields. Every read is bounds-checked,
 * so a malformed body raises {@link ProtobufError} instead of reading garbage.
 */

/** The body is not valid protobuf (or not the expected message). */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

/** Wire types of the protobuf encoding. */
export const WIRE = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

const TWO_POW_32 = 4294967296;

/** Reads one protobuf message from `buffer[start, end)`. */
export class ProtobufReader {
  readonly buffer: Buffer;
  position: number;
  readonly end: number;

  constructor(buffer: Buffer, start = 0, end = buffer.length) {
    this.buffer = buffer;
    this.position = start;
    this.end = end;
  }

  /** True while fields remain. */
  get hasMore(): boolean {
    return this.position < this.end;
  }

  /** Reads a field tag: `[fieldNumber, wireType]`. */
  tag(): [number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) throw new ProtobufError(`invalid field number 0 at byte ${this.position}`);
    return [field, tag & 7];
  }

  /** Reads a varint of up to 64 bits as an unsigned number (exact up to 2^53). */
  varint(): number {
    const [low, high] = this.#varintHalves();
    return high * TWO_POW_32 + low;
  }

  /** Reads a varint as a signed 64-bit integer (two's complement), as a number. */
  int64(): number {
    const [low, high] = this.#varintHalves();
    if (high < 0x80000000) return high * TWO_POW_32 + low;
    return -((~high >>> 0) * TWO_POW_32 + (~low >>> 0) + 1);
  }

  /** Reads a varint as its unsigned low and high 32-bit halves. */
  #varintHalves(): [number, number] {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.position >= this.end) throw new ProtobufError('truncated varint');
      const byte = this.buffer[this.position++]!;
      if (shift < 28) low |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) return [low >>> 0, high >>> 0];
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** Reads a little-endian fixed 64-bit unsigned value as a number (nearest double). */
  fixed64(): number {
    this.#need(8);
    const low = this.buffer.readUInt32LE(this.position);
    const high = this.buffer.readUInt32LE(this.position + 4);
    this.position += 8;
    return high * TWO_POW_32 + low;
  }

  /**
   * Reads a fixed64 holding nanoseconds since the epoch and returns milliseconds. Splitting the
   * halves keeps sub-microsecond precision that a single double of nanoseconds would lose.
   */
  fixed64NanosAsMillis(): number {
    this.#need(8);
    const low = this.buffer.readUInt32LE(this.position);
    const high = this.buffer.readUInt32LE(this.position + 4);
    this.position += 8;
    return high * (TWO_POW_32 / 1e6) + low / 1e6;
  }

  /** Reads a little-endian double. */
  double(): number {
    this.#need(8);
    const value = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  /** Reads a little-endian fixed 32-bit unsigned value. */
  fixed32(): number {
    this.#need(4);
    const value = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  /** Reads a length prefix and returns `[start, end)` of the payload, moving past it. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    this.#need(length);
    const start = this.position;
    this.position += length;
    return [start, this.position];
  }

  /** Reads a length-delimited UTF-8 string. */
  string(): string {
    const [start, end] = this.lengthDelimited();
    return this.buffer.toString('utf8', start, end);
  }

  /** Reads length-delimited bytes as lowercase hex (for trace and span ids). */
  hex(): string {
    const [start, end] = this.lengthDelimited();
    return this.buffer.toString('hex', start, end);
  }

  /** Reads length-delimited bytes as base64 (for `bytes_value`, as the OTLP JSON mapping does). */
  base64(): string {
    const [start, end] = this.lengthDelimited();
    return this.buffer.toString('base64', start, end);
  }

  /** A reader over the embedded message that follows. */
  message(): ProtobufReader {
    const [start, end] = this.lengthDelimited();
    return new ProtobufReader(this.buffer, start, end);
  }

  /** Skips a field of the given wire type (unknown fields are ignored, as protobuf requires). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE.varint:
        this.varint();
        return;
      case WIRE.fixed64:
        this.#need(8);
        this.position += 8;
        return;
      case WIRE.lengthDelimited:
        this.lengthDelimited();
        return;
      case WIRE.fixed32:
        this.#need(4);
        this.position += 4;
        return;
      default:
        throw new ProtobufError(`unsupported wire type ${wireType} at byte ${this.position}`);
    }
  }

  /** Throws unless the field has the wire type the schema gives it. */
  expect(wireType: number, expected: number, field: string): void {
    if (wireType !== expected) {
      throw new ProtobufError(`field ${field} has wire type ${wireType}, expected ${expected}`);
    }
  }

  #need(bytes: number): void {
    if (this.position + bytes > this.end) throw new ProtobufError(`truncated message: ${bytes} bytes needed at byte ${this.position}`);
  }
}
