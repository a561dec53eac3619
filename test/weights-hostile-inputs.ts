/**
 * Crafted hostile checkpoints (issue 17), each small, built here so that no binary sits in the
 * repo. Each builder names the amplification it tries; test/weights.hostile.test.ts feeds them to
 * the readers in process (the error class and message) and to the CLI in a fresh process (time
 * and peak memory).
 */
import { P, concat, makeZip, numpyArrayOps, pickle, rawSafetensors, u32le } from './weights-fixtures.js';

const enc = new TextEncoder();

/** Memo ops with 4-byte indices, so builders need not count to 256. */
const put = (i: number) => [0x72, ...u32le(i)];
const get = (i: number) => [0x6a, ...u32le(i)];
const POP = [0x30];
const APPEND = [0x61];
const LIST = [0x6c];
const DICT = [0x64];

function repeat(ops: number[], n: number): Uint8Array {
  const out = new Uint8Array(ops.length * n);
  for (let i = 0; i < n; i++) out.set(ops, i * ops.length);
  return out;
}

/** `{'x': [list(L) for _ in range(copies)]}` where L is one memoised list of `items` ints (issue 17 item 3). */
export function listCopyBomb(items = 100_000, copies = 100_000): Uint8Array {
  return pickle(
    P.proto(2), P.emptyDict, P.str('x'), P.emptyList,
    P.global('builtins', 'list'), put(0), POP,
    P.mark, repeat(P.int(7), items), LIST, put(1), POP,
    repeat([...get(0), ...get(1), ...P.tuple1, ...P.reduce, ...APPEND], copies),
    P.setitem, P.stop,
  );
}

/** The same with `bytearray(B)` of one memoised `bytes` of `size` bytes: copies outside the JS heap. */
export function bytearrayCopyBomb(size = 1 << 20, copies = 40_000): Uint8Array {
  return pickle(
    P.proto(2), P.emptyDict, P.str('x'), P.emptyList,
    P.global('builtins', 'bytearray'), put(0), POP,
    P.bytes(new Uint8Array(size)), put(1), POP,
    repeat([...get(0), ...get(1), ...P.tuple1, ...P.reduce, ...APPEND], copies),
    P.setitem, P.stop,
  );
}

/** `dict(D)` of one memoised dict of `items` entries, `copies` times (the OrderedDict/dict constructors copy too). */
export function dictCopyBomb(items = 50_000, copies = 100_000): Uint8Array {
  const entries = new Uint8Array(items * 7);
  for (let i = 0; i < items; i++) entries.set([0x4a, ...u32le(i), 0x4b, 1], i * 7);
  return pickle(
    P.proto(2), P.emptyDict, P.str('x'), P.emptyList,
    P.global('collections', 'OrderedDict'), put(0), POP,
    P.mark, entries, DICT, put(1), POP,
    repeat([...get(0), ...get(1), ...P.tuple1, ...P.reduce, ...APPEND], copies),
    P.setitem, P.stop,
  );
}

/**
 * Key-path amplification (item 4): level i is `{A: level(i-1), B: level(i-1)}` with A and B two
 * memoised `keyChars`-character strings, so each of 2^depth leaves has a key of depth*keyChars
 * characters; `pad` trailing bytes raise the reader's visit limit, which grows with the file.
 */
export function sharedSubtreeBomb(depth = 40, keyChars = 1000, pad = 60_000): Uint8Array {
  const a = 'a'.repeat(keyChars);
  const b = 'b'.repeat(keyChars);
  const parts: (number[] | Uint8Array)[] = [P.proto(2), P.str(a), put(0), POP, P.str(b), put(1), POP];
  parts.push(P.emptyDict, P.str('w'), P.int(1), P.setitem, put(2));
  for (let i = 1; i <= depth; i++) {
    parts.push(POP, P.emptyDict, P.mark, get(0), get(i + 1), get(1), get(i + 1), P.setitems, put(i + 2));
  }
  parts.push(P.stop, new Uint8Array(pad));
  return concat(parts);
}

