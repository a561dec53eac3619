/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the
 * data; offsets are relative to the first byte after the header.
 * see: https://github.com/huggingface/safetensors (README "Format")
 */
import type { CheckpointLimits } from '../limits.js';
import { quote, resolveLimits } from './budget.js';
import { type DType, floatToHalfBits, HOST_LITTLE_ENDIAN, ITEM_SIZE, viewOrDecodeFloat32 } from './dtype.js';
import { SafetensorsError } from './errors.js';
import { DTYPE_METADATA_KEY } from './quantize.js';
import { CheckpointTensor } from './types.js';
import type { TensorLike } from '../tensor.js';

/** safetensors dtype names -> ours. */
const DTYPES: Readonly<Record<string, DType>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8',
  U64: 'uint64', U32: 'uint32', U16: 'uint16', U8: 'uint8',
  BOOL: 'bool', C64: 'complex64',
};

export interface SafetensorsFile {
  readonly tensors: Map<string, CheckpointTensor>;
  readonly metadata?: Record<string, string>;
  readonly headerLength: number;
  /**
   * With `narrow` and a lean checkpoint: its I8 and F16 tensors as stored (views into the bytes
   * where aligned), in place of float32 ones in `tensors`; quantize.ts pairs them with their scales.
   */
  readonly stored?: Map<string, StoredTensor>;
  /** What the reader noticed (none at present: gaps and duplicates are errors). */
  readonly notes: string[];
}

/** An I8 or F16 tensor as the file stores it. */
export type StoredTensor =
  | { readonly dtype: 'int8'; readonly shape: number[]; readonly values: Int8Array }
  | { readonly dtype: 'float16'; readonly shape: number[]; readonly values: Uint16Array };

/**
 * True when the bytes start like a safetensors file: a header length of at least 2, then '{'. A
 * length beyond the file still counts, so that the reader names it instead of "not a checkpoint".
 */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = readU64(bytes, 0);
  return n >= 2 && bytes[8] === 0x7b; // '{'
}

