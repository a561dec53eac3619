/**
 * The pickle reader: opcodes of every protocol, the allow-list (hostile pickles are refused by
 * name, nothing runs), numpy arrays in protocol 2 (via _codecs.encode) and Paddle's tuple values.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointError, PickleError, PickleGlobalError, readCheckpoint } from '../src/weights/index.js';
import { NumpyArray, unpickle } from '../src/weights/pickle.js';
import { concat, f32bytes, numpyArrayOps, P, pickle, thrown } from './weights-fixtures.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('pickle: values', () => {
  it('protocol 0 (text opcodes)', () => {
    // {'a': [1, 2.5, 'x', True, None, 12345678901234567890L], 'b': (u'\u00e9',)} as written by protocol 0
    const text =
      "(dp0\nS'a'\np1\n(lp2\nI1\naF2.5\naS'x\\n'\np3\naI01\naNaL12345678901234567890L\nasS'b'\np4\n(V\\u00e9\np5\ntp6\ns.";
    const { value } = unpickle(ascii(text));
    expect(value).toEqual(new Map<unknown, unknown>([['a', [1, 2.5, 'x\n', true, null, 12345678901234567890n]], ['b', ['é']]]));
  });

  it('protocol 2 with memo, SETITEMS, APPENDS, LONG1 and BINFLOAT', () => {
    const bytes = pickle(
      P.proto(2), P.emptyDict, P.put(0), P.mark,
      P.str('list'), P.emptyList, P.put(1), P.mark, P.int(7), P.int(300), P.int(-5), P.appends,
      P.str('same'), P.get(1),
      P.str('big'), [0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1], // LONG1 2^64
      P.str('neg'), [0x8a, 1, 0xff], // -1
      P.str('pi'), P.float(Math.PI),
      P.setitems, P.stop,
    );
    const { value, end } = unpickle(bytes);
    expect(end).toBe(bytes.length);
    const d = value as Map<string, unknown>;
    expect(d.get('list')).toEqual([7, 300, -5]);
    expect(d.get('same')).toBe(d.get('list'));
    expect(d.get('big')).toBe(2n ** 64n);
    expect(d.get('neg')).toBe(-1);
    expect(d.get('pi')).toBe(Math.PI);
  });

  it('protocol 4 with FRAME, MEMOIZE, STACK_GLOBAL and a numpy array', () => {
    const body = pickle(P.emptyDict, [0x94], P.str('w'), numpyArrayOps('f4', [2, 2], f32bytes([1, 2, 3, 4])), P.setitem, P.stop);
    const frame = [0x95, body.length, 0, 0, 0, 0, 0, 0, 0];
    const { value } = unpickle(concat([P.proto(4), frame, body]));
    const a = (value as Map<string, unknown>).get('w');
    expect(a).toBeInstanceOf(NumpyArray);
    expect((a as NumpyArray).shape).toEqual([2, 2]);
  });
});

describe('pickle: hostile globals are refused by name, nothing runs', () => {
  const cases: [string, Uint8Array, string][] = [
    ['os.system (protocol 0)', ascii("cos\nsystem\n(S'touch /tmp/pwned'\ntR."), 'os.system'],
    ['posix.system', ascii("cposix\nsystem\n(S'id'\ntR."), 'posix.system'],
    ['builtins.eval (STACK_GLOBAL)', pickle(P.proto(4), P.stackGlobal('builtins', 'eval'), P.str('1+1'), P.tuple1, P.reduce, P.stop), 'builtins.eval'],
    ['__builtin__.eval (Python 2 name)', ascii("c__builtin__\neval\n(S'1'\ntR."), 'builtins.eval'],
    ['subprocess.check_output', pickle(P.proto(2), P.global('subprocess', 'check_output'), P.str('ls'), P.tuple1, P.reduce, P.stop), 'subprocess.check_output'],
    ['builtins.getattr', pickle(P.proto(2), P.global('builtins', 'getattr'), P.stop), 'builtins.getattr'],
    ['INST opcode', ascii("(S'ls'\nios\nsystem\n."), 'os.system'],
    ['torch.load itself', pickle(P.proto(2), P.global('torch', 'load'), P.stop), 'torch.load'],
  ];
  for (const [what, bytes, global] of cases) {
    it(what, () => {
      const e = thrown(() => unpickle(bytes));
      expect(e).toBeInstanceOf(PickleGlobalError);
      expect((e as PickleGlobalError).global).toBe(global);
      expect(e.message).toContain(`'${global}'`);
      expect(e.message).toContain('nothing was executed');
    });
  }

  it('a .pdparams-shaped file with a hostile value is refused through readCheckpoint', () => {
    const bytes = pickle(P.proto(2), P.emptyDict, P.str('w'), P.global('os', 'system'), P.str('id'), P.tuple1, P.reduce, P.setitem, P.stop);
    const e = thrown(() => readCheckpoint(bytes));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain("'os.system'");
  });
});

describe('pickle: malformed input gives specific errors', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', pickle(P.proto(2), P.emptyDict), /input ends at offset 3 before STOP/],
    ['truncated argument', pickle(P.proto(2), [0x58, 100, 0, 0, 0, 0x61]), /BINUNICODE needs 100 bytes at offset 7/],
    ['unknown opcode', pickle(P.proto(2), [0xff]), /unknown opcode 0xff at offset 2/],
    ['stack underflow', pickle(P.proto(2), P.reduce), /stack underflow/],
    ['memo miss', pickle(P.proto(2), P.get(9), P.stop), /memo key 9 read at offset 4 was never stored/],
    ['two values at STOP', pickle(P.proto(2), P.none, P.none, P.stop), /STOP at offset 4 with 2 values/],
    ['SETITEM on a list', pickle(P.proto(2), P.emptyList, P.none, P.none, P.setitem, P.stop), /SETITEM\(S\) at offset 5 on a sequence of 0, not a dict/],
    ['huge integer', pickle(P.proto(2), [0x8b, 0, 0x10, 0, 0], new Uint8Array(4096), P.stop), /integer of 4096 bytes exceeds/],
    ['calling a type name', pickle(P.proto(2), P.global('numpy', 'ndarray'), P.emptyTuple, P.reduce, P.stop), /numpy.ndarray is allowed as a type name but cannot be called/],
    ['persistent id without storages', pickle(P.proto(2), P.str('0'), P.binpersid, P.stop), /persistent id at offset 8, but this format has no external storages/],
    ['numpy array with too few bytes', pickle(P.proto(2), numpyArrayOps('f4', [3], f32bytes([1, 2])), P.stop), /numpy array at '': float32 \[3\] needs 12 bytes, found 8/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      const e = thrown(() => readCheckpoint(bytes));
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(message);
    });
  }

  it('a dict that contains itself is refused when flattened', () => {
    const bytes = pickle(P.proto(2), P.emptyDict, P.put(0), P.str('me'), P.get(0), P.setitem, P.stop);
    expect(() => readCheckpoint(bytes)).toThrow(/object at 'me' contains itself/);
  });

  it('a dict key that contains itself is refused', () => {
    // l = []; l.append(l); {l: 1}
    const bytes = pickle(P.proto(2), P.emptyDict, P.emptyList, P.put(0), P.get(0), [0x61], P.int(1), P.setitem, P.stop);
    expect(() => readCheckpoint(bytes)).toThrow(/dict key a sequence of 1 cannot name a checkpoint entry/);
  });

  it('exponential sharing is bounded', () => {
    // l0 = [], l1 = [l0, l0], l2 = [l1, l1], ... 2^40 leaves from a few hundred bytes.
    const POP = [0x30];
    const parts: number[][] = [P.proto(2), P.emptyList, P.put(0), POP];
    for (let i = 1; i <= 40; i++) parts.push(P.get(i - 1), P.get(i - 1), P.tuple2, P.put(i), i < 40 ? POP : []);
    parts.push(P.stop);
    const e = thrown(() => readCheckpoint(pickle(...parts)));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/too large|deeper than/);
  });

  it('PickleError is a CheckpointError', () => {
    expect(new PickleError('x')).toBeInstanceOf(CheckpointError);
  });
});

describe('pickle: paddle layouts', () => {
  it('(param_name, ndarray) tuple values use the array; protocol 2 bytes via _codecs.encode', () => {
    // Protocol 2 under Python 3 pickles bytes as _codecs.encode(latin1 str, 'latin1').
    const raw = f32bytes([0.5, -1.25]);
    const latin1 = String.fromCharCode(...raw);
    const ops = numpyArrayOps('f4', [2], new Uint8Array(0));
    // Replace the BINBYTES b'' of the data with _codecs.encode(...): rebuild by hand.
    const bytesOp = P.bytes(new Uint8Array(0));
    const at = ops.length - bytesOp.length - 2; // before TUPLE, BUILD
    const encoded = [...P.global('_codecs', 'encode'), ...P.mark, ...P.str(latin1), ...P.str('latin1'), ...P.tuple, ...P.reduce];
    const arrayOps = [...ops.slice(0, at), ...encoded, ...ops.slice(at + bytesOp.length)];
    const bytes = pickle(
      P.proto(2), P.emptyDict, P.mark,
      P.str('fc.weight'), P.mark, P.str('linear_0.w_0'), arrayOps, P.tuple,
      P.str('StructuredToParameterName@@'), P.emptyDict, P.str('fc.weight'), P.str('linear_0.w_0'), P.setitem,
      P.setitems, P.stop,
    );
    const ckpt = readCheckpoint(bytes);
    expect(ckpt.format).toBe('paddle');
    expect([...ckpt.tensors.keys()]).toEqual(['fc.weight']);
    expect([...ckpt.tensors.get('fc.weight')!.data]).toEqual([0.5, -1.25]);
    expect(ckpt.others.get('StructuredToParameterName@@/fc.weight')).toBe('linear_0.w_0');
    expect(ckpt.notes.join('\n')).toMatch(/1 value\(s\) stored as \(param_name, array\) tuples/);
  });

  it('numpy scalars keep full precision (float64, int64)', () => {
    const scalar = (code: string, raw: Uint8Array) => [
      ...P.global('numpy.core.multiarray', 'scalar'),
      ...P.global('numpy', 'dtype'), ...P.str(code), ...P.f, ...P.t, ...P.tuple3, ...P.reduce,
      ...P.mark, ...P.int(3), ...P.str('<'), ...P.none, ...P.none, ...P.none, ...P.int(-1), ...P.int(-1), ...P.int(0), ...P.tuple, ...P.build,
      ...P.bytes(raw), ...P.tuple2, ...P.reduce,
    ];
    const f8 = new Uint8Array(8);
    new DataView(f8.buffer).setFloat64(0, 0.1, true);
    const i8 = new Uint8Array(8);
    new DataView(i8.buffer).setBigInt64(0, 12345678901n, true);
    const bytes = pickle(P.proto(2), P.emptyDict, P.mark, P.str('acc'), scalar('f8', f8), P.str('step'), scalar('i8', i8), P.str('w'), numpyArrayOps('f4', [1], f32bytes([2])), P.setitems, P.stop);
    const ckpt = readCheckpoint(bytes);
    expect(ckpt.others.get('acc')).toBe(0.1);
    expect(ckpt.others.get('step')).toBe(12345678901);
  });

  it('big-endian and Fortran-order arrays come out in C order', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    const fortranOps = numpyArrayOps('f4', [2, 3], f32bytes([1, 4, 2, 5, 3, 6]));
    // is_fortran is the NEWFALSE just before the data's BINBYTES: flip it to NEWTRUE.
    const flag = fortranOps.length - P.bytes(f32bytes([1, 4, 2, 5, 3, 6])).length - 3;
    expect(fortranOps[flag]).toBe(0x89);
    fortranOps[flag] = 0x88;
    const bytes = pickle(P.proto(2), P.emptyDict, P.mark, P.str('be'), numpyArrayOps('f4', [2], be, '>'), P.str('f'), fortranOps, P.setitems, P.stop);
    const ckpt = readCheckpoint(bytes);
    expect([...ckpt.tensors.get('be')!.data]).toEqual([1.5, -2]);
    expect([...ckpt.tensors.get('f')!.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
