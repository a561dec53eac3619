/**
 * Weights for a built graph: checkpoint bytes (or a tensor map) -> state dict -> key scheme
 * adapted to the model's names -> bound by key with shapes checked (strict by default). The ms
 * spent reading (parse and decode) and binding (find, adapt, bind) are returned as `timings`.
 */
import type { CheckpointLimits } from '../limits.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { adaptStateDict, bindWeights, extractStateDict, readCheckpoint, storedDType } from '../weights/index.js';
import { NarrowTensor, type WeightTensor } from '../weights/narrow.js';

export interface ExpectedParam {
  readonly key: string;
  readonly shape: number[];
  readonly kind: 'param' | 'buffer';
}

export interface WeightsReport {
  /** Container format, or 'tensors' when a map was given. */
  readonly format: string;
  /** Where inside the checkpoint the state dict was found ('' = top level). */
  readonly path: string;
  /** The key scheme the checkpoint was read as (e.g. torch, paddle, akamaster). */
  readonly scheme: string;
  /** How a lean checkpoint stored its conv and linear weights (`resnet convert --dtype`); absent for others. */
  readonly dtype?: 'fp16' | 'int8';
  readonly notes: readonly string[];
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly { key: string; expected: number[]; found: number[] }[];
  readonly ignored: readonly string[];
  /** How many of the model's tensors came from the checkpoint. */
  readonly bound: number;
  /**
   * Non-strict binding only: the model's keys that got seeded weights (models/init.ts) because the
   * checkpoint lacks them or has them with another shape; empty when everything was bound.
   */
  readonly seeded: readonly string[];
}

export interface LoadOptions {
  readonly strict: boolean;
  readonly keyScheme?: string;
  readonly model: string;
  /** File name for error messages. */
  readonly name?: string;
  /**
   * Parameters the checkpoint may hold that the model does not read: a features-only model's
   * classifier. They take part in key-scheme detection and translation, then are reported as ignored.
   */
  readonly unread?: readonly ExpectedParam[];
  /** The checkpoint readers' limits, raised for a genuine giant file (src/limits.ts). */
  readonly limits?: Partial<CheckpointLimits>;
}

export function loadWeights(
  expected: readonly ExpectedParam[],
  source: Uint8Array | ArrayBuffer | ReadonlyMap<string, TensorLike | NarrowTensor>,
  opts: LoadOptions,
): { weights: Map<string, WeightTensor>; report: WeightsReport; timings: { read: number; bind: number } } {
  const t0 = performance.now();
  let tensors: Map<string, Tensor | NarrowTensor>;
  let format = 'tensors';
  let path = '';
  let dtype: 'fp16' | 'int8' | undefined;
  const notes: string[] = [];
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    // A lean checkpoint's int8 / fp16 weights stay narrow (views into the bytes) through binding: see weights/narrow.ts.
    const ckpt = readCheckpoint(bytes, { name: opts.name, limits: opts.limits, narrow: true });
    format = ckpt.format;
    dtype = storedDType(ckpt.metadata);
    notes.push(...ckpt.notes);
    const sd = extractStateDict(ckpt);
    path = sd.path;
    notes.push(...sd.notes);
    tensors = sd.tensors;
  } else {
    tensors = new Map([...source].map(([k, t]) => [k, t instanceof NarrowTensor ? t : Tensor.from(t)]));
  }
  const t1 = performance.now();
  const unread = opts.unread ?? [];
  const adapted = adaptStateDict(tensors, [...expected, ...unread], { from: opts.keyScheme });
  notes.push(...adapted.notes);
  const bound = bindWeights(expected, adapted.tensors, { strict: opts.strict, model: opts.model, ignore: unread.map((p) => p.key) });
  return {
    weights: bound.weights,
    report: { format, path, scheme: adapted.scheme, ...(dtype ? { dtype } : {}), notes, ...bound.report, bound: bound.weights.size, seeded: [] },
    timings: { read: t1 - t0, bind: performance.now() - t1 },
  };
}
