/**
 * Lean checkpoints: conv and linear weights stored as float16 or as int8, written by
 * `resnet convert --dtype`. `readCheckpoint` widens them back to float32; a model binds them as
 * they are stored (`NarrowTensor`, see narrow.ts), and each backend widens what it needs.
 *
 * The format (safetensors, recorded in `__metadata__`):
 * - `resnet_ts.dtype`: `fp16` or `int8` (absent: a plain checkpoint).
 * - Which tensors: conv and linear weights, i.e. the floating tensors of rank >= 2 whose key ends
 *   in `weight`. Everything else (BatchNorm weights, biases and running statistics, rank 1) stays
 *   float32: 0.2% of ResNet-50's bytes, and running variances are what fp16 would round worst.
 * - fp16: the weight as F16, rounded to nearest, ties to even; a weight beyond 65504 is refused.
 * - int8: weight-only, symmetric, one float32 scale per output channel (axis 0):
 *   `scale[o] = max_i |w[o, i]| / 127`, `q[o, i] = round_half_even(w[o, i] / scale[o])` in
 *   [-127, 127] (-128 unused, so the range is symmetric); `<key>` holds q as I8 and
 *   `<key>.scale` the scales as F32 [out_channels]; reading gives `q * scale` in float32. An
 *   all-zero channel has scale 0. Activations stay float32 (weight-only quantization).
 * see: Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
 * Integer-Arithmetic-Only Inference" (symmetric per-channel weights, arXiv 1712.05877).
 */
import type { TensorLike } from '../tensor.js';
import { quote } from './budget.js';
import { CheckpointError } from './errors.js';
import { NarrowTensor } from './narrow.js';
import type { StoredTensor, WriteDType } from './safetensors.js';
import { CheckpointTensor } from './types.js';
import { floatToHalfBits, halfBitsToFloat, isFloatDType, type DType } from './dtype.js';

/** How a checkpoint's conv and linear weights are stored. */
export type WeightDType = 'float32' | 'fp16' | 'int8';

export const WEIGHT_DTYPES: readonly WeightDType[] = ['float32', 'fp16', 'int8'];

/** The `__metadata__` key that names a lean checkpoint's dtype. */
export const DTYPE_METADATA_KEY = 'resnet_ts.dtype';

/** The suffix of an int8 weight's scales: `<key>.scale`. */
export const SCALE_SUFFIX = '.scale';

/** Largest |q| of int8 weights (symmetric: -128 is never written). */
const QMAX = 127;

/** Whether a tensor is a conv or linear weight (the tensors fp16 and int8 store narrow). */
export function isNarrowed(key: string, shape: readonly number[]): boolean {
  return shape.length >= 2 && key.endsWith('weight');
}

/** JS's Math.round rounds ties up; this rounds them to the even neighbour (numpy, torch). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per output channel (axis 0): int8 values (as floats) and float32 scales; q * scale approximates w. */
export function quantizeInt8(t: TensorLike): { q: Float32Array; scale: Float32Array } {
  const out = t.shape[0];
  const per = t.data.length / out;
  const q = new Float32Array(t.data.length);
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let max = 0;
    for (let i = o * per; i < (o + 1) * per; i++) max = Math.max(max, Math.abs(t.data[i]));
    if (!Number.isFinite(max)) throw new CheckpointError(`int8: output channel ${o} holds a non-finite weight; expected finite values`);
    const s = Math.fround(max / QMAX);
    scale[o] = s;
    if (s === 0) continue;
    for (let i = o * per; i < (o + 1) * per; i++) q[i] = Math.max(-QMAX, Math.min(QMAX, roundHalfEven(t.data[i] / s))) + 0; // + 0: no -0, which I8 cannot hold
  }
  return { q, scale };
}

/** What convert writes for one dtype: the tensors, their safetensors dtypes, metadata, and the float32 values a reader gets back. */
export interface NarrowedCheckpoint {
  readonly tensors: Map<string, TensorLike>;
  readonly dtypes: Map<string, WriteDType>;
  readonly metadata: Record<string, string>;
  /** Every key a reader will see, with the float32 values it will read (for verification). */
  readonly restored: Map<string, Float32Array>;
  /** How many tensors were stored narrow. */
  readonly narrowed: number;
}