/**
 * Tuple-key amplification (item 5): T0 = (S,)*fan, Ti = (T(i-1),)*fan, all memoised, and a dict
 * of `keys` entries keyed `(T(levels), j)`: each key is 5 bytes of input and fan^levels*chars characters.
 */
export function tupleKeyBomb(fan = 100, levels = 2, chars = 1000, keys = 200): Uint8Array {
  const parts: (number[] | Uint8Array)[] = [P.proto(2), P.str('k'.repeat(chars)), put(0), POP];
  for (let l = 1; l <= levels; l++) parts.push(P.mark, repeat(get(l - 1), fan), P.tuple, put(l), POP);
  parts.push(P.emptyDict, P.mark);
  for (let j = 0; j < keys; j++) parts.push(get(levels), P.int(j), P.tuple2, P.int(1));
  parts.push(P.setitems, P.stop);
  return concat(parts);
}

/** `{'a': {'a': ... {'a': 1}}}`, `depth` dicts deep (item 7), as a protocol-2 pickle. */
export function deepDicts(depth = 20_000, proto = 2): Uint8Array {
  return pickle(P.proto(proto), repeat([...P.emptyDict, 0x8c, 1, 0x61], depth), P.int(1), repeat(P.setitem, depth), P.stop);
}

/** A legacy torch stream (magic, protocol, sys_info, object, storage keys) whose object is `obj` (a pickle body). */
export function legacyTorch(objBody: Uint8Array): Uint8Array {
  const magic = [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  return concat([magic, pickle(P.proto(2), [0x4d, 0xe9, 0x03], P.stop), pickle(P.proto(2), P.emptyDict, P.stop), objBody, pickle(P.proto(2), P.emptyList, P.stop)]);
}

/** A torch zip archive whose data.pkl is `pkl` (plus optional storages). */
export function torchZip(pkl: Uint8Array, storages: { key: string; data: Uint8Array }[] = []): Uint8Array {
  return makeZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: enc.encode('little') },
    ...storages.map((s) => ({ name: `archive/data/${s.key}`, data: s.data })),
  ]);
}

/**
 * A .pdparams of `count` small float32 arrays `{p0: arr, p1: arr, ...}`, all in one SETITEMS
 * (the shape a genuine paddle.save gives a big state dict of small tensors).
 */
export function manySmallArrays(count = 20_000, elements = 4): Uint8Array {
  const data = new Uint8Array(elements * 4);
  const parts: (number[] | Uint8Array)[] = [P.proto(2), P.emptyDict, P.mark];
  for (let i = 0; i < count; i++) parts.push(P.str(`p${i}`), numpyArrayOps('f4', [elements], data));
  parts.push(P.setitems, P.stop);
  return concat(parts);
}

/**
 * Zip entry overlap (a zip bomb without compression): `entries` central-directory records all
 * name the one local entry of `size` bytes, and data.pkl uses each as a storage, so a reader that
 * checks every entry's CRC reads the same bytes `entries` times.
 */
export function overlappingZip(entries = 1000, size = 4 << 20): Uint8Array {
  const body: (number[] | Uint8Array)[] = [P.proto(2), P.emptyDict, P.mark];
  for (let i = 0; i < entries; i++) {
    body.push(P.str(`t${i}`), [
      ...P.global('torch._utils', '_rebuild_tensor_v2'),
      ...P.mark,
      ...P.mark, ...P.str('storage'), ...P.global('torch', 'ByteStorage'), ...P.str(String(i)), ...P.str('cpu'), 0x4a, ...u32le(size), ...P.tuple, ...P.binpersid,
      ...P.int(0), ...P.mark, ...P.int(1), ...P.tuple, ...P.mark, ...P.int(1), ...P.tuple, ...P.f,
      ...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce,
      ...P.tuple, ...P.reduce,
    ]);
  }
  body.push(P.setitems, P.stop);
  const base = makeZip([{ name: 'archive/data.pkl', data: pickle(...body) }, { name: 'archive/data/0', data: new Uint8Array(size) }]);
  // Re-point: parse the two central records and append entries-1 copies of the storage record with new names.
  const v = new DataView(base.buffer);
  const eocd = base.length - 22;
  const cdSize = v.getUint32(eocd + 12, true);
  const cdOffset = v.getUint32(eocd + 16, true);
  const first = 46 + v.getUint16(cdOffset + 28, true);
  const storageRec = base.subarray(cdOffset + first, cdOffset + cdSize);
  const recs: Uint8Array[] = [base.subarray(cdOffset, cdOffset + cdSize)];
  for (let i = 1; i < entries; i++) {
    const name = enc.encode(`archive/data/${i}`);
    const r = concat([storageRec.subarray(0, 46), name]);
    new DataView(r.buffer).setUint16(28, name.length, true);
    recs.push(r);
  }
  const cd = concat(recs);
  const end = concat([u32le(0x06054b50), [0, 0, 0, 0], [entries + 1 & 0xff, (entries + 1) >> 8], [entries + 1 & 0xff, (entries + 1) >> 8], u32le(cd.length), u32le(cdOffset), [0, 0]]);
  return concat([base.subarray(0, cdOffset), cd, end]);
}

