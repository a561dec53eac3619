/**
 * A pickle reader that executes nothing. It interprets the opcodes of protocols 0-5 the way
 * CPython's `pickle._Unpickler` does (see: cpython Lib/pickle.py and Lib/pickletools.py for the
 * opcode table), but a GLOBAL only resolves against a fixed allow-list of data types (dicts,
 * torch tensor rebuilders and storage types, numpy arrays and dtypes), each implemented here in
 * TypeScript. Any other global is refused with its `module.name`.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
 * float -> number, str -> string, bytes/bytearray -> Uint8Array, list and tuple -> Array,
 * dict and OrderedDict -> Map, set -> PySet; torch and numpy objects -> the classes below.
 *
 * Bounds (issue 17): every opcode consumes input, so the loop ends; strings and bytes are slices of
 * the input; integers are limited to `maxIntBytes`; the memo, stack and containers only hold what the
 * input pushed. What the allow-listed constructors copy (`list(x)`, `dict(x)`, `bytearray(b)`: a
 * memoised argument costs 5 bytes to name again) is charged to a budget of `copiesPerByte` per input
 * byte, and shapes are limited to `maxRank` dimensions before they are read.
 * Python ints beyond 2^53 used as dict keys become `PyLong`s (one object per value): V8 hashes a
 * bigint by its lowest 64 bits only, so Map keys sharing them made dict building quadratic.
 */
import type { CheckpointLimits } from '../limits.js';
import { Budget, clip, quote, resolveLimits } from './budget.js';
import { type DType, ITEM_SIZE, decodeToFloat32 } from './dtype.js';
import { PickleError, PickleGlobalError } from './errors.js';

/** What an allow-listed callable may use: the copy budget and the limits. */
export interface CallContext {
  /** Charges `n` copied elements to the unpickler's copy budget. */
  copy(n: number, where: string): void;
  readonly maxRank: number;
  readonly maxDepth: number;
  /** A dict key as stored: large ints become interned PyLongs (see the file comment), the rest is kept. */
  dictKey(k: unknown): unknown;
}

/** A Python int beyond 2^53 used as a dict key (interned: equal values are one object, as Python's dict wants). */
export class PyLong {
  constructor(readonly value: bigint) {}
  toString(): string {
    return String(this.value);
  }
}

/** A `set` or `frozenset` (its items may be unhashable in JS terms, so kept as a list). */
export class PySet {
  constructor(readonly items: unknown[]) {}
}

/** An allow-listed class or function, as pushed by GLOBAL. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call?: (args: unknown[], ctx: CallContext) => unknown,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A plain attribute bag (argparse.Namespace): flattened like a dict of its attributes. */
export class PyRecord {
  readonly attrs = new Map<unknown, unknown>();
  constructor(readonly cls: string) {}
}

/** `torch.FloatStorage` and friends: the element type of a storage named in a persistent id. */
export class TorchStorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}

/** A torch dtype object (`torch.float32`), as used by newer rebuild functions. */
export class TorchDType {
  constructor(readonly name: string, readonly dtype: DType | undefined) {}
}

