/**
 * A minimal protocol-buffers writer: just the wire types an ONNX ModelProto needs.
 * see: https://protobuf.dev/programming-guides/encoding/ (varints, tags, length-delimited fields)
 *
 * A message keeps its encoded parts as a list of byte arrays, so embedding a child message (and the
 * megabytes of weights inside it) costs a length prefix, not a copy; `finish()` joins them once.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Varint bytes of an integer; negative values are two's-complement 64-bit (10 bytes), as int64 requires. */
function varint(value) {
  if (typeof value === 'bigint' || value < 0) {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    return Uint8Array.from(bytes);
  }
  if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf varint needs an integer, got ${value}`);
  const bytes = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Uint8Array.from(bytes);
}

const utf8 = new TextEncoder();

export class Message {
  parts = [];
  length = 0;

  #push(bytes) {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  #tag(field, wire) {
    this.#push(varint(field * 8 + wire));
  }

  /** int32 / int64 / enum / bool field. */
  int(field, value) {
    this.#tag(field, WIRE_VARINT);
    this.#push(varint(value));
    return this;
  }

  /** float field (fixed32, little-endian). */
  float(field, value) {
    this.#tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  bytes(field, data) {
    this.#tag(field, WIRE_LEN);
    this.#push(varint(data.length));
    this.#push(data);
    return this;
  }

  string(field, text) {
    return this.bytes(field, utf8.encode(text));
  }

  /** Repeated int32/int64, one tag per element: proto2's encoding (ONNX's .proto is proto2, unpacked). */
  ints(field, values) {
    for (const v of values) this.int(field, v);
    return this;
  }

  message(field, child) {
    this.#tag(field, WIRE_LEN);
    this.#push(varint(child.length));
    for (const p of child.parts) this.#push(p);
    return this;
  }

  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
