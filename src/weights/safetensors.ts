/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the
 * data; offsets are relative to the first byte after the header.
 * see: https://github.com/huggingface/safetensors (README "Format")
 */
import { type DType, ITEM_SIZE, viewOrDecodeFloat32 } from './dtype.js';
import { SafetensorsError } from './errors.js';
import { CheckpointTensor } from './types.js';
import type { TensorLike } from '../tensor.js';

/** safetensors dtype names -> ours. */
const DTYPES: Readonly<Record<string, DType>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8',
  U64: 'uint64', U32: 'uint32', U16: 'uint16', U8: 'uint8',
  BOOL: 'bool', C64: 'complex64',
};

/** Headers above this are refused before decoding (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsFile {
  readonly tensors: Map<string, CheckpointTensor>;
  readonly metadata?: Record<string, string>;
  readonly headerLength: number;
  /** Unused byte ranges between tensors, if any (legal to read, not written by the reference writer). */
  readonly notes: string[];
}

/** True when the bytes start like a safetensors file (plausible header length, then '{'). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = readU64(bytes, 0);
  return n >= 2 && n <= bytes.length - 8 && bytes[8] === 0x7b; // '{'
}

function readU64(bytes: Uint8Array, at: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  return v.getUint32(0, true) + v.getUint32(4, true) * 4294967296;
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Reads a safetensors file. F32 tensors at 4-byte aligned offsets (all of them from the reference
 * writer) are views into `bytes` with no copy: the tensors change if those bytes are modified.
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) {
    throw new SafetensorsError(`safetensors: file has ${bytes.length} bytes, fewer than the 8-byte header length`);
  }
  const headerLength = readU64(bytes, 0);
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(
      `safetensors: header length ${headerLength} runs past the end of the file (${bytes.length} bytes, at most ${bytes.length - 8} available)`,
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`safetensors: header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`safetensors: the ${headerLength}-byte header is not valid UTF-8 JSON (${(e as Error).message})`);
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
        throw new SafetensorsError(`safetensors: __metadata__ must be an object of strings, found ${JSON.stringify(raw)?.slice(0, 80)}`);
      }
      for (const [mk, mv] of Object.entries(raw)) {
        if (typeof mv !== 'string') {
          throw new SafetensorsError(`safetensors: __metadata__ value '${mk}' must be a string, found ${typeof mv}`);
        }
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== 'object' || raw === null) {
      throw new SafetensorsError(`safetensors: entry '${key}' must be an object {dtype, shape, data_offsets}, found ${JSON.stringify(raw)?.slice(0, 80)}`);
    }
    const { dtype: dtypeName, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtypeName !== 'string' || !(dtypeName in DTYPES)) {
      throw new SafetensorsError(
        `safetensors: tensor '${key}' has unknown or unsupported dtype ${JSON.stringify(dtypeName)}; supported: ${Object.keys(DTYPES).join(', ')}`,
      );
    }
    const dtype = DTYPES[dtypeName];
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new SafetensorsError(`safetensors: tensor '${key}' has an invalid shape ${JSON.stringify(shape)?.slice(0, 80)} (expected non-negative integers)`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt)) {
      throw new SafetensorsError(`safetensors: tensor '${key}' has invalid data_offsets ${JSON.stringify(offsets)?.slice(0, 80)} (expected [begin, end])`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      throw new SafetensorsError(
        `safetensors: tensor '${key}' data_offsets [${begin}, ${end}] lie outside the ${dataLength}-byte data section`,
      );
    }
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const needed = count * ITEM_SIZE[dtype];
    if (end - begin !== needed) {
      throw new SafetensorsError(
        `safetensors: tensor '${key}' is ${dtypeName} [${(shape as number[]).join(', ')}] = ${needed} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ key, dtype, shape: shape as number[], begin, end });
  }

  // Tensors may not share bytes; gaps are legal but unusual.
  const notes: string[] = [];
  const byStart = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: (typeof entries)[number] | undefined;
  let covered = 0;
  for (const e of byStart) {
    if (e.begin === e.end) continue; // empty tensors take no bytes
    if (prev && e.begin < prev.end) {
      throw new SafetensorsError(
        `safetensors: tensors '${prev.key}' [${prev.begin}, ${prev.end}] and '${e.key}' [${e.begin}, ${e.end}] overlap`,
      );
    }
    covered += e.end - e.begin;
    prev = e;
  }
  if (covered !== dataLength) notes.push(`safetensors: ${dataLength - covered} of ${dataLength} data bytes belong to no tensor`);

  const tensors = new Map<string, CheckpointTensor>();
  for (const e of entries) {
    const count = (e.end - e.begin) / ITEM_SIZE[e.dtype];
    tensors.set(e.key, new CheckpointTensor(e.dtype, e.shape, viewOrDecodeFloat32(bytes, dataStart + e.begin, count, e.dtype)));
  }
  return { tensors, metadata, headerLength, notes };
}

/**
 * Writes float32 tensors as safetensors (dtype F32), in the given order. The header is padded
 * with spaces so the data starts 8-byte aligned, as the reference writer does.
 */
export function writeSafetensors(
  tensors: Map<string, TensorLike> | Iterable<readonly [string, TensorLike]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const list: [string, TensorLike][] = [];
  let offset = 0;
  for (const [key, t] of tensors) {
    if (key === '__metadata__') throw new SafetensorsError(`safetensors: '__metadata__' cannot be a tensor name`);
    if (key in header) throw new SafetensorsError(`safetensors: duplicate tensor name '${key}'`);
    let count = 1;
    for (const d of t.shape) count *= d;
    if (count !== t.data.length) {
      throw new SafetensorsError(`safetensors: tensor '${key}' has shape [${t.shape.join(', ')}] (${count} elements) but ${t.data.length} values`);
    }
    header[key] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
    list.push([key, t]);
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
  for (const [, t] of list) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}