/** A torch tensor view: storage (what the persistent-id callback returned), offset and strides in elements. */
export class TorchTensorRef {
  constructor(
    readonly storage: unknown,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** numpy dtype: `code` such as 'f4', byte order from BUILD ('<', '>', '|', '='). */
export class NumpyDType {
  byteOrder = '=';
  constructor(readonly code: string) {}
}

/** A numpy array, filled by BUILD: C or Fortran order raw bytes. */
export class NumpyArray {
  dtype: NumpyDType | undefined;
  shape: number[] = [0];
  fortran = false;
  data: Uint8Array | undefined;
}

/** numpy dtype codes we decode -> our dtypes (see numpy's array-interface type strings). */
const NUMPY_DTYPES: Readonly<Record<string, DType>> = {
  f8: 'float64', f4: 'float32', f2: 'float16',
  i8: 'int64', i4: 'int32', i2: 'int16', i1: 'int8',
  u8: 'uint64', u4: 'uint32', u2: 'uint16', u1: 'uint8',
  b1: 'bool', c8: 'complex64', c16: 'complex128',
  float64: 'float64', float32: 'float32', float16: 'float16',
  int64: 'int64', int32: 'int32', int16: 'int16', int8: 'int8',
  uint64: 'uint64', uint32: 'uint32', uint16: 'uint16', uint8: 'uint8', bool: 'bool',
  complex64: 'complex64', complex128: 'complex128',
};

export function numpyDType(d: NumpyDType): DType {
  const t = Object.hasOwn(NUMPY_DTYPES, d.code) ? NUMPY_DTYPES[d.code] : undefined;
  if (!t) throw new PickleError(`numpy dtype ${quote(d.code)} is not supported (expected one of ${Object.keys(NUMPY_DTYPES).slice(0, 14).join(', ')})`);
  return t;
}

/** Storage classes of torch (`torch.<Name>Storage`), their element types. */
const TORCH_STORAGES: Readonly<Record<string, DType>> = {
  DoubleStorage: 'float64', FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool', ComplexDoubleStorage: 'complex128', ComplexFloatStorage: 'complex64',
  UntypedStorage: 'uint8',
};

/** torch dtype attribute names -> ours (undefined: known to torch, not decodable here). */
const TORCH_DTYPES: Readonly<Record<string, DType | undefined>> = {
  float64: 'float64', double: 'float64', float32: 'float32', float: 'float32', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool', complex64: 'complex64', complex128: 'complex128',
  uint16: 'uint16', uint32: 'uint32', uint64: 'uint64',
};

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

function intList(x: unknown, what: string, maxRank: number): number[] {
  if (Array.isArray(x) && x.length > maxRank) {
    throw new PickleError(`${what} has ${x.length} dimensions, more than the limit of ${maxRank} (checkpoint limit 'maxRank')`);
  }
  if (!Array.isArray(x) || !x.every((v) => isInt(v) && v >= 0)) {
    throw new PickleError(`${what} must be a tuple of non-negative integers, found ${describe(x)}`);
  }
  return x as number[];
}

/** A short description of a value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return 'None';
  if (x === undefined) return 'nothing';
  if (typeof x === 'string') return quote(x, 40);
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (typeof x === 'bigint' || x instanceof PyLong) {
    const v = x instanceof PyLong ? x.value : x;
    return v >= -(10n ** 40n) && v <= 10n ** 40n ? String(v) : `an integer of ${v.toString(16).length * 4} bits`;
  }
  if (x instanceof Uint8Array) return `bytes(${x.length})`;
  if (Array.isArray(x)) return `a sequence of ${x.length}`;
  if (x instanceof Map) return `a dict of ${x.size}`;
  if (x instanceof PyGlobal) return quote(x.qualified);
  return (x as object).constructor?.name ?? typeof x;
}

function argCount(g: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    throw new PickleError(`${g} takes ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`);
  }
}

/** torch._utils._rebuild_tensor(storage, storage_offset, size, stride) and _v2 (+ requires_grad, hooks[, metadata]). */
function rebuildTensor(g: string, args: unknown[], ctx: CallContext): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!isInt(offset) || offset < 0) throw new PickleError(`${g}: storage offset must be a non-negative integer, found ${describe(offset)}`);
  const shape = intList(size, `${g}: size`, ctx.maxRank);
  const strides = intList(stride, `${g}: stride`, ctx.maxRank);
  if (shape.length !== strides.length) {
    throw new PickleError(`${g}: size has ${shape.length} dimensions but stride has ${strides.length}`);
  }
  return new TorchTensorRef(storage, offset, [...shape], [...strides]);
}

