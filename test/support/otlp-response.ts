/** Reading what the receiver answers to an OTLP export, as an exporter would. */

/** `rejected_spans` of a protobuf `ExportTraceServiceResponse` (0 when it has no `partial_success`). */
export function rejectedSpansOfProtobuf(body: Buffer): number {
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (offset >= body.length) throw new Error(`truncated export response ${body.toString('hex')}`);
      const byte = body[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  let rejected = 0;
  while (offset < body.length) {
    const field = varint();
    // partial_success (1, length-delimited) is the only field of the response.
    if (field !== ((1 << 3) | 2)) throw new Error(`unexpected field ${field} in an export response`);
    const end = varint() + offset;
    while (offset < end) {
      const inner = varint();
      if (inner === ((1 << 3) | 0)) rejected += varint();
      else if ((inner & 7) === 2) {
        const length = varint();
        offset += length;
      } else varint();
    }
  }
  return rejected;
}
