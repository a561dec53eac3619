/**
 * Issue 17, the weight readers: every crafted amplification is refused with a named
 * `CheckpointError` in process, and through the CLI in a fresh process it meets the bar
 * (exit 0 or 1, one-line message, under 10 s and 1 GiB; test/helpers/hostile.ts). Also the
 * smaller item 11 cases (prototype-named dtypes, protocol-0 inf/nan, duplicate zip names and
 * safetensors keys, a header length beyond the file) and the limits being raisable.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../src/api.js';
import { DEFAULT_CHECKPOINT_LIMITS } from '../src/limits.js';
import { NpyError, readNpy } from '../src/npy.js';
import { Tensor } from '../src/tensor.js';
import {
  CheckpointError, PickleError, SafetensorsError, ZipError, adaptStateDict, readCheckpoint, readSafetensors, unpickle, writeSafetensors,
} from '../src/weights/index.js';
import { hostileVerdict, runHostile } from './helpers/hostile.js';
import {
  bigintFanout, bigintKeyDict, bytearrayCopyBomb, deepDicts, deepJsonSafetensors, dictCopyBomb, legacyTorch, listCopyBomb,
  manySmallArrays, nestedRebuildFromType, npyRegexBomb, overlappingZip, sharedSubtreeBomb, torchZip, tupleKeyBomb,
} from './weights-hostile-inputs.js';
import { P, concat, f32bytes, makeZip, numpyArrayOps, pickle, rawSafetensors, thrown, u32le, u64le } from './weights-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'resnet-hostile-w-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ascii = (s: string) => new TextEncoder().encode(s);

interface Case {
  /** Issue 17 item, and what the file does. */
  name: string;
  file: string;
  make: () => Uint8Array;
  /** The in-process error (message pattern); undefined: the file loads. */
  error?: RegExp;
}

const CASES: Case[] = [
  { name: '3: list(L) of a memoised 100k list, 100k times', file: 'list.pdparams', make: () => listCopyBomb(), error: /elements copied by pickle constructors would exceed .* \(at builtins\.list at offset \d+\).*'copiesPerByte'/ },
  { name: '3: bytearray(B) of a memoised 1 MiB bytes, 40k times', file: 'bytearray.pdparams', make: () => bytearrayCopyBomb(), error: /elements copied by pickle constructors would exceed .*builtins\.bytearray/ },
  { name: '3: OrderedDict(D) of a memoised 50k dict, 100k times', file: 'dict.pdparams', make: () => dictCopyBomb(), error: /elements copied by pickle constructors would exceed .*collections\.OrderedDict/ },
  { name: '4: shared subtrees, 2^40 paths of 40 kchar keys', file: 'shared.pdparams', make: () => sharedSubtreeBomb(), error: /checkpoint key of \d+ characters starting 'aaaa.*longer than the limit of 4096 \(checkpoint limit 'maxKeyLength'\)/ },
  { name: '4: shared subtrees with short keys, 2^40 paths', file: 'shared-short.pdparams', make: () => sharedSubtreeBomb(40, 20, 400_000), error: /characters of keys and integer text would exceed|values visited \(shared references once per path\) would exceed/ },
  { name: '5: tuple keys of 1e7 characters each, 200 keys', file: 'tuplekey.pdparams', make: () => tupleKeyBomb(), error: /checkpoint key of \d+ characters starting 'kkkk.*'maxKeyLength'/ },
  { name: '5: tuple keys just under the key limit, memoised', file: 'tuplekey-short.pdparams', make: () => tupleKeyBomb(30, 2, 2, 100_000), error: /characters of keys and integer text would exceed/ },
  { name: '7: 20,000 nested dicts in a .pdparams', file: 'deep.pdparams', make: () => deepDicts(), error: /checkpoint nesting deeper than 100 levels at 'a\/a\/a\/a\/a\/a\/a\/a\/\.\.\.' \(checkpoint limit 'maxDepth'\)/ },
  { name: '7: the same nesting in a legacy .th', file: 'deep.th', make: () => legacyTorch(deepDicts()), error: /checkpoint nesting deeper than 100 levels at 'a\/a\/a\/a\/a\/a\/a\/a\/\.\.\.' \(checkpoint limit 'maxDepth'\)/ },
  { name: '7: the same nesting in a torch zip', file: 'deep.pth', make: () => torchZip(deepDicts()), error: /checkpoint nesting deeper than 100 levels/ },
  { name: '8: 100k dict keys > 2^64 sharing their low 64 bits', file: 'bigkeys.pdparams', make: () => bigintKeyDict() },
  { name: 'big ints: a memoised 256-byte int referenced 400k times', file: 'bigint.pdparams', make: () => bigintFanout(), error: /characters of keys and integer text would exceed .*a large integer/ },
  { name: 'big ints: one of 1 KiB is over maxIntBytes', file: 'bigint1k.pdparams', make: () => bigintFanout(10, 1024), error: /pickle: integer of 1024 bytes exceeds the 256-byte limit \(checkpoint limit 'maxIntBytes'\)/ },
  { name: 'zip: 1000 directory records over one 4 MiB entry', file: 'overlap.pth', make: () => overlappingZip(), error: /zip: entry 'archive\/data\/1' brings the bytes read to \d+, more than the \d+-byte archive holds: its entries overlap/ },
  { name: 'safetensors: a shape nested 200k arrays deep', file: 'deep.safetensors', make: () => deepJsonSafetensors(), error: /safetensors: the header nests deeper than 100 levels/ },
  { name: 'torch: _rebuild_from_type_v2 nested in itself 50,000 times', file: 'rebuild.pth', make: () => torchZip(nestedRebuildFromType()), error: /torch\._tensor\._rebuild_from_type_v2 nested deeper than 100 levels \(checkpoint limit 'maxDepth'\)/ },
  { name: 'pdparams: 20k small arrays (a genuine shape) load', file: 'small.pdparams', make: () => manySmallArrays() },
];

describe('hostile checkpoints, in process: a named CheckpointError (or a load), no amplification', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const bytes = c.make();
      expect(bytes.length).toBeLessThan(5 << 20);
      if (!c.error) {
        expect(readCheckpoint(bytes).tensors.size + readCheckpoint(bytes).others.size).toBeGreaterThan(0);
        return;
      }
      const e = thrown(() => readCheckpoint(bytes, { name: c.file }));
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(c.error);
      expect(e.message).not.toMatch(/\n/);
      expect(e.message.length).toBeLessThan(400);
    });
  }
});