/** The allow-list: `module.name` -> what GLOBAL pushes. Nothing here runs Python. */
function allowList(): Map<string, unknown> {
  const m = new Map<string, unknown>();
  const fn = (q: string, call: (args: unknown[], ctx: CallContext) => unknown) => {
    const cut = q.lastIndexOf('.');
    m.set(q, new PyGlobal(q.slice(0, cut), q.slice(cut + 1), call));
  };
  const newDict = (g: string) => (args: unknown[], ctx: CallContext) => {
    argCount(g, args, 0, 1);
    const d = new Map<unknown, unknown>();
    if (args.length === 1) {
      const src = args[0];
      if (!(src instanceof Map) && !Array.isArray(src)) throw new PickleError(`${g}: expected a list of pairs, found ${describe(src)}`);
      // A dict entry is charged as 4 elements: inserting into a Map costs several times an array slot.
      ctx.copy(4 * (src instanceof Map ? src.size : src.length), g);
      if (src instanceof Map) for (const [k, v] of src) d.set(k, v);
      else {
        for (const pair of src) {
          if (!Array.isArray(pair) || pair.length !== 2) throw new PickleError(`${g}: expected (key, value) pairs, found ${describe(pair)}`);
          d.set(ctx.dictKey(pair[0]), pair[1]);
        }
      }
    }
    return d;
  };
  const copyList = (g: string) => (args: unknown[], ctx: CallContext): unknown[] => {
    if (!args.length || !Array.isArray(args[0])) return [];
    ctx.copy(args[0].length, g);
    return [...args[0]];
  };
  fn('collections.OrderedDict', newDict('collections.OrderedDict'));
  fn('builtins.dict', newDict('builtins.dict'));
  fn('builtins.list', copyList('builtins.list'));
  fn('builtins.tuple', copyList('builtins.tuple'));
  fn('builtins.set', (args, ctx) => new PySet(copyList('builtins.set')(args, ctx)));
  fn('builtins.frozenset', (args, ctx) => new PySet(copyList('builtins.frozenset')(args, ctx)));
  fn('builtins.bytearray', (args, ctx) => {
    if (args.length === 0) return new Uint8Array(0);
    if (args[0] instanceof Uint8Array) {
      ctx.copy(args[0].length, 'builtins.bytearray');
      return args[0].slice();
    }
    if (typeof args[0] === 'string' && args[1] === 'latin-1') return latin1Bytes(args[0], 'builtins.bytearray', ctx);
    throw new PickleError(`builtins.bytearray: unsupported arguments (${args.map(describe).join(', ')})`);
  });
  // Protocol 2 pickles of bytes under Python 3: _codecs.encode(str, 'latin1').
  fn('_codecs.encode', (args, ctx) => {
    argCount('_codecs.encode', args, 1, 2);
    const [s, enc] = args;
    if (typeof s !== 'string') throw new PickleError(`_codecs.encode: expected a str, found ${describe(s)}`);
    if (enc !== undefined && enc !== 'latin1' && enc !== 'latin-1') throw new PickleError(`_codecs.encode: only latin1 is supported, found ${describe(enc)}`);
    return latin1Bytes(s, '_codecs.encode', ctx);
  });
  fn('argparse.Namespace', () => new PyRecord('argparse.Namespace'));

  // torch
  fn('torch._utils._rebuild_tensor', (args, ctx) => {
    argCount('torch._utils._rebuild_tensor', args, 4);
    return rebuildTensor('torch._utils._rebuild_tensor', args, ctx);
  });
  fn('torch._utils._rebuild_tensor_v2', (args, ctx) => {
    argCount('torch._utils._rebuild_tensor_v2', args, 4, 7);
    return rebuildTensor('torch._utils._rebuild_tensor_v2', args, ctx);
  });
  const rebuildParameter = (g: string) => (args: unknown[]) => {
    argCount(g, args, 3, 4);
    if (!(args[0] instanceof TorchTensorRef)) throw new PickleError(`${g}: expected a tensor, found ${describe(args[0])}`);
    return args[0];
  };
  fn('torch._utils._rebuild_parameter', rebuildParameter('torch._utils._rebuild_parameter'));
  fn('torch._utils._rebuild_parameter_with_state', rebuildParameter('torch._utils._rebuild_parameter_with_state'));
  // Tensor subclasses and tensors with attributes: _rebuild_from_type_v2(func, type, args, state).
  // Its func may be itself, nested as deep as the file likes: unwrapped in a loop, not by recursion.
  const REBUILD_FROM_TYPE = 'torch._tensor._rebuild_from_type_v2';
  fn(REBUILD_FROM_TYPE, (args, ctx) => {
    for (let level = 0; ; level++) {
      argCount(REBUILD_FROM_TYPE, args, 4);
      const [f, , fargs] = args;
      if (!(f instanceof PyGlobal) || !f.call || !Array.isArray(fargs)) {
        throw new PickleError(`${REBUILD_FROM_TYPE}: expected (function, type, args, state), found ${describe(f)}`);
      }
      if (f.qualified !== REBUILD_FROM_TYPE) return f.call(fargs, ctx);
      if (level >= ctx.maxDepth) throw new PickleError(`${REBUILD_FROM_TYPE} nested deeper than ${ctx.maxDepth} levels (checkpoint limit 'maxDepth')`);
      args = fargs;
    }
  });
  m.set('torch.Tensor', new PyGlobal('torch', 'Tensor'));
  m.set('torch.nn.parameter.Parameter', new PyGlobal('torch.nn.parameter', 'Parameter'));
  fn('torch.Size', (args, ctx) => intList(args[0] ?? [], 'torch.Size', ctx.maxRank));
  fn('torch.device', (args) => {
    argCount('torch.device', args, 1, 2);
    if (typeof args[0] !== 'string' || (args.length === 2 && !isInt(args[1]))) {
      throw new PickleError(`torch.device: expected (type, index), found (${args.map(describe).join(', ')})`);
    }
    return args.join(':');
  });
  for (const [name, dtype] of Object.entries(TORCH_STORAGES)) {
    m.set(`torch.${name}`, new TorchStorageType(name, dtype));
    m.set(`torch.cuda.${name}`, new TorchStorageType(name, dtype));
  }
  m.set('torch.storage.UntypedStorage', new TorchStorageType('UntypedStorage', 'uint8'));
  for (const [name, dtype] of Object.entries(TORCH_DTYPES)) m.set(`torch.${name}`, new TorchDType(name, dtype));

  // numpy (numpy 2 renamed numpy.core to numpy._core; pickles name either)
  for (const core of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    fn(`${core}._reconstruct`, (args) => {
      argCount(`${core}._reconstruct`, args, 3);
      const cls = args[0];
      if (!(cls instanceof PyGlobal) || cls.qualified !== 'numpy.ndarray') {
        throw new PickleError(`${core}._reconstruct builds only numpy.ndarray, found ${describe(cls)}`);
      }
      return new NumpyArray();
    });
    // numpy scalars: scalar(dtype, bytes) -> a number.
    fn(`${core}.scalar`, (args, ctx) => {
      argCount(`${core}.scalar`, args, 1, 2);
      const [dt, raw] = args;
      if (!(dt instanceof NumpyDType)) throw new PickleError(`${core}.scalar: expected a numpy dtype, found ${describe(dt)}`);
      const bytes = typeof raw === 'string' ? latin1Bytes(raw, `${core}.scalar`, ctx) : raw;
      if (!(bytes instanceof Uint8Array)) throw new PickleError(`${core}.scalar: expected bytes, found ${describe(raw)}`);
      const dtype = numpyDType(dt);
      if (bytes.length !== ITEM_SIZE[dtype]) throw new PickleError(`${core}.scalar: ${dtype} needs ${ITEM_SIZE[dtype]} bytes, found ${bytes.length}`);
      return scalarValue(bytes, dtype, dt.byteOrder !== '>');
    });
  }
  m.set('numpy.ndarray', new PyGlobal('numpy', 'ndarray'));
  fn('numpy.dtype', (args) => {
    argCount('numpy.dtype', args, 1, 3);
    if (typeof args[0] !== 'string') throw new PickleError(`numpy.dtype: expected a type code, found ${describe(args[0])}`);
    return new NumpyDType(args[0]);
  });
  return m;
}

