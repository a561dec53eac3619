/**
 * Element types found in checkpoints and their conversion to float32.
 * Every reader decodes raw little- or big-endian bytes through `decodeToFloat32`, so the rules
 * (float16 subnormals, bfloat16 as the top half of a float32, int64 through two int32 words)
 * live in one place.
 */
import { CheckpointError } from './errors.js';

export type DType =
  | 'float64' | 'float32' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8'
  | 'uint64' | 'uint32' | 'uint16' | 'uint8'
  | 'bool' | 'complex128' | 'complex64';

export type FloatDType = 'float64' | 'float32' | 'float16' | 'bfloat16';

/** Bytes per element. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2,
  int64: 8, int32: 4, int16: 2, int8: 1,
  uint64: 8, uint32: 4, uint16: 2, uint8: 1,
  bool: 1, complex128: 16, complex64: 8,
};

/** Floating-point dtypes: the ones that can hold weights. */
export function isFloatDType(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64';
}

/** float32 values per element: 2 for complex (re, im interleaved), else 1. */
export function lanes(d: DType): number {
  return d === 'complex64' || d === 'complex128' ? 2 : 1;
}

/** Whether typed arrays are little-endian here (every engine in use; a view of LE file bytes needs it). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfTable: Float32Array | undefined;

/** IEEE 754 binary16 -> float32 for all 65536 bit patterns, built on first use. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/**
 * Decodes `count` elements of `dtype` starting at `byteOffset` into float32 (C order, as stored).
 * Integers become the nearest float32; complex values give 2 floats each (re, im).
 */
export function decodeToFloat32(
  bytes: Uint8Array,
  byteOffset: number,
  count: number,
  dtype: DType,
  littleEndian = true,
): Float32Array {
  const size = ITEM_SIZE[dtype];
  const byteLength = count * size;
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || !Number.isSafeInteger(count) || count < 0 || byteOffset + byteLength > bytes.length) {
    throw new CheckpointError(
      `${count} ${dtype} elements at byte ${byteOffset} need ${byteLength} bytes, but only ${Math.max(0, bytes.length - byteOffset)} are there`,
    );
  }
  const start = bytes.byteOffset + byteOffset;
  if (dtype === 'float32' && littleEndian === HOST_LITTLE_ENDIAN) {
    return new Float32Array(bytes.buffer.slice(start, start + byteLength));
  }
  const view = new DataView(bytes.buffer, start, byteLength);
  const le = littleEndian;
  const out = new Float32Array(count * lanes(dtype));
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, le);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, le);
      break;
    case 'float16': {
      const table = halfToFloatTable();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(2 * i, le)];
      break;
    }
    case 'bfloat16': {
      // bfloat16 is the upper 16 bits of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, le) << 16;
      break;
    }
    case 'int64':
    case 'uint64':
      for (let i = 0; i < count; i++) {
        const lo = view.getUint32(8 * i + (le ? 0 : 4), le);
        const hi = dtype === 'int64' ? view.getInt32(8 * i + (le ? 4 : 0), le) : view.getUint32(8 * i + (le ? 4 : 0), le);
        out[i] = hi * 4294967296 + lo;
      }
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, le);
      break;
    case 'uint32':
      for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, le);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, le);
      break;
    case 'uint16':
      for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, le);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'uint8':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i) ? 1 : 0;
      break;
    case 'complex64':
      for (let i = 0; i < 2 * count; i++) out[i] = view.getFloat32(4 * i, le);
      break;
    case 'complex128':
      for (let i = 0; i < 2 * count; i++) out[i] = view.getFloat64(8 * i, le);
      break;
  }
  return out;
}

/**
 * decodeToFloat32 without the copy where none is needed: little-endian float32 data at a 4-byte
 * aligned address (safetensors' F32 tensors, whose writer aligns the data to 8 bytes) comes back
 * as a view into `bytes.buffer`, so it changes when those bytes change. Anything else is decoded
 * into a new array.
 */
export function viewOrDecodeFloat32(bytes: Uint8Array, byteOffset: number, count: number, dtype: DType): Float32Array {
  const start = bytes.byteOffset + byteOffset;
  if (dtype === 'float32' && HOST_LITTLE_ENDIAN && start % 4 === 0 && byteOffset + 4 * count <= bytes.length) {
    return new Float32Array(bytes.buffer, start, count);
  }
  return decodeToFloat32(bytes, byteOffset, count, dtype);
}

/**
 * Copies a strided view into a new C-order array. `src` holds the decoded storage
 * (`lanesPer` floats per element); `offset` and `strides` count elements, as torch does.
 * The caller has checked that every index the view reaches lies inside `src`.
 */
export function gatherStrided(
  src: Float32Array,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
  lanesPer = 1,
): Float32Array {
  const rank = shape.length;
  let count = 1;
  for (const d of shape) count *= d;
  const out = new Float32Array(count * lanesPer);
  if (count === 0) return out;
  const index = new Array<number>(rank).fill(0);
  let srcPos = offset; // element index in src of the current C-order position
  for (let o = 0; o < count; o++) {
    for (let l = 0; l < lanesPer; l++) out[o * lanesPer + l] = src[srcPos * lanesPer + l];
    // Advance the multi-index like an odometer, last axis fastest.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      srcPos += strides[axis];
      if (index[axis] < shape[axis]) break;
      srcPos -= strides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

/** Largest element index a view reaches (offset included), or -1 for an empty view. */
export function viewExtent(offset: number, shape: readonly number[], strides: readonly number[]): number {
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 0) return -1;
    last += (shape[i] - 1) * strides[i];
  }
  return last;
}

/** True when `strides` are the C-order strides of `shape` (size-1 axes may have any stride). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * float32 -> IEEE 754 binary16 bits, rounded to nearest, ties to even (what numpy's and torch's
 * `.half()` do); subnormal halves kept, values past 65504 become infinity, NaN stays NaN.
 */
export function floatToHalfBits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is the right result
  return sign | half;
}

/** The float32 value of binary16 bits. */
export function halfBitsToFloat(bits: number): number {
  return halfToFloatTable()[bits & 0xffff];
}
