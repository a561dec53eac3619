/**
 * uint8 HWC RGB -> normalised float32 NCHW tensor, and batching. Browser-safe.
 *
 * Both libraries compute in float32, step by step; each step is reproduced with Math.fround
 * (a double result rounded to float32 equals the float32 operation for +, -, *, /).
 * - torchvision `ToTensor` then `Normalize`: `x = float32(v) / 255`, `(x - mean) / std`
 *   (see: torchvision/transforms/functional.py `to_tensor`, `normalize`).
 * - PaddleClas `NormalizeImage`: `x = float32(v) * float32(1/255)`, `(x - mean) / std`
 *   (see: ppcls/data/preprocess/ops/operators.py `NormalizeImage`).
 */
import { Tensor, shapeToString, type TensorLike } from '../tensor.js';
import type { RgbImage } from './image.js';

export type Triple = readonly [number, number, number];

export interface Normalization {
  /** `divide`: v / 255 (torchvision ToTensor); `multiply`: v * float32(1/255) (PaddleClas). */
  readonly toFloat: 'divide' | 'multiply';
  readonly mean: Triple;
  readonly std: Triple;
}

/** One lookup table per channel: all 256 byte values mapped through the float32 steps. */
function channelTables(n: Normalization): Float32Array[] {
  const reciprocal = Math.fround(1 / 255);
  return [0, 1, 2].map((c) => {
    const mean = Math.fround(n.mean[c]);
    const std = Math.fround(n.std[c]);
    if (!(std > 0)) throw new RangeError(`normalisation std must be positive, got ${n.std[c]} for channel ${c}`);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      const x = n.toFloat === 'divide' ? Math.fround(v / 255) : Math.fround(v * reciprocal);
      table[v] = Math.fround(x - mean) / std;
    }
    return table;
  });
}

/** Packed RGB (HWC) -> Tensor [1, 3, H, W] (CHW planes), normalised. */
export function rgbToTensor(image: RgbImage, normalization: Normalization): Tensor {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const tables = channelTables(normalization);
  for (let c = 0; c < 3; c++) {
    const table = tables[c];
    const base = c * plane; // layout: NCHW, n = 0
    for (let i = 0; i < plane; i++) out[base + i] = table[data[i * 3 + c]];
  }
  return new Tensor(out, [1, 3, height, width]);
}

/** Concatenates [1, C, H, W] (or [C, H, W]) tensors of one shape into [N, C, H, W]. */
export function stackBatch(images: readonly TensorLike[]): Tensor {
  if (images.length === 0) throw new RangeError('stackBatch needs at least one image tensor, got none');
  const chw = (t: TensorLike, i: number): readonly number[] => {
    if (t.shape.length === 4 && t.shape[0] === 1) return t.shape.slice(1);
    if (t.shape.length === 3) return t.shape;
    throw new RangeError(`stackBatch: image ${i} has shape ${shapeToString(t.shape)}; expected [1, C, H, W] or [C, H, W]`);
  };
  const first = chw(images[0], 0);
  const size = first[0] * first[1] * first[2];
  const out = new Float32Array(images.length * size);
  images.forEach((t, i) => {
    const s = chw(t, i);
    if (s[0] !== first[0] || s[1] !== first[1] || s[2] !== first[2]) {
      throw new RangeError(
        `stackBatch: image ${i} has shape ${shapeToString(t.shape)} but image 0 has ${shapeToString(images[0].shape)}; preprocess them with the same preset and size`,
      );
    }
    out.set(t.data, i * size);
  });
  return new Tensor(out, [images.length, first[0], first[1], first[2]]);
}