const ALLOWED = allowList();

/** Python 2 module names used by old pickles -> Python 3 names (as pickle's fix_imports does). */
const PY2_MODULES: Readonly<Record<string, string>> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

/** One numpy scalar at full precision (float64, int64 and friends are not squeezed through float32). */
function scalarValue(bytes: Uint8Array, dtype: DType, le: boolean): number | bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float64': return v.getFloat64(0, le);
    case 'int64': return toNumber(v.getBigInt64(0, le));
    case 'uint64': return toNumber(v.getBigUint64(0, le));
    case 'int32': return v.getInt32(0, le);
    case 'uint32': return v.getUint32(0, le);
    case 'complex64':
    case 'complex128': throw new PickleError(`numpy complex scalars are not supported`);
    default: return decodeToFloat32(bytes, 0, 1, dtype, le)[0];
  }
}

function latin1Bytes(s: string, where: string, ctx: CallContext): Uint8Array {
  ctx.copy(s.length, where);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new PickleError(`${where}: character U+${c.toString(16)} is not latin1`);
    out[i] = c;
  }
  return out;
}

/** BUILD: applies pickled state to an object we built. */
function build(obj: unknown, state: unknown, ctx: CallContext): void {
  if (obj instanceof NumpyArray) {
    // ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)), version optional.
    const st = Array.isArray(state) ? (state.length === 5 ? state.slice(1) : state) : undefined;
    if (!st || st.length !== 4) throw new PickleError(`numpy array state must be (version, shape, dtype, is_fortran, data), found ${describe(state)}`);
    const [shape, dtype, fortran, raw] = st;
    obj.shape = [...intList(shape, 'numpy array shape', ctx.maxRank)];
    if (!(dtype instanceof NumpyDType)) throw new PickleError(`numpy array state: expected a dtype, found ${describe(dtype)}`);
    obj.dtype = dtype;
    obj.fortran = fortran === true || fortran === 1;
    if (typeof raw === 'string') obj.data = latin1Bytes(raw, 'numpy array data', ctx);
    else if (raw instanceof Uint8Array) obj.data = raw;
    else throw new PickleError(`numpy array data must be bytes (object arrays are not supported), found ${describe(raw)}`);
    return;
  }
  if (obj instanceof NumpyDType) {
    // dtype.__setstate__((version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]))
    if (!Array.isArray(state) || state.length < 2 || typeof state[1] !== 'string') {
      throw new PickleError(`numpy dtype state must start (version, byteorder), found ${describe(state)}`);
    }
    if (state[3] !== null && state[3] !== undefined) throw new PickleError(`numpy structured dtypes are not supported (dtype ${quote(obj.code)} has fields)`);
    obj.byteOrder = state[1];
    return;
  }
  if (obj instanceof PyRecord) {
    const dict = Array.isArray(state) ? state[0] : state; // (dict, slots) or dict
    if (dict instanceof Map) for (const [k, v] of dict) obj.attrs.set(k, v);
    return;
  }
  if (obj instanceof Map || obj instanceof TorchTensorRef) {
    // OrderedDict._metadata (torch state dicts), tensor attributes: not data we need.
    return;
  }
  throw new PickleError(`BUILD (setting object state) is not supported on ${describe(obj)}`);
}

