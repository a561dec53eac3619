/**
 * Builders for small synthetic checkpoints used by the weights tests: raw safetensors, pickle
 * opcodes, and a STORED zip writer (so torch-zip edge cases need no binary files in the repo).
 */
import { concatBytes } from '../src/bytes.js';
import { crc32 } from '../src/weights/zip.js';

const enc = new TextEncoder();

export function concat(parts: (Uint8Array | number[])[]): Uint8Array {
  return concatBytes(parts);
}

export function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function u64le(n: number): number[] {
  return [...u32le(n >>> 0), ...u32le(Math.floor(n / 4294967296))];
}

/** A safetensors file from a header object (serialised as given) and a data section. */
export function rawSafetensors(header: unknown, data: Uint8Array | number[] = []): Uint8Array {
  const json = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  return concat([u64le(json.length), json, data]);
}

export function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** Pickle opcode helpers (protocol 2 binary forms unless noted). */
export const P = {
  proto: (n: number) => [0x80, n],
  stop: [0x2e],
  mark: [0x28],
  none: [0x4e],
  t: [0x88],
  f: [0x89],
  int: (n: number) => (n >= 0 && n < 256 ? [0x4b, n] : [0x4a, ...u32le(n)]),
  float: (x: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return [0x47, ...b];
  },
  str: (s: string) => {
    const b = enc.encode(s);
    return [0x58, ...u32le(b.length), ...b];
  },
  bytes: (b: Uint8Array) => [0x42, ...u32le(b.length), ...b],
  global: (module: string, name: string) => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  stackGlobal: (module: string, name: string) => [...P.str(module), ...P.str(name), 0x93],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  emptyTuple: [0x29],
  tuple: [0x74],
  tuple1: [0x85],
  tuple2: [0x86],
  tuple3: [0x87],
  setitem: [0x73],
  setitems: [0x75],
  appends: [0x65],
  reduce: [0x52],
  build: [0x62],
  binpersid: [0x51],
  put: (i: number) => [0x71, i],
  get: (i: number) => [0x68, i],
};

export function pickle(...parts: (number[] | Uint8Array)[]): Uint8Array {
  return concat(parts);
}

/** numpy array pickle ops: _reconstruct(ndarray, (0,), b'b') then BUILD (1, shape, dtype(code), False, data). */
export function numpyArrayOps(code: string, shape: number[], data: Uint8Array, byteOrder = '<'): number[] {
  return [
    ...P.global('numpy.core.multiarray', '_reconstruct'),
    ...P.global('numpy', 'ndarray'),
    ...P.int(0), ...P.tuple1,
    ...P.bytes(enc.encode('b')),
    ...P.tuple3, ...P.reduce,
    ...P.mark,
    ...P.int(1),
    ...P.mark, ...shape.flatMap((d) => P.int(d)), ...P.tuple,
    ...P.global('numpy', 'dtype'), ...P.str(code), ...P.f, ...P.t, ...P.tuple3, ...P.reduce,
    ...P.mark, ...P.int(3), ...P.str(byteOrder), ...P.none, ...P.none, ...P.none, ...P.int(-1), ...P.int(-1), ...P.int(0), ...P.tuple, ...P.build,
    ...P.f,
    ...P.bytes(data),
    ...P.tuple, ...P.build,
  ];
}

/** torch tensor pickle ops: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
export function torchTensorOps(storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]): number[] {
  return [
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.mark,
    ...P.mark, ...P.str('storage'), ...P.global('torch', storageType), ...P.str(key), ...P.str('cpu'), ...P.int(numel), ...P.tuple, ...P.binpersid,
    ...P.int(offset),
    ...P.mark, ...size.flatMap((d) => P.int(d)), ...P.tuple,
    ...P.mark, ...stride.flatMap((d) => P.int(d)), ...P.tuple,
    ...P.f,
    ...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce,
    ...P.tuple, ...P.reduce,
  ];
}

/** A zip archive; entries STORED (method 0) unless a method is given (then the bytes are stored as they are). */
export function makeZip(
  entries: { name: string; data: Uint8Array; method?: number; badCrc?: boolean }[],
  opts: { zip64?: boolean } = {},
): Uint8Array {
  const z64 = opts.zip64 ?? false;
  const FULL = 0xffffffff;
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = crc32(e.data) ^ (e.badCrc ? 1 : 0);
    const method = e.method ?? 0;
    const local = concat([
      u32le(0x04034b50), [20, 0], [0, 0], [method, 0], [0, 0, 0, 0], u32le(crc), u32le(e.data.length), u32le(e.data.length),
      [name.length, 0], [0, 0], name, e.data,
    ]);
    // zip64: sizes and offset move to an extended-information extra field (id 1).
    const extra = z64 ? concat([[1, 0, 24, 0], u64le(e.data.length), u64le(e.data.length), u64le(offset)]) : new Uint8Array(0);
    const size32 = z64 ? FULL : e.data.length;
    const central = concat([
      u32le(0x02014b50), [45, 0], [45, 0], [0, 0], [method, 0], [0, 0, 0, 0], u32le(crc), u32le(size32), u32le(size32),
      [name.length, 0], [extra.length, 0], [0, 0], [0, 0], [0, 0], u32le(0), u32le(z64 ? FULL : offset), name, extra,
    ]);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cd = concat(centrals);
  if (!z64) {
    const eocd = concat([u32le(0x06054b50), [0, 0], [0, 0], [entries.length, 0], [entries.length, 0], u32le(cd.length), u32le(offset), [0, 0]]);
    return concat([...locals, cd, eocd]);
  }
  const z64eocdAt = offset + cd.length;
  const z64eocd = concat([
    u32le(0x06064b50), u64le(44), [45, 0], [45, 0], u32le(0), u32le(0),
    u64le(entries.length), u64le(entries.length), u64le(cd.length), u64le(offset),
  ]);
  const locator = concat([u32le(0x07064b50), u32le(0), u64le(z64eocdAt), u32le(1)]);
  const eocd = concat([u32le(0x06054b50), [0, 0], [0, 0], [0xff, 0xff], [0xff, 0xff], u32le(FULL), u32le(FULL), [0, 0]]);
  return concat([...locals, cd, z64eocd, locator, eocd]);
}

/** The error a function throws; fails the test when it throws nothing. */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
