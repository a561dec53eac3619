/**
 * A conv or linear weight of a lean checkpoint (`resnet convert --dtype int8|fp16`, see
 * quantize.ts) kept as the file stores it, so that a model loaded from one never holds a float32
 * copy of it: int8 values with a float32 scale per output channel (axis 0), or binary16 bits.
 * Backends widen what they use when they compile: the wasm backend copies the narrow bytes into
 * its memory and packs them there (int8 or fp16 panels, or float32 ones widened in wasm); the
 * reference and WebGPU backends, Winograd sets and `widen()` make float32 (`q * scale`, one
 * float32 rounding; binary16 exactly).
 */
import { Tensor, shapeToString, sizeOf } from '../tensor.js';
import { halfBitsToFloat } from './dtype.js';

export type NarrowData =
  /** int8 `q` [C order], float32 `scale` [shape[0]]: the value is q * scale[o]. */
  | { readonly dtype: 'int8'; readonly q: Int8Array; readonly scale: Float32Array }
  /** IEEE 754 binary16 bits [C order]. */
  | { readonly dtype: 'float16'; readonly bits: Uint16Array };

export class NarrowTensor {
  readonly shape: number[];

  constructor(readonly stored: NarrowData, shape: readonly number[]) {
    const n = sizeOf(shape);
    const length = stored.dtype === 'int8' ? stored.q.length : stored.bits.length;
    if (length !== n) throw new RangeError(`NarrowTensor: ${stored.dtype} data has ${length} elements but shape ${shapeToString(shape)} needs ${n}`);
    if (stored.dtype === 'int8' && (shape.length < 1 || stored.scale.length !== shape[0])) {
      throw new RangeError(`NarrowTensor: int8 scale has ${stored.scale.length} values; expected one per output channel of ${shapeToString(shape)}`);
    }
    this.shape = [...shape];
  }

  /** The stored dtype: 'int8' or 'float16'. */
  get dtype(): NarrowData['dtype'] {
    return this.stored.dtype;
  }

  /** Number of elements (as a Float32Array's `length`). */
  get length(): number {
    return sizeOf(this.shape);
  }

  /** Bytes the narrow data holds (values and scales). */
  get byteLength(): number {
    const s = this.stored;
    return s.dtype === 'int8' ? s.q.byteLength + s.scale.byteLength : s.bits.byteLength;
  }

  /** The float32 values, in a new array each call (int8: q * scale[o], rounded once; binary16: exactly). */
  widen(): Float32Array {
    const out = new Float32Array(this.length);
    writeFloat32(this.stored, out, 0);
    return out;
  }
}

/**
 * Writes the float32 values of narrow data, elements [from, to) (default: all), into `out` from
 * index `at` (the wasm backend widens straight into its memory this way, with no float32 copy in
 * the JS heap).
 */
export function writeFloat32(d: NarrowData, out: Float32Array, at: number, from = 0, to = d.dtype === 'int8' ? d.q.length : d.bits.length): void {
  if (d.dtype === 'float16') {
    for (let i = from; i < to; i++) out[at + i - from] = halfBitsToFloat(d.bits[i]);
    return;
  }
  const per = d.q.length / d.scale.length;
  for (let i = from; i < to; ) {
    const o = Math.floor(i / per);
    const s = d.scale[o];
    for (const end = Math.min(to, (o + 1) * per); i < end; i++) out[at + i - from] = d.q[i] * s;
  }
}

/** A bound weight: float32, or a lean checkpoint's conv / linear weight kept narrow. */
export type WeightTensor = Tensor | NarrowTensor;

/** The float32 tensor of a weight: itself, or a narrow one widened (a new array). */
export function floatTensor(t: WeightTensor): Tensor {
  return t instanceof NarrowTensor ? new Tensor(t.widen(), t.shape) : t;
}