/** Calls an allow-listed callable (REDUCE, NEWOBJ, INST, OBJ). */
function callGlobal(f: unknown, args: unknown, ctx: CallContext): unknown {
  if (!(f instanceof PyGlobal)) throw new PickleError(`cannot call ${describe(f)}: only allow-listed functions are callable`);
  if (!f.call) throw new PickleError(`${f.qualified} is allowed as a type name but cannot be called here`);
  if (!Array.isArray(args)) throw new PickleError(`${f.qualified}: arguments must be a tuple, found ${describe(args)}`);
  return f.call(args, ctx);
}


export interface UnpickleOptions {
  /** Byte offset where the pickle starts (a stream may hold several). */
  readonly offset?: number;
  /** Receives each persistent id (torch: ('storage', StorageType, key, location, numel)). */
  readonly persistentLoad?: (pid: unknown) => unknown;
  /** Limits over the defaults (src/limits.ts). */
  readonly limits?: Partial<CheckpointLimits>;
  /**
   * The copy budget, when several pickles of one file share it (the legacy torch stream); by
   * default a new one of `copiesPerByte` per byte of `bytes`.
   */
  readonly copyBudget?: Budget;
}

/** The copy budget of a file of `inputBytes` bytes. */
export function pickleCopyBudget(limits: CheckpointLimits, inputBytes: number): Budget {
  return Budget.perByte(limits, 'copiesPerByte', inputBytes, 1 << 20, 'elements copied by pickle constructors', (m) => new PickleError(`pickle: ${m}`));
}