/** Stores a state dict's conv and linear weights as fp16 or int8 (see the file comment); float32 keeps them. */
export function narrowWeights(tensors: ReadonlyMap<string, TensorLike>, dtype: WeightDType): NarrowedCheckpoint {
  const out = new Map<string, TensorLike>();
  const dtypes = new Map<string, WriteDType>();
  const restored = new Map<string, Float32Array>();
  let narrowed = 0;
  for (const [key, t] of tensors) {
    if (dtype === 'float32' || !isNarrowed(key, t.shape)) {
      out.set(key, t);
      restored.set(key, t.data);
      continue;
    }
    if (key.endsWith(SCALE_SUFFIX) || tensors.has(key + SCALE_SUFFIX)) {
      throw new CheckpointError(`${dtype}: ${quote(key + SCALE_SUFFIX)} would collide with the scale name of ${quote(key)}; rename the tensor`);
    }
    narrowed++;
    if (dtype === 'fp16') {
      const back = new Float32Array(t.data.length);
      for (let i = 0; i < back.length; i++) {
        if (Math.abs(t.data[i]) > 65504) throw new CheckpointError(`fp16: ${quote(key)}[${i}] = ${t.data[i]} is beyond float16's range (65504)`);
        back[i] = halfBitsToFloat(floatToHalfBits(t.data[i]));
      }
      out.set(key, t);
      dtypes.set(key, 'F16');
      restored.set(key, back);
      continue;
    }
    const { q, scale } = quantizeInt8(t);
    out.set(key, { data: q, shape: t.shape });
    out.set(key + SCALE_SUFFIX, { data: scale, shape: [t.shape[0]] });
    dtypes.set(key, 'I8');
    restored.set(key, dequantize(q, scale));
  }
  const metadata: Record<string, string> = dtype === 'float32' ? {} : { [DTYPE_METADATA_KEY]: dtype, 'resnet_ts.narrowed': String(narrowed) };
  return { tensors: out, dtypes, metadata, restored, narrowed };
}

function dequantize(q: Float32Array, scale: Float32Array): Float32Array {
  const per = q.length / scale.length;
  const w = new Float32Array(q.length);
  for (let o = 0; o < scale.length; o++) {
    for (let i = o * per; i < (o + 1) * per; i++) w[i] = q[i] * scale[o];
  }
  return w;
}

/** The lean dtype a checkpoint's metadata records; undefined for a plain one. Unknown values are an error. */
export function storedDType(metadata: Readonly<Record<string, string>> | undefined): Exclude<WeightDType, 'float32'> | undefined {
  const d = metadata?.[DTYPE_METADATA_KEY];
  if (d === undefined) return undefined;
  if (d === 'fp16' || d === 'int8') return d;
  throw new CheckpointError(`__metadata__ ${quote(DTYPE_METADATA_KEY)} is ${quote(d)}; expected 'fp16' or 'int8'`);
}

/**
 * A lean checkpoint's tensors as bound weights: each I8 `<key>` becomes a NarrowTensor of its int8
 * values and `<key>.scale` (dropped as a key), each F16 one a NarrowTensor of its bits; float
 * tensors stay as they are. Every I8 tensor needs a float scale of shape [out_channels] with
 * finite, non-negative values, and every scale its I8 tensor. Nothing is widened.
 */
export function pairStored(tensors: ReadonlyMap<string, CheckpointTensor>, stored: ReadonlyMap<string, StoredTensor>): Map<string, CheckpointTensor | NarrowTensor> {
  const dtypeOf = (key: string): DType | undefined => tensors.get(key)?.dtype ?? stored.get(key)?.dtype;
  const out = new Map<string, CheckpointTensor | NarrowTensor>();
  for (const key of [...tensors.keys(), ...stored.keys()]) {
    if (key.endsWith(SCALE_SUFFIX)) {
      const owner = key.slice(0, -SCALE_SUFFIX.length);
      if (dtypeOf(owner) !== 'int8') {
        throw new CheckpointError(`int8 checkpoint: scale ${quote(key)} has no I8 weight ${quote(owner)} (found ${dtypeOf(owner) ?? 'nothing'} there)`);
      }
      continue;
    }
    const t = tensors.get(key);
    if (t) {
      out.set(key, t);
      continue;
    }
    const s = stored.get(key)!;
    if (s.dtype === 'float16') {
      out.set(key, new NarrowTensor({ dtype: 'float16', bits: s.values }, s.shape));
      continue;
    }
    const name = key + SCALE_SUFFIX;
    const sc = tensors.get(name) ?? stored.get(name);
    const want = `float32 [${s.shape[0]}] (one per output channel of ${quote(key)} [${s.shape.join(', ')}])`;
    if (!sc) throw new CheckpointError(`int8 checkpoint: ${quote(key)} is I8 but its scale ${quote(name)} is missing; expected ${want}`);
    if (!isFloatDType(sc.dtype) || sc.shape.length !== 1 || sc.shape[0] !== s.shape[0]) {
      throw new CheckpointError(`int8 checkpoint: scale ${quote(name)} is ${sc.dtype} [${sc.shape.join(', ')}]; expected ${want}`);
    }
    const scale = sc instanceof CheckpointTensor ? sc.data : Float32Array.from(sc.values as Uint16Array, halfBitsToFloat);
    const bad = scale.findIndex((v) => !(v >= 0 && Number.isFinite(v)));
    if (bad >= 0) throw new CheckpointError(`int8 checkpoint: scale ${quote(name)}[${bad}] is ${scale[bad]}; expected a finite value >= 0`);
    if (s.shape.length < 2) throw new CheckpointError(`int8 checkpoint: ${quote(key)} is I8 of rank ${s.shape.length}; expected a conv or linear weight (rank >= 2)`);
    out.set(key, new NarrowTensor({ dtype: 'int8', q: s.values, scale }, s.shape));
  }
  return out;
}
