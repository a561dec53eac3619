/**
 * PaddlePaddle `.pdparams` (paddle.save): one pickle (protocol 2-4) of a dict
 * `{structured_name: numpy.ndarray}`; some Paddle versions store each value as a tuple
 * `(param_name, ndarray)`. The extra entry `StructuredToParameterName@@` maps structured names to
 * static-graph names: it holds strings only and ends up among the non-tensor values.
 * see: PaddlePaddle python/paddle/framework/io.py (save, _build_saved_state_dict)
 */
import type { CheckpointLimits } from '../limits.js';
import { resolveLimits } from './budget.js';
import { NumpyArray, unpickle } from './pickle.js';
import { AllocationBudget, depthError, flattenTree, numpyToTensor } from './tree.js';
import type { Checkpoint } from './types.js';

export const PADDLE_NAME_TABLE = 'StructuredToParameterName@@';

/**
 * Replaces `(param_name, ndarray)` values by the array, in every dict of the tree (each dict once),
 * refusing nesting beyond `maxDepth` as the flattening does.
 */
function unwrapNamedArrays(x: unknown, seen: Set<unknown>, limits: CheckpointLimits, path: unknown[]): number {
  if (!(x instanceof Map) || seen.has(x)) return 0;
  if (path.length > limits.maxDepth) throw depthError(limits, path);
  seen.add(x);
  let n = 0;
  for (const [k, v] of x) {
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[1] instanceof NumpyArray) {
      x.set(k, v[1]);
      n++;
    } else if (v instanceof Map) {
      path.push(k);
      n += unwrapNamedArrays(v, seen, limits, path);
      path.pop();
    }
  }
  return n;
}

export function readPaddle(bytes: Uint8Array, opts: { limits?: Partial<CheckpointLimits> } = {}): Checkpoint {
  const limits = resolveLimits(opts.limits);
  const { value, end } = unpickle(bytes, { limits });
  const notes: string[] = [];
  if (end !== bytes.length) notes.push(`pickle: ${bytes.length - end} bytes after the STOP opcode were ignored`);
  const unwrapped = unwrapNamedArrays(value, new Set(), limits, []);
  if (unwrapped) notes.push(`paddle: ${unwrapped} value(s) stored as (param_name, array) tuples; the arrays were used`);
  const budget = new AllocationBudget(limits, bytes.length);
  const { tensors, others } = flattenTree(
    value,
    (x, key) => (x instanceof NumpyArray ? numpyToTensor(x, key, budget) : undefined),
    notes,
    limits,
    bytes.length,
  );
  if ([...others.keys()].some((k) => k.startsWith(`${PADDLE_NAME_TABLE}/`))) {
    notes.push(`paddle: '${PADDLE_NAME_TABLE}' (structured -> parameter names) kept among the non-tensor values`);
  }
  return { format: 'paddle', tensors, others, notes };
}
