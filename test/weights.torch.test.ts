/**
 * torch.save containers built in memory: zip archives with any prefix, sparse storage keys,
 * strided views, float16/bfloat16/big-endian storages, TorchScript and re-zipped archives refused;
 * a legacy stream with a storage view; state-dict extraction from wrappers.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointTensor, extractStateDict, readCheckpoint, TorchFormatError, ZipError, CheckpointError } from '../src/weights/index.js';
import { crc32 } from '../src/weights/zip.js';
import { concat, f32bytes, makeZip, P, pickle, torchTensorOps, u64le, thrown } from './weights-fixtures.js';

const text = (s: string) => new TextEncoder().encode(s);

/** data.pkl of {name: tensor} for the given tensor ops. */
function dictPickle(items: [string, number[]][]): Uint8Array {
  return pickle(
    P.proto(2),
    P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce,
    P.mark, ...items.flatMap(([k, ops]) => [P.str(k), ops]), P.setitems,
    P.stop,
  );
}

describe('torch zip', () => {
  it('errors carry the file name when given', () => {
    const zip = makeZip([{ name: 'archive/data.pkl', data: text('x'), method: 8 }]);
    expect(() => readCheckpoint(zip, { name: 'resnet50.pth' })).toThrow(/^resnet50.pth: zip: entry 'archive\/data.pkl' is compressed/);
  });

  it('CRC-32 matches the standard check values', () => {
    expect(crc32(text('123456789'))).toBe(0xcbf43926);
    expect(crc32(text('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('any prefix, sparse keys, offsets, a transposed view, float16 and bfloat16 storages', () => {
    const storage = f32bytes([0, 1, 2, 3, 4, 5, 6]);
    const half = Uint8Array.of(0x00, 0x3c, 0x00, 0xc0); // 1, -2
    const bf16 = Uint8Array.of(0xc0, 0x3f); // 1.5
    const pkl = dictPickle([
      ['w', torchTensorOps('FloatStorage', '93891237928208', 7, 1, [2, 3], [3, 1])], // [[1,2,3],[4,5,6]]
      ['wt', torchTensorOps('FloatStorage', '93891237928208', 7, 1, [3, 2], [1, 3])], // its transpose
      ['h', torchTensorOps('HalfStorage', '7', 2, 0, [2], [1])],
      ['b', torchTensorOps('BFloat16Storage', '8', 1, 0, [], [])],
      ['bcast', torchTensorOps('FloatStorage', '93891237928208', 7, 6, [2, 2], [0, 0])], // expanded scalar 6
    ]);
    const zip = makeZip([
      { name: 'my model.v2/data.pkl', data: pkl },
      { name: 'my model.v2/byteorder', data: text('little') },
      { name: 'my model.v2/data/93891237928208', data: storage },
      { name: 'my model.v2/data/7', data: half },
      { name: 'my model.v2/data/8', data: bf16 },
      { name: 'my model.v2/version', data: text('3\n') },
    ]);
    const ckpt = readCheckpoint(zip);
    expect(ckpt.format).toBe('torch-zip');
    const get = (k: string) => ckpt.tensors.get(k) as CheckpointTensor;
    expect([...get('w').data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(get('wt').shape).toEqual([3, 2]);
    expect([...get('wt').data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(get('h').dtype).toBe('float16');
    expect([...get('h').data]).toEqual([1, -2]);
    expect([...get('b').data]).toEqual([1.5]);
    expect(get('b').shape).toEqual([]);
    expect([...get('bcast').data]).toEqual([6, 6, 6, 6]);
    expect(ckpt.notes.join()).toContain('cpu');
  });

  it('zip64 central directory and extra fields', () => {
    const entries = [
      { name: 'archive/data.pkl', data: dictPickle([['x', torchTensorOps('FloatStorage', '0', 2, 0, [2], [1])]]) },
      { name: 'archive/data/0', data: f32bytes([7, -7]) },
    ];
    expect([...readCheckpoint(makeZip(entries, { zip64: true })).tensors.get('x')!.data]).toEqual([7, -7]);
  });

  it('big-endian storages (byteorder record "big")', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 0.25, false);
    new DataView(be.buffer).setFloat32(4, -8, false);
    const zip = makeZip([
      { name: 'archive/data.pkl', data: dictPickle([['x', torchTensorOps('FloatStorage', '0', 2, 0, [2], [1])]]) },
      { name: 'archive/byteorder', data: text('big') },
      { name: 'archive/data/0', data: be },
    ]);
    expect([...readCheckpoint(zip).tensors.get('x')!.data]).toEqual([0.25, -8]);
  });

  const pkl = dictPickle([['x', torchTensorOps('FloatStorage', '0', 2, 0, [2], [1])]]);
  const cases: [string, Uint8Array, typeof CheckpointError, RegExp][] = [
    [
      'TorchScript archive',
      makeZip([
        { name: 'VADr/data.pkl', data: pkl },
        { name: 'VADr/code/__torch__/vad.py', data: text('class VAD: pass') },
        { name: 'VADr/constants.pkl', data: pickle(P.proto(2), P.emptyTuple, P.stop) },
      ]),
      TorchFormatError,
      /TorchScript archive \(torch.jit.save/,
    ],
    ['re-zipped with deflate', makeZip([{ name: 'archive/data.pkl', data: pkl, method: 8 }]), ZipError, /entry 'archive\/data.pkl' is compressed \(method 8, deflate\)/],
    ['corrupt entry', makeZip([{ name: 'archive/data.pkl', data: pkl, badCrc: true }]), ZipError, /entry 'archive\/data.pkl' is corrupt: CRC-32/],
    ['missing storage', makeZip([{ name: 'archive/data.pkl', data: pkl }]), TorchFormatError, /storage '0' has no entry 'archive\/data\/0'/],
    [
      'storage too small',
      makeZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32bytes([1]) }]),
      TorchFormatError,
      /storage '0' holds 4 bytes, but 2 float32 elements need 8/,
    ],
    [
      'view beyond its storage',
      makeZip([
        { name: 'archive/data.pkl', data: dictPickle([['x', torchTensorOps('FloatStorage', '0', 2, 1, [2], [1])]]) },
        { name: 'archive/data/0', data: f32bytes([1, 2]) },
      ]),
      TorchFormatError,
      /tensor 'x' \[2\] \(offset 1, stride \[1\]\) reaches element 2 of a 2-element storage '0'/,
    ],
    ['no data.pkl', makeZip([{ name: 'readme.txt', data: text('hi') }]), TorchFormatError, /no data.pkl entry \(entries: 'readme.txt'\)/],
    ['truncated zip', makeZip([{ name: 'archive/data.pkl', data: pkl }]).subarray(0, 60), ZipError, /no end-of-central-directory record/],
  ];
  for (const [what, bytes, cls, message] of cases) {
    it(what, () => {
      const e = thrown(() => readCheckpoint(bytes));
      expect(e).toBeInstanceOf(cls);
      expect(e.message).toMatch(message);
    });
  }
});

describe('torch legacy stream', () => {
  it('reads a storage view (view_metadata offset and size)', () => {
    const magic = pickle(P.proto(2), [0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], P.stop);
    const proto = pickle(P.proto(2), [0x4d, 0xe9, 0x03], P.stop);
    const sys = pickle(P.proto(2), P.emptyDict, P.str('little_endian'), P.t, P.setitem, P.stop);
    const obj = pickle(
      P.proto(2), P.emptyDict, P.str('a'),
      P.global('torch._utils', '_rebuild_tensor'),
      P.mark,
      P.mark, P.str('storage'), P.global('torch.cuda', 'FloatStorage'), P.str('140'), P.str('cuda:0'), P.int(5),
      P.mark, P.str('140v'), P.int(2), P.int(3), P.tuple, P.tuple, P.binpersid,
      P.int(1), P.mark, P.int(2), P.tuple, P.mark, P.int(1), P.tuple,
      P.tuple, P.reduce, P.setitem, P.stop,
    );
    const keys = pickle(P.proto(2), P.emptyList, P.str('140'), [0x61], P.stop);
    const file = concat([magic, proto, sys, obj, keys, u64le(5), f32bytes([10, 11, 12, 13, 14])]);
    const ckpt = readCheckpoint(file);
    expect(ckpt.format).toBe('torch-legacy');
    // view starts at element 2 of the root; the tensor at offset 1 of the view: [13, 14]
    expect([...ckpt.tensors.get('a')!.data]).toEqual([13, 14]);
    expect(ckpt.notes.join()).toContain('cuda:0');

    const short = concat([magic, proto, sys, obj, keys, u64le(5), f32bytes([10, 11])]);
    expect(thrown(() => readCheckpoint(short)).message).toMatch(/storage '140' needs 20 bytes at offset \d+, but the file ends/);
    const wrongCount = concat([magic, proto, sys, obj, keys, u64le(4), f32bytes([10, 11, 12, 13])]);
    expect(thrown(() => readCheckpoint(wrongCount)).message).toMatch(/storage '140' records 4 elements in the data section but 5 in the pickle/);
  });
});

describe('extractStateDict', () => {
  const t = (n: number) => new CheckpointTensor('float32', [n], new Float32Array(n));
  it('picks the container with most tensors, preferring state_dict over EMA copies', () => {
    const sd = extractStateDict({
      tensors: new Map([
        ['state_dict_ema/a', t(1)], ['state_dict_ema/b', t(1)],
        ['state_dict/a', t(1)], ['state_dict/b', t(1)],
        ['optimizer/state/0/momentum', t(1)],
      ]),
    });
    expect(sd.path).toBe('state_dict');
    expect([...sd.tensors.keys()]).toEqual(['a', 'b']);
    expect(sd.notes[1]).toMatch(/'state_dict_ema' \(2\)/);
  });
  it('top level, forced paths and a clear error for a wrong path', () => {
    const tensors = new Map([['conv.weight', t(2)], ['model/x', t(1)]]);
    expect(extractStateDict({ tensors }).path).toBe('');
    expect([...extractStateDict({ tensors }, { path: 'model' }).tensors.keys()]).toEqual(['x']);
    expect(() => extractStateDict({ tensors }, { path: 'net' })).toThrow(/no tensors under 'net'.*'', 'model'/);
    expect(() => extractStateDict({ tensors: new Map() })).toThrow(/holds no tensors/);
  });
});