/** Reads one pickle. Returns the value and the offset just past its STOP opcode. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  let pos = opts.offset ?? 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const limits = resolveLimits(opts.limits);
  const maxIntBytes = limits.maxIntBytes;
  const copyBudget = opts.copyBudget ?? pickleCopyBudget(limits, bytes.length);
  let opAt = 0;
  const longs = new Map<string, PyLong>();
  const dictKey = (k: unknown): unknown => {
    if (typeof k !== 'bigint') return k;
    const hex = k.toString(16);
    let p = longs.get(hex);
    if (!p) longs.set(hex, (p = new PyLong(k)));
    return p;
  };
  const ctx: CallContext = { copy: (n, where) => copyBudget.take(n, `${where} at offset ${opAt}`), maxRank: limits.maxRank, maxDepth: limits.maxDepth, dictKey };

  const need = (n: number, what: string): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.length) {
      throw new PickleError(`pickle truncated: ${what} needs ${n} bytes at offset ${pos}, but the input ends at ${bytes.length}`);
    }
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1, 'a 1-byte argument')];
  const u16 = () => view.getUint16(need(2, 'a 2-byte argument'), true);
  const u32 = () => view.getUint32(need(4, 'a 4-byte argument'), true);
  const i32 = () => view.getInt32(need(4, 'a 4-byte argument'), true);
  const u64 = () => {
    const at = need(8, 'an 8-byte length');
    const hi = view.getUint32(at + 4, true);
    if (hi >= 0x200000) throw new PickleError(`pickle: 8-byte length at offset ${at} is too large`);
    return hi * 4294967296 + view.getUint32(at, true);
  };
  const slice = (n: number, what: string) => {
    const at = need(n, what);
    return bytes.subarray(at, at + n);
  };
  const line = (what: string): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) throw new PickleError(`pickle truncated: ${what} at offset ${pos} has no terminating newline`);
    const s = latin1(bytes.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) {
      throw new PickleError(`pickle: stack underflow at offset ${pos - 1}`);
    }
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new PickleError(`pickle: empty stack at offset ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new PickleError(`pickle: no MARK before offset ${pos - 1}`);
    return stack.splice(m);
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) throw new PickleError(`pickle: memo key ${i} read at offset ${pos} was never stored`);
    return memo.get(i);
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const mod = Object.hasOwn(PY2_MODULES, module) ? PY2_MODULES[module] : module;
    const q = `${mod}.${name}`;
    const g = ALLOWED.get(q);
    if (g === undefined) throw new PickleGlobalError(clip(q, 200));
    return g;
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    if (b.length > maxIntBytes) throw new PickleError(`pickle: integer of ${b.length} bytes exceeds the ${maxIntBytes}-byte limit (checkpoint limit 'maxIntBytes')`);
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return toNumber(v);
  };
  const setItems = (d: unknown, items: unknown[], at: number) => {
    if (items.length % 2) throw new PickleError(`pickle: SETITEMS at offset ${at} has an odd number of items (${items.length})`);
    if (d instanceof Map) for (let i = 0; i < items.length; i += 2) d.set(dictKey(items[i]), items[i + 1]);
    else if (d instanceof PyRecord) for (let i = 0; i < items.length; i += 2) d.attrs.set(dictKey(items[i]), items[i + 1]);
    else throw new PickleError(`pickle: SETITEM(S) at offset ${at} on ${describe(d)}, not a dict`);
  };
  const appendItems = (l: unknown, items: unknown[], at: number) => {
    if (Array.isArray(l)) for (const x of items) l.push(x);
    else if (l instanceof PySet) for (const x of items) l.items.push(x);
    else throw new PickleError(`pickle: APPEND(S)/ADDITEMS at offset ${at} on ${describe(l)}, not a list`);
  };

  for (;;) {
    const at = pos;
    opAt = at;
    if (pos >= bytes.length) throw new PickleError(`pickle truncated: input ends at offset ${pos} before STOP`);
    const op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > 5) throw new PickleError(`pickle protocol ${p} at offset ${at} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: framing is advisory for a reader of the whole input
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) {
          throw new PickleError(`pickle: STOP at offset ${at} with ${stack.length} values on the stack (expected 1)`);
        }
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      // --- constants and numbers
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(signedLE(slice(u8(), 'LONG1'))); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) throw new PickleError(`pickle: LONG4 at offset ${at} has negative length ${n}`);
        stack.push(signedLE(slice(n, 'LONG4')));
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8, 'BINFLOAT'), false)); break; // BINFLOAT (big-endian)
      case 0x49: { // INT (text); "00"/"01" are False/True in protocol 0
        const s = line('INT');
        if (s === '00' || s === '01') stack.push(s === '01');
        else stack.push(parseTextInt(s, at, maxIntBytes));
        break;
      }
      case 0x4c: stack.push(parseTextInt(line('LONG').replace(/L$/, ''), at, maxIntBytes)); break; // LONG (text)
      case 0x46: stack.push(parseTextFloat(line('FLOAT'), at)); break; // FLOAT (text)
      // --- strings and bytes
      case 0x58: stack.push(utf8.decode(slice(u32(), 'BINUNICODE'))); break; // BINUNICODE
      case 0x8c: stack.push(utf8.decode(slice(u8(), 'SHORT_BINUNICODE'))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(slice(u64(), 'BINUNICODE8'))); break; // BINUNICODE8
      case 0x56: stack.push(unescapeRawUnicode(line('UNICODE'))); break; // UNICODE (raw-unicode-escape)
      case 0x54: { // BINSTRING (Python 2 str): kept as a latin1 string
        const n = i32();
        if (n < 0) throw new PickleError(`pickle: BINSTRING at offset ${at} has negative length ${n}`);
        stack.push(latin1(slice(n, 'BINSTRING')));
        break;
      }
      case 0x55: stack.push(latin1(slice(u8(), 'SHORT_BINSTRING'))); break; // SHORT_BINSTRING
      case 0x53: stack.push(unquotePy2String(line('STRING'), at)); break; // STRING (repr)
      case 0x42: stack.push(slice(u32(), 'BINBYTES').slice()); break; // BINBYTES
      case 0x43: stack.push(slice(u8(), 'SHORT_BINBYTES').slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(slice(u64(), 'BINBYTES8').slice()); break; // BINBYTES8
      case 0x96: stack.push(slice(u64(), 'BYTEARRAY8').slice()); break; // BYTEARRAY8
      case 0x97: throw new PickleError(`pickle: NEXT_BUFFER at offset ${at} needs out-of-band buffers, which a file cannot carry`);
      case 0x98: break; // READONLY_BUFFER: no-op for us
      // --- containers
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x8f: stack.push(new PySet([])); break; // EMPTY_SET
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x91: stack.push(new PySet(popMark())); break; // FROZENSET
      case 0x64: { // DICT
        const items = popMark();
        const d = new Map();
        setItems(d, items, at);
        stack.push(d);
        break;
      }
      case 0x61: { const x = pop(); appendItems(top(), [x], at); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items, at); break; } // APPENDS
      case 0x90: { const items = popMark(); appendItems(top(), items, at); break; } // ADDITEMS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v], at); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items, at); break; } // SETITEMS
      // --- memo
      case 0x70: memo.set(memoIndex(line('PUT'), at), top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: stack.push(memoGet(memoIndex(line('GET'), at))); break; // GET
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      // --- globals and calls
      case 0x63: { // GLOBAL
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new PickleError(`pickle: STACK_GLOBAL at offset ${at} needs two strings, found ${describe(module)}, ${describe(name)}`);
        }
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: { const args = pop(); const f = pop(); stack.push(callGlobal(f, args, ctx)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(callGlobal(cls, args, ctx)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof Map) || kwargs.size) throw new PickleError(`pickle: NEWOBJ_EX at offset ${at} with keyword arguments is not supported`);
        stack.push(callGlobal(cls, args, ctx));
        break;
      }
      case 0x69: { // INST module\nname\n: class called with the items above MARK
        const module = line('INST module');
        const name = line('INST name');
        const args = popMark();
        stack.push(callGlobal(resolveGlobal(module, name), args, ctx));
        break;
      }
      case 0x6f: { // OBJ: class and args above MARK
        const items = popMark();
        if (items.length === 0) throw new PickleError(`pickle: OBJ at offset ${at} has no class`);
        stack.push(callGlobal(items[0], items.slice(1), ctx));
        break;
      }
      case 0x62: { const state = pop(); build(top(), state, ctx); break; } // BUILD
      case 0x50: { // PERSID (text)
        const pid = line('PERSID');
        stack.push(persistent(pid, at));
        break;
      }
      case 0x51: stack.push(persistent(pop(), at)); break; // BINPERSID
      case 0x82: case 0x83: case 0x84: // EXT1, EXT2, EXT4
        throw new PickleError(`pickle: extension registry opcode 0x${op.toString(16)} at offset ${at} is not supported`);
      default:
        throw new PickleError(`pickle: unknown opcode 0x${op.toString(16)} at offset ${at}`);
    }
  }

  function persistent(pid: unknown, at: number): unknown {
    if (!opts.persistentLoad) throw new PickleError(`pickle: persistent id at offset ${at}, but this format has no external storages`);
    return opts.persistentLoad(pid);
  }
}

function toNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseTextInt(s: string, at: number, maxIntBytes: number): number | bigint {
  const t = s.trim();
  if (t.length > 2.5 * maxIntBytes) throw new PickleError(`pickle: text integer of ${t.length} digits at offset ${at} exceeds the ${maxIntBytes}-byte limit (checkpoint limit 'maxIntBytes')`);
  if (!/^[-+]?\d+$/.test(t)) throw new PickleError(`pickle: bad integer ${quote(t, 40)} at offset ${at}`);
  return toNumber(BigInt(t));
}

/** A text PUT/GET memo index: a non-negative integer below 2^32, like the binary forms. */
function memoIndex(s: string, at: number): number {
  const t = s.trim();
  if (!/^\d{1,10}$/.test(t) || Number(t) >= 2 ** 32) throw new PickleError(`pickle: memo index ${quote(t, 40)} at offset ${at} is not an integer below 2^32`);
  return Number(t);
}

/** Protocol 0 FLOAT: Python's repr of a float, including 'inf', '-inf' and 'nan' (as float() reads them). */
function parseTextFloat(s: string, at: number): number {
  const t = s.trim();
  const special = /^([-+]?)(inf|infinity|nan)$/i.exec(t);
  if (special) return special[2].toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  const v = Number(t);
  if (t === '' || Number.isNaN(v) || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) {
    throw new PickleError(`pickle: FLOAT at offset ${at} is not a number: ${quote(t, 40)}`);
  }
  return v;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** Protocol 0 UNICODE: raw-unicode-escape, i.e. latin1 with \uXXXX and \UXXXXXXXX escapes. */
function unescapeRawUnicode(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string, b: string) => {
    const cp = parseInt(a ?? b, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}

/** Protocol 0 STRING: a Python 2 string literal in quotes, with backslash escapes. */
function unquotePy2String(s: string, at: number): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) {
    throw new PickleError(`pickle: STRING at offset ${at} is not quoted: ${s.slice(0, 40)}`);
  }
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    return simple[e] ?? `\\${e}`;
  });
}