describe("hostile checkpoints through the CLI, each in a fresh process: issue 17's bar", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const path = join(tmp, c.file);
      writeFileSync(path, c.make());
      const r = runHostile(['convert', path, join(tmp, `${c.file}.out.safetensors`)]);
      expect(hostileVerdict(r), `${(r.ms / 1000).toFixed(1)} s, ${(r.peakRss / 2 ** 20).toFixed(0)} MiB`).toBe('');
      if (c.error) {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(c.error);
      } else expect(r.code).toBe(0);
    }, 30_000);
  }

  it('npy: a 4 MiB header of unclosed shapes (a backtracking regex) is refused by its size', () => {
    const path = join(tmp, 'regex.npy');
    writeFileSync(path, npyRegexBomb());
    const r = runHostile(['run', '--model', 'resnet20', '--input', path, '--output', join(tmp, 'out.npy')]);
    expect(hostileVerdict(r)).toBe('');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the \.npy header is \d+ bytes, more than the limit of 10000/);
  }, 30_000);
});

describe('pickle: copies and keys', () => {
  it('copies within the budget still work (list, tuple, set, dict, bytearray)', () => {
    const { value } = unpickle(pickle(
      P.proto(2), P.mark,
      P.global('builtins', 'list'), P.mark, P.int(1), P.int(2), P.tuple, P.tuple1, P.reduce,
      P.global('builtins', 'dict'), P.mark, P.mark, P.str('a'), P.int(1), P.tuple, P.tuple, P.tuple1, P.reduce,
      P.global('builtins', 'bytearray'), P.bytes(new Uint8Array([7, 8])), P.tuple1, P.reduce,
      P.tuple, P.stop,
    ));
    expect(value).toEqual([[1, 2], new Map([['a', 1]]), new Uint8Array([7, 8])]);
  });

  it('the copy budget is raisable: copiesPerByte', () => {
    const bomb = listCopyBomb(1000, 2000); // 2e6 copied elements in ~12 KB
    expect(thrown(() => unpickle(bomb))).toBeInstanceOf(PickleError);
    expect(() => unpickle(bomb, { limits: { copiesPerByte: 1000 } })).not.toThrow();
  });

  it('big-int dict keys are one key per value (Python dict semantics), flattened in decimal', () => {
    const long1 = (b: number[]) => [0x8a, b.length, ...b];
    const big = [0, 0, 0, 0, 0, 0, 0, 0, 1]; // 2^64
    const ckpt = readCheckpoint(pickle(P.proto(2), P.emptyDict, P.mark, long1(big), P.int(1), long1(big), P.int(2), P.setitems, P.stop));
    expect([...ckpt.others]).toEqual([['18446744073709551616', 2]]);
  });

  it('protocol-0 FLOAT reads inf, -inf and nan as Python writes them; garbage is refused', () => {
    const float0 = (s: string) => unpickle(pickle([0x46], ascii(`${s}\n`), P.stop)).value;
    expect(float0('inf')).toBe(Infinity);
    expect(float0('-inf')).toBe(-Infinity);
    expect(float0('nan')).toBeNaN();
    expect(float0('1.5e-3')).toBe(0.0015);
    expect(thrown(() => float0('0x10')).message).toMatch(/FLOAT at offset 0 is not a number: '0x10'/);
  });

  it('a shape of more than maxRank dimensions is refused before it is read', () => {
    const e = thrown(() => readCheckpoint(pickle(P.proto(2), P.emptyDict, P.str('w'), numpyArrayOps('f4', new Array(65).fill(1), f32bytes([1])), P.setitem, P.stop)));
    expect(e.message).toMatch(/numpy array shape has 65 dimensions, more than the limit of 64 \(checkpoint limit 'maxRank'\)/);
  });

  it("dtype names equal to JS prototype names ('constructor', 'toString') are unknown dtypes", () => {
    for (const code of ['constructor', 'toString', '__proto__']) {
      const e = thrown(() => readCheckpoint(pickle(P.proto(2), P.emptyDict, P.str('w'), numpyArrayOps(code, [1], f32bytes([1])), P.setitem, P.stop)));
      expect(e.message).toMatch(new RegExp(`numpy dtype '${code}' is not supported`));
      expect(e.message).not.toMatch(/function|NaN/);
    }
    const e = thrown(() => readCheckpoint(pickle(P.proto(2), P.global('constructor', 'x'), P.stop)));
    expect(e.message).toMatch(/the global 'constructor\.x', which is not on the allow-list/);
  });

  it('a global named with newlines and 100k characters gives a one-line, bounded message', () => {
    const e = thrown(() => unpickle(pickle(P.proto(2), P.stackGlobal(`evil\n${'m'.repeat(100_000)}`, 'x'), P.stop)));
    expect(e.message).not.toMatch(/\n/);
    expect(e.message.length).toBeLessThan(400);
  });

  it('the key and depth limits are raisable: maxKeyLength, maxDepth', () => {
    const longKey = pickle(P.proto(2), P.emptyDict, P.str('k'.repeat(5000)), P.int(1), P.setitem, P.stop);
    expect(thrown(() => readCheckpoint(longKey)).message).toMatch(/key of 5000 characters .* limit of 4096/);
    expect(readCheckpoint(longKey, { limits: { maxKeyLength: 8192 } }).others.size).toBe(1);
    const deep = deepDicts(150);
    expect(thrown(() => readCheckpoint(deep)).message).toMatch(/nesting deeper than 100 levels/);
    expect(readCheckpoint(deep, { limits: { maxDepth: 200 } }).others.size).toBe(1);
  });

  it('limits are checked: unknown names and non-positive values are errors', () => {
    expect(() => readCheckpoint(deepDicts(1), { limits: { maxDepht: 5 } as never })).toThrow(/unknown limit 'maxDepht'/);
    expect(() => readCheckpoint(deepDicts(1), { limits: { maxDepth: Number.NaN } })).toThrow(/maxDepth must be a positive finite number, found NaN/);
    expect(() => readCheckpoint(deepDicts(1), { limits: { maxDepth: 5000 } })).toThrow(/maxDepth must be at most 1000/);
    expect(Object.keys(DEFAULT_CHECKPOINT_LIMITS).length).toBeGreaterThanOrEqual(10);
  });
});

