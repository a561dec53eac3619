/**
 * Reading and writing NumPy `.npy` files of float32 in C order: what `resnet run` takes and writes.
 * Format: magic "\x93NUMPY", version (1.0: u16 header length; 2.0/3.0: u32), then a Python dict
 * literal header `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }` padded
 * with spaces to a multiple of 64 bytes and ending in '\n', then the raw data.
 * see: numpy/lib/format.py (the format's specification, NEP 1)
 */
import { type CheckpointLimits, DEFAULT_CHECKPOINT_LIMITS } from './limits.js';
import { Tensor, shapeToString } from './tensor.js';

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parses a .npy file holding a little-endian float32 array in C order. The header is limited to
 * `maxNpyHeaderBytes` (numpy's own default) and the shape to `maxRank` safe-integer dimensions
 * whose product the data must match exactly, all checked before the data is copied.
 */
export function readNpy(
  bytes: Uint8Array,
  what = '.npy input',
  limits: Partial<Pick<CheckpointLimits, 'maxNpyHeaderBytes' | 'maxRank'>> = {},
): Tensor {
  const maxHeader = limits.maxNpyHeaderBytes ?? DEFAULT_CHECKPOINT_LIMITS.maxNpyHeaderBytes;
  const maxRank = limits.maxRank ?? DEFAULT_CHECKPOINT_LIMITS.maxRank;
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(`${what} is not a .npy file (expected the magic bytes \\x93NUMPY)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${what} is truncated inside its header`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new NpyError(`${what}: unsupported .npy version ${major}.${bytes[7]} (expected 1.0, 2.0 or 3.0)`);
  }
  if (headerLen > maxHeader) {
    throw new NpyError(`${what}: the .npy header is ${headerLen} bytes, more than the limit of ${maxHeader} (numpy's own default; limit 'maxNpyHeaderBytes')`);
  }
  if (start + headerLen > bytes.length) throw new NpyError(`${what} is truncated inside its header (${headerLen} bytes declared, ${bytes.length - start} present)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError(`${what}: malformed .npy header ${JSON.stringify(header.trim().slice(0, 120))}`);
  }
  if (descr !== '<f4' && descr !== '=f4' && descr !== 'float32') {
    const hint = descr === '<f8' ? ' (float64: convert with x.astype(np.float32))' : descr === '>f4' ? ' (big-endian float32)' : '';
    throw new NpyError(`${what} holds dtype '${descr.slice(0, 40)}'${hint}; expected little-endian float32 '<f4'`);
  }
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (dims.length > maxRank) throw new NpyError(`${what}: shape has ${dims.length} dimensions, more than the limit of ${maxRank}`);
  const dataStart = start + headerLen;
  const available = bytes.length - dataStart;
  let count = 1;
  const shape = dims.map((s) => {
    const d = /^\d+L?$/.test(s) ? Number(s.replace(/L$/, '')) : NaN;
    if (!Number.isSafeInteger(d)) throw new NpyError(`${what}: bad dimension ${JSON.stringify(s.slice(0, 40))} in shape (${shapeText.slice(0, 80)})`);
    count *= d;
    return d;
  });
  // Checked before any copy; a product beyond 2^53 can never match the bytes present.
  if (!Number.isSafeInteger(count * 4)) {
    throw new NpyError(`${what}: shape ${shapeToString(shape)} has more elements than any file can hold`);
  }
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) {
    throw new NpyError(`${what} is in Fortran (column-major) order; expected C order: save it with np.ascontiguousarray(x)`);
  }
  if (available < count * 4) {
    throw new NpyError(`${what} is truncated: shape ${shapeToString(shape)} needs ${count * 4} data bytes, found ${available}`);
  }
  if (available > count * 4) {
    throw new NpyError(`${what} has ${available - count * 4} bytes after the data of shape ${shapeToString(shape)}`);
  }
  // Copy: the data may sit at an offset that is not a multiple of 4.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + count * 4));
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new NpyError('big-endian hosts are not supported');
  }
  return new Tensor(data, shape);
}

/** Serialises a float32 tensor as a version 1.0 .npy file (C order, little-endian). */
export function writeNpy(t: { data: Float32Array; shape: readonly number[] }): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + t.data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}
