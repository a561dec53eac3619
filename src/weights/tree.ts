/**
 * Flattens an unpickled object tree into tensors and plain values keyed by path: dict keys and
 * list indices joined with '/' (the key rule of the shared expected.json files). Cycles are refused;
 * depth, key length, the values visited and the characters of all keys are limited (src/limits.ts),
 * so that shared (memoised) subtrees, which a pickle can name again for 5 bytes, cannot make the
 * walk cost more than linear in the input.
 */
import type { CheckpointLimits } from '../limits.js';
import { Budget, quote } from './budget.js';
import { CheckpointError } from './errors.js';
import { ITEM_SIZE, decodeToFloat32, gatherStrided, lanes } from './dtype.js';
import { type NumpyArray, PyGlobal, PyLong, PyRecord, PySet, describe, numpyDType } from './pickle.js';
import { CheckpointTensor, type CheckpointValue } from './types.js';

export interface Flattened {
  readonly tensors: Map<string, CheckpointTensor>;
  readonly others: Map<string, CheckpointValue>;
}

/** The nesting error every reader gives (the Paddle unwrapping and the flattening alike). */
export function depthError(limits: CheckpointLimits, path: readonly unknown[]): CheckpointError {
  const shown = path.slice(0, 8).map((k) => (typeof k === 'string' ? k : describe(k))).join('/');
  return new CheckpointError(
    `checkpoint nesting deeper than ${limits.maxDepth} levels at ${quote(`${shown}${path.length > 8 ? '/...' : ''}`)} (checkpoint limit 'maxDepth')`,
  );
}

/** `toTensor` turns a leaf into a tensor (or returns undefined if it is not one). */
export function flattenTree(
  root: unknown,
  toTensor: (x: unknown, key: string) => CheckpointTensor | undefined,
  notes: string[],
  limits: CheckpointLimits,
  inputBytes: number,
): Flattened {
  const tensors = new Map<string, CheckpointTensor>();
  const others = new Map<string, CheckpointValue>();
  const ancestors = new Set<unknown>();
  const skipped = new Map<string, number>();
  const visits = Budget.perByte(limits, 'visitsPerByte', inputBytes, 1000, 'checkpoint object graph is too large: values visited (shared references once per path)');
  const chars = Budget.perByte(limits, 'keyCharsPerByte', inputBytes, 1 << 20, 'characters of keys and integer text');
  const tupleKeys = new Map<unknown[], string>();
  const maxKey = limits.maxKeyLength;
  const tooLong = (length: number, start: string) =>
    new CheckpointError(`checkpoint key of ${length > maxKey ? length : `more than ${maxKey}`} characters starting ${quote(start, 60)} is longer than the limit of ${maxKey} (checkpoint limit 'maxKeyLength')`);

  const join = (prefix: string, k: string) => {
    const key = prefix === '' ? k : `${prefix}/${k}`;
    if (key.length > maxKey) throw tooLong(key.length, key.slice(0, 60));
    chars.take(key.length, () => quote(key, 60));
    return key;
  };
  // A tuple key joins its items with ','; each tuple's text is made once however often it is used.
  const keyString = (k: unknown, depth = 0): string => {
    if (typeof k === 'string') return k;
    if (typeof k === 'number' || typeof k === 'boolean') return String(k);
    if (k instanceof PyLong) return bigText(k.value);
    if (k === null) return 'None';
    if (Array.isArray(k) && depth < 4) {
      const known = tupleKeys.get(k);
      if (known !== undefined) return known;
      if (k.length > maxKey) throw tooLong(k.length, '');
      const parts: string[] = [];
      let length = Math.max(0, k.length - 1);
      for (const x of k) {
        const part = keyString(x, depth + 1);
        length += part.length;
        if (length > maxKey) throw tooLong(length, parts.join(',').slice(0, 60));
        parts.push(part);
      }
      const text = parts.join(',');
      chars.take(text.length, () => quote(text, 60));
      tupleKeys.set(k, text);
      return text;
    }
    throw new CheckpointError(`dict key ${describe(k)} cannot name a checkpoint entry`);
  };
  // Decimal text of a big integer: charged, since a memoised one is named again for 5 bytes.
  const bigText = (v: bigint): string => {
    chars.take(Math.ceil(v.toString(16).length * 1.21), 'a large integer');
    return String(v);
  };

  const path: unknown[] = [];
  const walk = (x: unknown, key: string, depth: number): void => {
    visits.take(1, () => quote(key, 60));
    if (depth > limits.maxDepth) throw depthError(limits, path);
    if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') return void others.set(key, x);
    if (typeof x === 'bigint') return void others.set(key, bigText(x));
    const t = toTensor(x, key);
    if (t) {
      if (tensors.has(key)) throw new CheckpointError(`two tensors flatten to the same key ${quote(key)}`);
      tensors.set(key, t);
      return;
    }
    if (typeof x !== 'object') return;
    if (ancestors.has(x)) throw new CheckpointError(`checkpoint object at ${quote(key)} contains itself`);
    ancestors.add(x);
    const child = (k: unknown, v: unknown, text: string) => {
      path.push(k);
      walk(v, join(key, text), depth + 1);
      path.pop();
    };
    if (x instanceof Map) for (const [k, v] of x) child(k, v, keyString(k));
    else if (x instanceof PyRecord) for (const [k, v] of x.attrs) child(k, v, keyString(k));
    else if (Array.isArray(x)) for (let i = 0; i < x.length; i++) child(i, x[i], String(i));
    else {
      const what = x instanceof Uint8Array ? 'bytes' : x instanceof PySet ? 'set' : x instanceof PyGlobal ? x.qualified : describe(x);
      skipped.set(what, (skipped.get(what) ?? 0) + 1);
    }
    ancestors.delete(x);
  };
  walk(root, '', 0);
  for (const [what, n] of skipped) notes.push(`skipped ${n} non-tensor value(s) of type ${what}`);
  return { tensors, others };
}