/** safetensors whose only tensor has a shape nested `depth` arrays deep (JSON.stringify in an error recurses). */
export function deepJsonSafetensors(depth = 200_000): Uint8Array {
  return rawSafetensors(`{"w":{"dtype":"F32","shape":${'['.repeat(depth)}${']'.repeat(depth)},"data_offsets":[0,0]}}`);
}

/** A .npy whose header repeats `'shape': (` without a closing parenthesis (a backtracking regex is quadratic). */
export function npyRegexBomb(bytes = 4 << 20): Uint8Array {
  const unit = "'shape':(";
  const header = `{'descr': '<f4', 'fortran_order': False, ${unit.repeat(Math.floor(bytes / unit.length))}\n`;
  const h = enc.encode(header);
  return concat([[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0], u32le(h.length), h]);
}

/** A bigint of `size` bytes, memoised, referenced `refs` times as values (each visit printed it in decimal). */
export function bigintFanout(refs = 400_000, size = 256): Uint8Array {
  const big = new Uint8Array(size).fill(0x5a);
  return pickle(
    P.proto(2), [0x8b, ...u32le(big.length)], big, put(0), POP,
    P.emptyDict, P.str('x'), P.emptyList, P.mark, repeat(get(0), refs), [0x65], P.setitem, P.stop,
  );
}

/**
 * Quadratic dict building (item 8): `{'w': array, n_i: None}` for `keys` ints n_i > 2^64 that share their low
 * 64 bits. V8 hashes a bigint by those bits alone, so as Map keys they all collide.
 */
export function bigintKeyDict(keys = 100_000): Uint8Array {
  const entry = new Uint8Array(14);
  entry.set([0x8a, 11], 0); // LONG1, 11 bytes little-endian: low 8 bytes fixed, the next 3 vary
  entry.fill(0x11, 2, 10);
  entry[13] = 0x4e; // NONE
  const body = new Uint8Array(keys * 14);
  for (let i = 0; i < keys; i++) {
    entry[10] = i & 0xff;
    entry[11] = (i >> 8) & 0xff;
    entry[12] = (i >> 16) & 0x7f;
    body.set(entry, i * 14);
  }
  const one = new Uint8Array(new Float32Array([1]).buffer);
  return pickle(P.proto(2), P.emptyDict, P.str('w'), numpyArrayOps('f4', [1], one), P.setitem, P.mark, body, P.setitems, P.stop);
}

/** `_rebuild_from_type_v2(_rebuild_from_type_v2, None, (... list, None, ((),), None) ..., None)`, `levels` deep. */
export function nestedRebuildFromType(levels = 50_000): Uint8Array {
  const open = new Uint8Array([...P.mark, ...get(0), ...P.none]);
  const close = new Uint8Array([...P.none, ...P.tuple]);
  return concat([
    P.proto(2), P.global('torch._tensor', '_rebuild_from_type_v2'), put(0), POP, P.global('builtins', 'list'), put(1), POP,
    get(0), repeat([...open], levels),
    P.mark, get(1), P.none, P.emptyTuple, P.tuple1, P.none, P.tuple,
    repeat([...close], levels), P.reduce, P.stop,
  ]);
}
