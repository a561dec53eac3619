/**
 * Flattens an unpickled object tree into tensors and plain values keyed by path: dict keys and
 * list indices joined with '/' (the key rule of the shared expected.json files). Cycles, excessive
 * depth and exponential sharing are refused instead of overflowing the JS stack.
 */
import { CheckpointError } from './errors.js';
import { ITEM_SIZE, decodeToFloat32, gatherStrided, lanes } from './dtype.js';
import { type NumpyArray, PyGlobal, PyRecord, PySet, describe, numpyDType } from './pickle.js';
import { CheckpointTensor, type CheckpointValue } from './types.js';

const MAX_DEPTH = 100;

export interface Flattened {
  readonly tensors: Map<string, CheckpointTensor>;
  readonly others: Map<string, CheckpointValue>;
}

/**
 * `toTensor` turns a leaf into a tensor (or returns undefined if it is not one). `maxNodes`
 * bounds the number of visited values (shared references are visited once per path).
 */
export function flattenTree(
  root: unknown,
  toTensor: (x: unknown, key: string) => CheckpointTensor | undefined,
  notes: string[],
  maxNodes: number,
): Flattened {
  const tensors = new Map<string, CheckpointTensor>();
  const others = new Map<string, CheckpointValue>();
  const ancestors = new Set<unknown>();
  const skipped = new Map<string, number>();
  let visited = 0;

  const join = (prefix: string, k: string) => (prefix === '' ? k : `${prefix}/${k}`);
  const keyString = (k: unknown, depth = 0): string => {
    if (typeof k === 'string') return k;
    if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
    if (k === null) return 'None';
    if (Array.isArray(k) && depth < 4) return k.map((x) => keyString(x, depth + 1)).join(',');
    throw new CheckpointError(`dict key ${describe(k)} cannot name a checkpoint entry`);
  };

  const walk = (x: unknown, key: string, depth: number): void => {
    if (++visited > maxNodes) {
      throw new CheckpointError(`checkpoint object graph is too large (more than ${maxNodes} values, shared references included)`);
    }
    if (depth > MAX_DEPTH) throw new CheckpointError(`checkpoint nesting deeper than ${MAX_DEPTH} levels at '${key}'`);
    if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') return void others.set(key, x);
    if (typeof x === 'bigint') return void others.set(key, x.toString());
    const t = toTensor(x, key);
    if (t) {
      if (tensors.has(key)) throw new CheckpointError(`two tensors flatten to the same key '${key}'`);
      tensors.set(key, t);
      return;
    }
    if (typeof x !== 'object') return;
    if (ancestors.has(x)) throw new CheckpointError(`checkpoint object at '${key}' contains itself`);
    ancestors.add(x);
    if (x instanceof Map) for (const [k, v] of x) walk(v, join(key, keyString(k)), depth + 1);
    else if (x instanceof PyRecord) for (const [k, v] of x.attrs) walk(v, join(key, keyString(k)), depth + 1);
    else if (Array.isArray(x)) x.forEach((v, i) => walk(v, join(key, String(i)), depth + 1));
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
  private left: number;
  constructor(readonly inputBytes: number) {
    // uint8/bool storages expand 4x into float32, float16 2x; views sharing storages add some.
    this.left = 2 * inputBytes + (1 << 16);
  }
  take(elements: number, key: string): void {
    this.left -= elements;
    if (this.left < 0) {
      throw new CheckpointError(
        `checkpoint tensors would need more than ${2 * this.inputBytes + (1 << 16)} float32 values for a ${this.inputBytes}-byte file (at '${key}'); refusing`,
      );
    }
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