/** Caps the float32 elements a checkpoint may allocate, relative to its size in bytes. */
export class AllocationBudget {
  private readonly budget: Budget;
  constructor(limits: CheckpointLimits, inputBytes: number) {
    this.budget = Budget.perByte(limits, 'floatsPerByte', inputBytes, 1 << 16, 'float32 values of the decoded tensors');
  }
  take(elements: number, key: string): void {
    this.budget.take(elements, () => quote(key, 60));
  }
}

/** numpy array (from a pickle) -> tensor, C order; Fortran-order arrays are transposed back. */
export function numpyToTensor(a: NumpyArray, key: string, budget: AllocationBudget): CheckpointTensor {
  if (!a.dtype || !a.data) throw new CheckpointError(`numpy array at '${key}' was never given its data (missing BUILD)`);
  const dtype = numpyDType(a.dtype);
  const count = a.shape.reduce((p, d) => p * d, 1);
  const size = ITEM_SIZE[dtype];
  if (a.data.length !== count * size) {
    throw new CheckpointError(
      `numpy array at '${key}': ${dtype} [${a.shape.join(', ')}] needs ${count * size} bytes, found ${a.data.length}`,
    );
  }
  budget.take(count * lanes(dtype), key);
  const le = a.dtype.byteOrder !== '>';
  let data = decodeToFloat32(a.data, 0, count, dtype, le);
  if (a.fortran && a.shape.length > 1) {
    // Fortran order: the first axis varies fastest, i.e. strides [1, d0, d0*d1, ...].
    const strides: number[] = [];
    let s = 1;
    for (const d of a.shape) {
      strides.push(s);
      s *= d;
    }
    data = gatherStrided(data, 0, a.shape, strides, lanes(dtype));
  }
  return new CheckpointTensor(dtype, a.shape, data);
}
