/** What every checkpoint reader produces. */
import { Tensor } from '../tensor.js';
import { type DType, lanes } from './dtype.js';

/**
 * One tensor from a checkpoint, decoded to float32 in C order whatever its stored dtype;
 * `dtype` says what it was. Integer tensors (e.g. `num_batches_tracked`) are kept, marked by
 * their dtype, so the binder can refuse them as weights. A complex tensor of logical shape S is
 * stored with shape [...S, 2] (re, im).
 */
export class CheckpointTensor extends Tensor {
  readonly dtype: DType;

  constructor(dtype: DType, shape: readonly number[], data: Float32Array) {
    super(data, lanes(dtype) === 2 ? [...shape, 2] : shape);
    this.dtype = dtype;
  }
}

/** Plain values found next to the tensors (accuracies, epochs, names). */
export type CheckpointValue = number | string | boolean | null;

export type CheckpointFormat = 'safetensors' | 'torch-zip' | 'torch-legacy' | 'paddle';

/** `T`: `CheckpointTensor | NarrowTensor` when read with `narrow` (see load.ts readCheckpoint). */
export interface Checkpoint<T = CheckpointTensor> {
  readonly format: CheckpointFormat;
  /** Every tensor, keyed by its path: nesting levels joined with '/' (`state_dict/conv1.weight`). */
  readonly tensors: Map<string, T>;
  /** Non-tensor leaves (numbers, strings, booleans, None), keyed the same way. */
  readonly others: Map<string, CheckpointValue>;
  /** What the reader noticed and skipped or assumed (location strings, Paddle name tables...). */
  readonly notes: string[];
  /** safetensors `__metadata__`, when present. */
  readonly metadata?: Record<string, string>;
}