function readU64(bytes: Uint8Array, at: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  return v.getUint32(0, true) + v.getUint32(4, true) * 4294967296;
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** A JSON value for an error message, without recursing into it (a header may nest deeply). */
function preview(x: unknown): string {
  if (Array.isArray(x)) {
    return x.length <= 8 && x.every((v) => v === null || typeof v !== 'object') ? `[${x.map(preview).join(', ')}]` : `an array of ${x.length} items`;
  }
  if (typeof x === 'object' && x !== null) return `an object of ${Object.keys(x).length} keys`;
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  return String(x);
}

/**
 * One linear pass over the header text before JSON.parse: refuses nesting deeper than `maxDepth`
 * and duplicate top-level keys, which the format forbids and JSON.parse would silently merge (the
 * last one wins).
 */
function scanHeader(text: string, maxDepth: number): void {
  let depth = 0;
  const keys = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // '"': a string; at depth 1 followed by ':' it is a top-level key
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] !== ':') continue;
      let key: string;
      try {
        key = JSON.parse(text.slice(start, i + 1)) as string;
      } catch {
        return; // malformed: JSON.parse reports it
      }
      if (keys.has(key)) throw new SafetensorsError(`safetensors: the header names ${quote(key)} twice (the format forbids duplicate keys)`);
      keys.add(key);
    } else if (c === 0x7b || c === 0x5b) { // '{' '['
      if (++depth > maxDepth) throw new SafetensorsError(`safetensors: the header nests deeper than ${maxDepth} levels at byte ${i} (checkpoint limit 'maxDepth')`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * Reads a safetensors file. F32 tensors at 4-byte aligned offsets (all of them from the reference
 * writer) are views into `bytes` with no copy: the tensors change if those bytes are modified.
 * `narrow`: a lean checkpoint's (`__metadata__` names `resnet_ts.dtype`) I8 and F16 tensors are
 * not widened but returned in `stored`, also as views where aligned.
 */
export function readSafetensors(bytes: Uint8Array, opts: { limits?: Partial<CheckpointLimits>; narrow?: boolean } = {}): SafetensorsFile {
  const limits = resolveLimits(opts.limits);
  const maxHeader = limits.maxSafetensorsHeaderBytes;
  if (bytes.length < 8) {
    throw new SafetensorsError(`safetensors: file has ${bytes.length} bytes, fewer than the 8-byte header length`);
  }
  const headerLength = readU64(bytes, 0);
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(
      `safetensors: header length ${headerLength} runs past the end of the file (${bytes.length} bytes, at most ${bytes.length - 8} available)`,
    );
  }
  if (headerLength > maxHeader) {
    throw new SafetensorsError(`safetensors: header length ${headerLength} exceeds the ${maxHeader}-byte limit (checkpoint limit 'maxSafetensorsHeaderBytes')`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch (e) {
    throw new SafetensorsError(`safetensors: the ${headerLength}-byte header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  scanHeader(text, limits.maxDepth);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`safetensors: the ${headerLength}-byte header is not valid UTF-8 JSON (${(e as Error).message.slice(0, 120)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(`safetensors: the header must be a JSON object, found ${Array.isArray(header) ? 'an array' : typeof header}`);
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> | undefined;
  const entries: { key: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];

  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new SafetensorsError(`safetensors: __metadata__ must be an object of strings, found ${preview(raw)}`);
      }
      for (const [mk, mv] of Object.entries(raw)) {
        if (typeof mv !== 'string') {
          throw new SafetensorsError(`safetensors: __metadata__ value ${quote(mk)} must be a string, found ${typeof mv}`);
        }
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== 'object' || raw === null) {
      throw new SafetensorsError(`safetensors: entry ${quote(key)} must be an object {dtype, shape, data_offsets}, found ${preview(raw)}`);
    }
    const { dtype: dtypeName, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    // Own properties only: 'constructor' or 'toString' are not dtypes.
    if (typeof dtypeName !== 'string' || !Object.hasOwn(DTYPES, dtypeName)) {
      throw new SafetensorsError(
        `safetensors: tensor ${quote(key)} has unknown or unsupported dtype ${preview(dtypeName)}; supported: ${Object.keys(DTYPES).join(', ')}`,
      );
    }
    const dtype = DTYPES[dtypeName];
    if (Array.isArray(shape) && shape.length > limits.maxRank) {
      throw new SafetensorsError(`safetensors: tensor ${quote(key)} has ${shape.length} dimensions, more than the limit of ${limits.maxRank} (checkpoint limit 'maxRank')`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new SafetensorsError(`safetensors: tensor ${quote(key)} has an invalid shape ${preview(shape)} (expected non-negative integers)`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt)) {
      throw new SafetensorsError(`safetensors: tensor ${quote(key)} has invalid data_offsets ${preview(offsets)} (expected [begin, end])`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      throw new SafetensorsError(
        `safetensors: tensor ${quote(key)} data_offsets [${begin}, ${end}] lie outside the ${dataLength}-byte data section`,
      );
    }
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const needed = count * ITEM_SIZE[dtype];
    if (end - begin !== needed) {
      throw new SafetensorsError(
        `safetensors: tensor ${quote(key)} is ${dtypeName} [${(shape as number[]).join(', ')}] = ${needed} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ key, dtype, shape: shape as number[], begin, end });
  }

  // Tensors may not share bytes, and every data byte belongs to a tensor (the format forbids gaps).
  const notes: string[] = [];
  const byStart = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: (typeof entries)[number] | undefined;
  let covered = 0;
  for (const e of byStart) {
    if (e.begin === e.end) continue; // empty tensors take no bytes
    if (prev && e.begin < prev.end) {
      throw new SafetensorsError(
        `safetensors: tensors ${quote(prev.key)} [${prev.begin}, ${prev.end}] and ${quote(e.key)} [${e.begin}, ${e.end}] overlap`,
      );
    }
    covered += e.end - e.begin;
    prev = e;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      `safetensors: ${dataLength - covered} of the ${dataLength} data bytes belong to no tensor (expected the tensors to cover the data section exactly, as the format requires)`,
    );
  }

  const tensors = new Map<string, CheckpointTensor>();
  const stored = opts.narrow && metadata?.[DTYPE_METADATA_KEY] !== undefined ? new Map<string, StoredTensor>() : undefined;
  for (const e of entries) {
    const count = (e.end - e.begin) / ITEM_SIZE[e.dtype];
    const at = bytes.byteOffset + dataStart + e.begin;
    if (stored && e.dtype === 'int8') {
      stored.set(e.key, { dtype: 'int8', shape: e.shape, values: new Int8Array(bytes.buffer, at, count) });
    } else if (stored && e.dtype === 'float16' && HOST_LITTLE_ENDIAN) {
      const values = at % 2 === 0 ? new Uint16Array(bytes.buffer, at, count) : new Uint16Array(bytes.buffer.slice(at, at + 2 * count));
      stored.set(e.key, { dtype: 'float16', shape: e.shape, values });
    } else {
      tensors.set(e.key, new CheckpointTensor(e.dtype, e.shape, viewOrDecodeFloat32(bytes, dataStart + e.begin, count, e.dtype)));
    }
  }
  return { tensors, metadata, headerLength, notes, ...(stored ? { stored } : {}) };
}

/** The dtypes writeSafetensors stores: float32, float16 (rounded to nearest even) and int8 (integers in [-128, 127]). */
export type WriteDType = 'F32' | 'F16' | 'I8';

const WRITE_SIZE: Readonly<Record<WriteDType, number>> = { F32: 4, F16: 2, I8: 1 };

/**
 * Writes tensors as safetensors, in the given order: float32 (dtype F32) unless `opts.dtypes`
 * names another dtype for a key (F16, or I8 for tensors that already hold integers in
 * [-128, 127], e.g. quantized weights; anything else there is an error). The header is padded
 * with spaces so the data starts 8-byte aligned, as the reference writer does.
 */
export function writeSafetensors(
  tensors: Map<string, TensorLike> | Iterable<readonly [string, TensorLike]>,
  metadata?: Record<string, string>,
  opts: { dtypes?: ReadonlyMap<string, WriteDType> } = {},
): Uint8Array {
  // No prototype, so that tensors named like Object.prototype members ('constructor', '__proto__') are own keys.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata) header.__metadata__ = metadata;
  const list: [string, TensorLike, WriteDType][] = [];
  let offset = 0;
  for (const [key, t] of tensors) {
    if (key === '__metadata__') throw new SafetensorsError(`safetensors: '__metadata__' cannot be a tensor name`);
    if (Object.hasOwn(header, key)) throw new SafetensorsError(`safetensors: duplicate tensor name '${key}'`);
    let count = 1;
    for (const d of t.shape) count *= d;
    if (count !== t.data.length) {
      throw new SafetensorsError(`safetensors: tensor '${key}' has shape [${t.shape.join(', ')}] (${count} elements) but ${t.data.length} values`);
    }
    const dtype = opts.dtypes?.get(key) ?? 'F32';
    if (!Object.hasOwn(WRITE_SIZE, dtype)) throw new SafetensorsError(`safetensors: cannot write tensor '${key}' as ${String(dtype)}; expected F32, F16 or I8`);
    const bytes = WRITE_SIZE[dtype] * count;
    header[key] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
    list.push([key, t, dtype]);
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, Math.floor(json.length / 4294967296), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [key, t, dtype] of list) {
    const d = t.data;
    if (dtype === 'F32') {
      for (let i = 0; i < d.length; i++, at += 4) view.setFloat32(at, d[i], true);
    } else if (dtype === 'F16') {
      for (let i = 0; i < d.length; i++, at += 2) view.setUint16(at, floatToHalfBits(d[i]), true);
    } else {
      for (let i = 0; i < d.length; i++, at++) {
        const v = d[i];
        if (!Number.isInteger(v) || v < -128 || v > 127) {
          throw new SafetensorsError(`safetensors: tensor '${key}' written as I8 holds ${v} at index ${i}; expected integers in [-128, 127]`);
        }
        view.setInt8(at, v);
      }
    }
  }
  return out;
}
