/**
 * A minimal reader of the protobuf wire format, enough to decode OTLP messages without generated
 * code: varints, fixed 32/64-bit values and length-delimited fields. One reader walks the whole
 * body; nested messages are read up to an end position instead of through new reader objects, which
 * keeps decoding free of per-field allocations. Every read is bounds-checked, so a malformed body
 * raises {@link ProtobufError} instead of reading garbage.
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
const NANOS_HIGH_TO_MILLIS = TWO_POW_32 / 1e6;

/**
 * Node's Buffer has per-encoding slice methods under `toString`; calling them directly skips the
 * encoding lookup and argument checks that dominated decoding in profiles. Bounds are checked here.
 */
interface SlicingBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
}

/** Reads protobuf from a buffer, field by field. */
export class ProtobufReader {
  readonly buffer: SlicingBuffer;
  position = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer as SlicingBuffer;
  }

  /** Reads a field tag; the field number is `tag >>> 3`, the wire type `tag & 7`. */
  tag(): number {
    const tag = this.varint();
    if (tag < 8) throw new ProtobufError(`invalid field number 0 at byte ${this.position}`);
    return tag;
  }

  /** Reads a varint of up to 64 bits as an unsigned number (exact up to 2^53). */
  varint(): number {
    const buffer = this.buffer;
    const position = this.position;
    // Fast path: most tags, lengths and small numbers fit in one byte.
    if (position < buffer.length && buffer[position]! < 0x80) {
      this.position = position + 1;
      return buffer[position]!;
    }
    this.#readVarint();
    return this.#high * TWO_POW_32 + this.#low;
  }

  /** Reads a varint as a signed 64-bit integer (two's complement), as a number. */
  int64(): number {
    this.#readVarint();
    const high = this.#high;
    const low = this.#low;
    if (high < 0x80000000) return high * TWO_POW_32 + low;
    return -((~high >>> 0) * TWO_POW_32 + (~low >>> 0) + 1);
  }

  #low = 0;
  #high = 0;

  /** Reads a varint into its unsigned low and high 32-bit halves. */
  #readVarint(): void {
    const buffer = this.buffer;
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.position >= buffer.length) throw new ProtobufError('truncated varint');
      const byte = buffer[this.position++]!;
      if (shift < 28) low |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) {
        this.#low = low >>> 0;
        this.#high = high >>> 0;
        return;
      }
    }
    throw new ProtobufError('varint longer than 10 bytes');
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
    return high * NANOS_HIGH_TO_MILLIS + low / 1e6;
  }

  /** Reads a little-endian double. */
  double(): number {
    this.#need(8);
    const value = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  /** Reads a length prefix and returns the end position of the payload that follows. */
  lengthDelimited(): number {
    const length = this.varint();
    this.#need(length);
    return this.position + length;
  }

  /** Reads a length-delimited UTF-8 string. */
  string(): string {
    const end = this.lengthDelimited();
    const start = this.position;
    this.position = end;
    return start === end ? '' : this.buffer.utf8Slice(start, end);
  }

  /** Reads length-delimited bytes as lowercase hex (for trace and span ids). */
  hex(): string {
    const end = this.lengthDelimited();
    const start = this.position;
    this.position = end;
    return this.buffer.hexSlice(start, end);
  }

  /** Reads length-delimited bytes as base64 (for `bytes_value`, as the OTLP JSON mapping does). */
  base64(): string {
    const end = this.lengthDelimited();
    const start = this.position;
    this.position = end;
    return this.buffer.base64Slice(start, end);
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
        this.position = this.lengthDelimited();
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
  expect(tag: number, expected: number, field: string): void {
    if ((tag & 7) !== expected) {
      throw new ProtobufError(`field ${field} has wire type ${tag & 7}, expected ${expected}`);
    }
  }

  /** Throws unless the last field of a nested message ended exactly at the message's end. */
  endOf(end: number, message: string): void {
    if (this.position !== end) throw new ProtobufError(`a field of ${message} crosses the end of the message at byte ${end}`);
  }

  #need(bytes: number): void {
    if (this.position + bytes > this.buffer.length) {
      throw new ProtobufError(`truncated message: ${bytes} bytes needed at byte ${this.position}`);
    }
  }
}