describe('zip: duplicate names and overlap', () => {
  const dictPkl = (v: number) => pickle(P.proto(2), P.emptyDict, P.str('v'), P.int(v), P.setitem, P.stop);

  it("duplicate names resolve to the last record, as Python's zipfile does", () => {
    const zip = makeZip([
      { name: 'archive/data.pkl', data: dictPkl(1) },
      { name: 'archive/data.pkl', data: dictPkl(2) },
    ]);
    expect(readCheckpoint(zip).others.get('v')).toBe(2);
  });

  it('records that share their data are refused once the bytes read pass the archive size', () => {
    const e = thrown(() => readCheckpoint(overlappingZip(4, 1000)));
    expect(e).toBeInstanceOf(ZipError);
    expect(e.message).toMatch(/entries overlap/);
  });
});

describe('safetensors: what the format forbids', () => {
  const w = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };

  it('duplicate keys are refused (JSON.parse would keep the last)', () => {
    const header = `{"w": ${JSON.stringify(w)}, "w": ${JSON.stringify(w)}}`;
    const e = thrown(() => readSafetensors(rawSafetensors(header, f32bytes([1]))));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.message).toBe(`safetensors: the header names 'w' twice (the format forbids duplicate keys)`);
    // Keys with escapes compare by value; nested objects may repeat top-level names.
    expect(() => readSafetensors(rawSafetensors(`{"w": ${JSON.stringify(w)}, "\\u0077": ${JSON.stringify(w)}}`, f32bytes([1])))).toThrow(/names 'w' twice/);
    expect(readSafetensors(rawSafetensors({ __metadata__: { w: 'x' }, w }, f32bytes([1]))).tensors.size).toBe(1);
  });

  it("dtype names equal to JS prototype names ('constructor', 'toString') are unknown dtypes", () => {
    for (const dtype of ['constructor', 'toString', 'hasOwnProperty']) {
      const e = thrown(() => readSafetensors(rawSafetensors({ w: { ...w, dtype } }, f32bytes([1]))));
      expect(e.message).toMatch(new RegExp(`tensor 'w' has unknown or unsupported dtype "${dtype}"; supported: F64`));
      expect(e.message).not.toMatch(/function|NaN/);
    }
  });

  it('a header length beyond the file is named as such, not "not a recognised checkpoint"', () => {
    const bytes = concat([u64le(1000), ascii('{"w": 1}')]);
    const e = thrown(() => readCheckpoint(bytes, { name: 'x.safetensors' }));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.message).toMatch(/x\.safetensors: safetensors: header length 1000 runs past the end of the file \(16 bytes, at most 8 available\)/);
  });

  it('a shape of more than maxRank dimensions, and the header size limit, are named', () => {
    expect(thrown(() => readSafetensors(rawSafetensors({ w: { ...w, shape: new Array(65).fill(1) } }, f32bytes([1])))).message).toMatch(/65 dimensions, more than the limit of 64/);
    expect(thrown(() => readSafetensors(rawSafetensors({ w }, f32bytes([1])), { limits: { maxSafetensorsHeaderBytes: 10 } })).message).toMatch(/exceeds the 10-byte limit \(checkpoint limit 'maxSafetensorsHeaderBytes'\)/);
  });

  it("createModel passes checkpointLimits to the readers (and normal files load with the defaults)", async () => {
    const seeded = await createModel('resnet20', { backend: 'reference' });
    const bytes = writeSafetensors(seeded.weights);
    await expect(createModel('resnet20', { backend: 'reference', weights: bytes })).resolves.toBeDefined();
    await expect(createModel('resnet20', { backend: 'reference', weights: bytes, checkpointLimits: { maxSafetensorsHeaderBytes: 100 } })).rejects.toThrow(
      /exceeds the 100-byte limit \(checkpoint limit 'maxSafetensorsHeaderBytes'\)/,
    );
  });
});

describe('npy: sizes from the header are checked before anything is copied', () => {
  const npy = (header: string, data: Uint8Array = new Uint8Array(0)) => {
    const h = ascii(header);
    return concat([[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0], u32le(h.length), h, data]);
  };
  it('headers over numpy\'s 10000-byte default, shapes over 64 dimensions, unsafe dimensions, overflowing products', () => {
    expect(thrown(() => readNpy(npyRegexBomb(20_000)))).toBeInstanceOf(NpyError);
    expect(thrown(() => readNpy(npyRegexBomb(20_000))).message).toMatch(/header is \d+ bytes, more than the limit of 10000/);
    const ones = new Array(65).fill('1').join(', ');
    expect(thrown(() => readNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (${ones}), }\n`))).message).toMatch(/65 dimensions, more than the limit of 64/);
    expect(thrown(() => readNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1e3,), }\n`))).message).toMatch(/bad dimension "1e3"/);
    expect(thrown(() => readNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (9007199254740993,), }\n`))).message).toMatch(/bad dimension/);
    expect(thrown(() => readNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n`))).message).toMatch(/more elements than any file can hold/);
    expect(readNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n`, f32bytes([1, 2]))).shape).toEqual([2]);
  });
});

describe('key translation: numbers in keys come from the file', () => {
  it('a stage number of 4e9 in a Paddle zoo key does not size an array', () => {
    const t = new Tensor(new Float32Array(1), [1]);
    const r = adaptStateDict(new Map([['bb_4000000000_0.conv0._conv.weight', t], ['conv._conv.weight', t]]), [{ key: 'conv1.weight', shape: [1] }]);
    expect(r.scheme).toBe('paddle-zoo');
    expect(r.notes.join('; ')).toMatch(/translated keys from the paddle-zoo scheme to torch/);
  });

  it('through the CLI (convert --model resnet20 translates the keys): the bar, and a mismatch error', () => {
    const path = join(tmp, 'stage.pdparams');
    const one = new Uint8Array(new Float32Array([1]).buffer);
    writeFileSync(path, pickle(P.proto(2), P.emptyDict, P.mark, P.str('bb_4000000000_0.conv0._conv.weight'), numpyArrayOps('f4', [1], one), P.str('conv._conv.weight'), numpyArrayOps('f4', [1], one), P.setitems, P.stop));
    const r = runHostile(['convert', path, join(tmp, 'stage.safetensors'), '--model', 'resnet20']);
    expect(hostileVerdict(r)).toBe('');
    expect(r.code).toBe(1);
  }, 30_000);
});
